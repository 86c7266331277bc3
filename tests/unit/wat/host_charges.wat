;; host_charges.wat — calls nx and WASI functions once each with the
;; caller's arguments, for tests/unit/test_hostfuel.c: the fuel a call costs
;; with the real functions minus what it costs with stubs is exactly what
;; the host charged (docs/nx.md, "Fuel"). `db_set_loop` is a guest whose
;; instructions are cheap and whose host work is not.
(module
  (import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))
  (import "nx" "db_get" (func $db_get (param i32 i32 i32 i32) (result i32)))
  (import "nx" "db_scan" (func $db_scan (param i32 i32 i64 i32 i32 i32) (result i32)))
  (import "nx" "hash_blake3" (func $hash_blake3 (param i32 i32 i32 i32) (result i32)))
  (import "nx" "random_bytes" (func $random_bytes (param i32 i32) (result i32)))
  (import "nx" "time_now" (func $time_now (result i64)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 40)
  (func (export "db_set") (param i32 i32 i32 i32) (result i32)
    (call $db_set (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "db_get") (param i32 i32 i32 i32) (result i32)
    (call $db_get (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "db_scan") (param i32 i32 i64 i32 i32 i32) (result i32)
    (call $db_scan (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                   (local.get 5)))
  (func (export "hash_blake3") (param i32 i32 i32 i32) (result i32)
    (call $hash_blake3 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "random_bytes") (param i32 i32) (result i32)
    (call $random_bytes (local.get 0) (local.get 1)))
  (func (export "time_now") (result i32)
    (i32.wrap_i64 (call $time_now)))
  (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
    (call $fd_write (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "random_get") (param i32 i32) (result i32)
    (call $random_get (local.get 0) (local.get 1)))
  (func (export "clock_time_get") (param i32 i64 i32) (result i32)
    (call $clock_time_get (local.get 0) (local.get 1) (local.get 2)))
  ;; n calls of db_set(key at 0, 5 bytes; value at 65536, vlen bytes);
  ;; returns the number of calls that returned 0.
  (func (export "db_set_loop") (param $n i32) (param $vlen i32) (result i32)
    (local $ok i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.eqz (call $db_set (i32.const 0) (i32.const 5) (i32.const 65536)
                                   (local.get $vlen)))
          (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $ok))
  (data (i32.const 0) "key01"))
