;; A data segment offset of type i64.
(module (memory 1) (data (i64.const 0) "x"))
