;; A body returning f64 where i32 is declared.
(module (func (result i32) f64.const 1))
