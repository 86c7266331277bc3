;; Calls into host functions: many-in/many-out, a trapping host function,
;; one that edits guest memory, and one that calls back into "double".
(module
  (import "env" "multi" (func $multi (param i32 i64 f32 f64) (result i64 i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "upper" (func $upper (param i32 i32)))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello")
  (func (export "call_multi") (result i64 i32)
    i32.const 1
    i64.const 2
    f32.const 3.5
    f64.const 4.25
    call $multi)
  (func (export "call_fail") (result i32)
    i32.const 42
    call $fail
    i32.const 0)
  (func (export "call_upper") (result i32)
    i32.const 100
    i32.const 5
    call $upper
    i32.const 100
    i32.load8_u)
  (func (export "double") (param i32) (result i32)
    local.get 0
    i32.const 2
    i32.mul)
  (func (export "call_reenter") (param i32) (result i32)
    local.get 0
    call $reenter)
  (func (export "ok") (result i32) i32.const 1))
