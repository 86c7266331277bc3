;; A start function that fills memory before any export runs.
(module
  (memory (export "memory") 1)
  (global $ready (mut i32) (i32.const 0))
  (func $init
    (memory.fill (i32.const 0) (i32.const 0x5a) (i32.const 256))
    (global.set $ready (i32.const 1)))
  (start $init)
  (func (export "ready") (result i32) (global.get $ready)))
