;; Imports from a namespace no profile of `weft run` provides: refused, named.
(module
  (import "env" "log" (func (param i32)))
  (import "env" "mem" (memory 1))
  (func (export "_start")))
