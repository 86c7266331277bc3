;; A global initializer that is not a constant expression.
(module (global i32 (i32.const 1) (i32.const 2) (i32.add)))
