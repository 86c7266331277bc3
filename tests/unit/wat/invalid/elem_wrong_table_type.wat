;; An element segment of funcrefs into an externref table.
(module (table 1 externref) (func $f) (elem (i32.const 0) func $f))
