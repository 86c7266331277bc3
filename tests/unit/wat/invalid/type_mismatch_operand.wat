;; i32.add applied to an i64 operand.
(module (func (result i32) i32.const 1 i64.const 2 i32.add))
