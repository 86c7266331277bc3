;; stdio_echo.wat — a WASI reactor for test_node_memory.c: echo copies stdin
;; to stdout (one read, up to 4 KiB); ignore touches no stream; append sets
;; stdout's APPEND flag and seeks stdin to its end, so a node must reset
;; both for the next call; flags writes stdout's fdstat flags as a digit.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek"
    (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags"
    (func $fd_fdstat_set_flags (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get"
    (func $fd_fdstat_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: buffer 64, length 4096; counts at 16; seek result at 24
  (func (export "echo")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i32.store (i32.const 4) (i32.load (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func (export "ignore"))
  (func (export "append")
    (drop (call $fd_fdstat_set_flags (i32.const 1) (i32.const 1)))
    (drop (call $fd_seek (i32.const 0) (i64.const 0) (i32.const 2) (i32.const 24))))
  ;; fdstat at 32 (flags at 34), the digit at 64
  (func (export "flags")
    (drop (call $fd_fdstat_get (i32.const 1) (i32.const 32)))
    (i32.store8 (i32.const 64) (i32.add (i32.const 48) (i32.load16_u (i32.const 34))))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
