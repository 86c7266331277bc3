;; i64.store8 with 2-byte alignment (natural is 1).
(module (memory 1) (func i32.const 0 i64.const 0 i64.store8 align=2))
