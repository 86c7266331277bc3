;; Every kind of bad import at once, between two good ones: `weft run`
;; names them all (not just the first), `weft inspect` says it cannot link.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (import "env" "log" (func (param i32)))
  (import "nx" "db_frob" (func (param i32 i32) (result i32)))
  (import "nx" "db_twiddle" (func))
  (import "nx" "db_get" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "memory" (memory 1))
  (import "nx" "time_now" (func (result i64)))
  (func (export "_start")))
