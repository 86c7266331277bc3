;; A WASI function imported with the wrong type: a link error naming it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))
  (func (export "_start")))
