;; An if with a result but no else branch.
(module (func (param i32) (result i32) local.get 0 if (result i32) i32.const 1 end))
