;; memory.init of a data segment that does not exist (there is one, index 0).
(module (memory 1) (data "a") (func i32.const 0 i32.const 0 i32.const 0 memory.init 3))
