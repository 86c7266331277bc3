;; stdio_echo.wat — a WASI reactor for test_node_memory.c: echo copies stdin
;; to stdout (one read, up to 4 KiB); ignore touches no stream; append sets
;; stdout's APPEND flag and seeks stdin to its end, so a node must reset
;; both for the next call; flags writes stdout's fdstat flags as a digit.
;; probe works the streams as files (stdin "hello", stdout bounded to 64
;; bytes) and writes what each step returned (errno, then a count, offset
;; or size; the bytes read) after what it left in stdout: see
;; test_node_memory.c, the_standard_streams_are_files.
(module
  (import "wasi_snapshot_preview1" "fd_pread"
    (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite"
    (func $fd_pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_tell"
    (func $fd_tell (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get"
    (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size"
    (func $fd_filestat_set_size (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_allocate"
    (func $fd_allocate (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
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
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  ;; probe's layout: iovec at 0, count at 8, offset at 16, filestat at 32
  ;; (filetype at 48, size at 64), "x" at 100, a subscription at 128, its
  ;; event at 192, nevents at 232, the report at 256, reads at 512 and 520,
  ;; "abcdefZQ" at 600
  (global $r (mut i32) (i32.const 0))
  (data (i32.const 100) "x")
  (data (i32.const 600) "abcdefZQ")
  (func $rec (param i32)
    (i32.store8 (i32.add (i32.const 256) (global.get $r)) (local.get 0))
    (global.set $r (i32.add (global.get $r) (i32.const 1))))
  (func $iov (param i32 i32)
    (i32.store (i32.const 0) (local.get 0))
    (i32.store (i32.const 4) (local.get 1)))
  (func (export "probe")
    ;; stdin: its size, a pread of 3 at 1, a seek to 2, a read (3 left), tell
    (call $rec (call $fd_filestat_get (i32.const 0) (i32.const 32)))
    (call $rec (i32.load8_u (i32.const 64)))
    (call $iov (i32.const 512) (i32.const 3))
    (call $rec (call $fd_pread (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 1) (i32.const 8)))
    (call $rec (i32.load (i32.const 8)))
    (call $rec (call $fd_seek (i32.const 0) (i64.const 2) (i32.const 0) (i32.const 16)))
    (call $rec (i32.load (i32.const 16)))
    (call $iov (i32.const 520) (i32.const 10))
    (call $rec (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $rec (i32.load (i32.const 8)))
    (call $rec (call $fd_tell (i32.const 0) (i32.const 16)))
    (call $rec (i32.load (i32.const 16)))
    ;; writing stdin: BADF (read-only)
    (call $iov (i32.const 100) (i32.const 1))
    (call $rec (call $fd_write (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; poll for reading stdin at offset 1: one event, 4 bytes to read
    (drop (call $fd_seek (i32.const 0) (i64.const 1) (i32.const 0) (i32.const 16)))
    (i64.store (i32.const 128) (i64.const 7))
    (i32.store8 (i32.const 136) (i32.const 1))
    (i32.store (i32.const 144) (i32.const 0))
    (call $rec (call $poll_oneoff (i32.const 128) (i32.const 192) (i32.const 1) (i32.const 232)))
    (call $rec (i32.load (i32.const 232)))
    (call $rec (i32.load16_u (i32.const 200)))
    (call $rec (i32.load8_u (i32.const 208)))
    ;; stdout: "abcdef", Z over b, Q at 8 (a zero gap), its stat, cut to 7
    (call $iov (i32.const 600) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $fd_seek (i32.const 1) (i64.const 1) (i32.const 0) (i32.const 16)))
    (call $iov (i32.const 606) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $iov (i32.const 607) (i32.const 1))
    (call $rec (call $fd_pwrite (i32.const 1) (i32.const 0) (i32.const 1) (i64.const 8) (i32.const 8)))
    (call $rec (call $fd_filestat_get (i32.const 1) (i32.const 32)))
    (call $rec (i32.load8_u (i32.const 64)))
    (call $rec (i32.load8_u (i32.const 48)))
    (call $rec (call $fd_filestat_set_size (i32.const 1) (i64.const 7)))
    ;; past the 64-byte bound by a seek, and by fd_allocate: FBIG
    (drop (call $fd_seek (i32.const 1) (i64.const 100) (i32.const 0) (i32.const 16)))
    (call $iov (i32.const 100) (i32.const 1))
    (call $rec (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $rec (call $fd_allocate (i32.const 1) (i64.const 0) (i64.const 1000)))
    ;; the bytes read, then the report at stdout's end
    (call $rec (i32.load8_u (i32.const 512)))
    (call $rec (i32.load8_u (i32.const 513)))
    (call $rec (i32.load8_u (i32.const 514)))
    (call $rec (i32.load8_u (i32.const 520)))
    (call $rec (i32.load8_u (i32.const 521)))
    (call $rec (i32.load8_u (i32.const 522)))
    (drop (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 2) (i32.const 16)))
    (call $iov (i32.const 256) (global.get $r))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
