;; Imports from both ABI profiles, all with the right types: it links.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "nx" "time_now" (func (result i64)))
  (memory (export "memory") 1)
  (func (export "answer") (result i32) i32.const 42))
