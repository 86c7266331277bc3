;; A name WASI preview 1 does not have: a link error naming it.
(module
  (import "wasi_snapshot_preview1" "no_such_call" (func))
  (func (export "_start")))
