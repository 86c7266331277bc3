;; A start function that returns a value.
(module (func $f (result i32) i32.const 0) (start $f))
