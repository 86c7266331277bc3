;; An nx module that writes, then ends in a chosen way, for the message on
;; a call whose writes are rolled back: `end MODE` writes k=v, then returns
;; (mode 0, committed), exits with status 1 (mode 1), traps (mode 2) or
;; exits with status 0 (mode 3, committed). `quit STATUS` exits without
;; writing (no message); `get` returns 1 when k is stored.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "nx" "db_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (import "nx" "db_exists" (func $exists (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "kv")
  (func (export "end") (param $mode i32)
    (drop (call $set (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1)))
    (if (i32.eq (local.get $mode) (i32.const 1)) (then (call $exit (i32.const 1))))
    (if (i32.eq (local.get $mode) (i32.const 2)) (then unreachable))
    (if (i32.eq (local.get $mode) (i32.const 3)) (then (call $exit (i32.const 0)))))
  (func (export "quit") (param $status i32)
    (call $exit (local.get $status)))
  (func (export "get") (result i32)
    (call $exists (i32.const 0) (i32.const 1))))
