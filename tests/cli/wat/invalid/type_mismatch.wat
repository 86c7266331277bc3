;; Fails validation: returns an f64 where an i32 is declared.
(module
  (func (export "_start") (result i32) f64.const 1))
