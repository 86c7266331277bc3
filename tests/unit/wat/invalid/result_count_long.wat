;; A function with no results leaves a value on the stack.
(module (func i32.const 1))
