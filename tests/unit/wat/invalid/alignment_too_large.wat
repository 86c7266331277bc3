;; i32.load with 8-byte alignment (natural is 4).
(module (memory 1) (func i32.const 0 i32.load align=8 drop))
