;; A global of type i32 initialized with an i64.
(module (global i32 (i64.const 0)))
