;; Imports bt_lib's "deep" (so its own functions start at index 1) and has a
;; memory of its own (word 0 is 100): a(x) = deep(x) + 100 + 1, reading each
;; instance's memory after a call into the other returns.
(module
  (import "lib" "deep" (func $deep (param i32) (result i32)))   ;; 0
  (memory 1)
  (data (i32.const 0) "\64\00\00\00")
  (func $b (param i32) (result i32)   ;; 1
    local.get 0
    call $deep
    i32.const 0
    i32.load
    i32.add)
  (func $a (export "a") (param i32) (result i32)   ;; 2
    local.get 0
    call $b
    i32.const 1
    i32.add))
