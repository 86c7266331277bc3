;; A global initializer that is not a constant expression: i32.and is not
;; among extended constant expressions' add, sub and mul.
(module (global i32 (i32.const 1) (i32.const 2) (i32.and)))
