;; _start with a parameter is not a WASI command's entry point.
(module
  (func (export "_start") (param i32)))
