;; local.get of a local that does not exist.
(module (func (param i32) local.get 3 drop))
