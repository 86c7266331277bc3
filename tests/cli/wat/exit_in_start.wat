;; _start calls proc_exit(7) directly: weft exits with 7.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "_start")
    i32.const 7
    call $exit
    unreachable))
