;; local.set of an i64 into an i32 local.
(module (func (local i32) i64.const 1 local.set 0))
