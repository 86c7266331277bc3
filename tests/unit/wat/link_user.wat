;; Imports from an instance of api.wat registered as "api".
(module
  (import "api" "add" (func $add (param i32 i32) (result i32)))
  (import "api" "memory" (memory 1))
  (import "api" "g_mut" (global $g (mut i64)))
  (func (export "add_and_store") (param i32 i32) (result i32)
    i32.const 0
    local.get 0
    local.get 1
    call $add
    i32.store
    i32.const 0
    i32.load)
  (func (export "bump")
    global.get $g
    i64.const 1
    i64.add
    global.set $g))
