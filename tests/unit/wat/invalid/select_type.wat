;; select of an i32 and an f64.
(module (func (result i32) i32.const 1 f64.const 2 i32.const 0 select))
