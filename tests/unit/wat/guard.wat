;; Memory accesses at the edges, for the compiled tier's guard regions
;; (docs/jit.md): every export is run in both tiers and must agree.
;; $inner comes first so the backtrace test knows its index (1; the
;; import is 0).
(module
  (import "env" "peek" (func $peek (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $inner (param i32) (result i32) local.get 0 i32.load)
  (func (export "nested") (param i32) (result i32) local.get 0 call $inner)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "load32") (param i32) (result i32) local.get 0 i32.load)
  (func (export "load64") (param i32) (result i32) local.get 0 i64.load i32.wrap_i64)
  (func (export "load32_off_max") (param i32) (result i32) local.get 0 i32.load offset=4294967295)
  (func (export "load64_off_max") (param i32) (result i32)
    local.get 0 i64.load offset=4294967295 i32.wrap_i64)
  (func (export "load32_off_page") (param i32) (result i32) local.get 0 i32.load offset=65532)
  (func (export "load16_s_folded") (param i32) (result i32)
    local.get 0 i32.const 65534 i32.add i32.load16_s)
  (func (export "store32") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "store64_off") (param i32) local.get 0 i64.const -1 i64.store offset=65528)
  (func (export "store8_off_max") (param i32) local.get 0 i32.const 7 i32.store8 offset=4294967295)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  ;; a host call from compiled code that reads guest memory from C
  (func (export "peek") (param i32) (result i32) local.get 0 call $peek))
