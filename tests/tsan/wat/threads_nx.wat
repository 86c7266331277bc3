;; threads_nx.wat — an nx guest for test_threads.c: one call writes a key,
;; reads the capability list, hashes, and returns time_monotonic, or -1
;; when a host function failed.
(module
  (import "nx" "time_monotonic" (func $mono (result i64)))
  (import "nx" "host_capabilities" (func $caps (param i32 i32) (result i32)))
  (import "nx" "db_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (import "nx" "hash_blake3" (func $hash (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "key")
  (data (i32.const 16) "a value")
  (func (export "run") (result i64)
    (if (i32.le_s (call $caps (i32.const 1024) (i32.const 2048)) (i32.const 0))
      (then (return (i64.const -1))))
    (if (call $set (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 7))
      (then (return (i64.const -1))))
    (if (i32.ne (call $hash (i32.const 1024) (i32.const 512) (i32.const 4096) (i32.const 32))
                (i32.const 32))
      (then (return (i64.const -1))))
    (call $mono)))
