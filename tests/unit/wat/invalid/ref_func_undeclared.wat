;; ref.func of a function no element segment or export declares.
(module (func $f) (func (result funcref) ref.func $f))
