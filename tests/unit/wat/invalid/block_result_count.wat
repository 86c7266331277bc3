;; A block typed (result i32) that ends empty.
(module (func (result i32) block (result i32) end))
