;; A load in a module without memory.
(module (func (result i32) i32.const 0 i32.load))
