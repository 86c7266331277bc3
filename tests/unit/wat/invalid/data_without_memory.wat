;; An active data segment in a module with no memory.
(module (data (i32.const 0) "x"))
