;; An nx module for weft run's log and event output (--log-format,
;; --events): `run` logs "hello", a message that is not UTF-8
;; (ff fe 41), "node=<hex>" with the node id net_node_id gives (or
;; "node=off" when sync is off), through the legacy host_log "legacy", and
;; emits the event greeted with payload "hi".
(module
  (import "nx" "host_log_v2" (func $log (param i32 i32) (result i32)))
  (import "nx" "host_log" (func $log_legacy (param i32 i32)))
  (import "nx" "net_node_id" (func $node_id (param i32 i32) (result i32)))
  (import "nx" "event_emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (data (i32.const 8) "\ff\feA")
  (data (i32.const 16) "legacy")
  (data (i32.const 24) "greeted")
  (data (i32.const 32) "hi")
  (data (i32.const 40) "0123456789abcdef")
  (data (i32.const 64) "node=off")
  ;; 128..192: the raw node id; 256: "node=" and its 64 hex digits
  (data (i32.const 256) "node=")
  (func (export "run")
    (local $i i32)
    (local $b i32)
    (drop (call $log (i32.const 0) (i32.const 5)))
    (drop (call $log (i32.const 8) (i32.const 3)))
    (if (i32.eq (call $node_id (i32.const 128) (i32.const 64)) (i32.const 32))
      (then
        (loop $hex
          (local.set $b (i32.load8_u (i32.add (i32.const 128) (local.get $i))))
          (i32.store8 (i32.add (i32.const 261) (i32.shl (local.get $i) (i32.const 1)))
            (i32.load8_u (i32.add (i32.const 40) (i32.shr_u (local.get $b) (i32.const 4)))))
          (i32.store8 (i32.add (i32.const 262) (i32.shl (local.get $i) (i32.const 1)))
            (i32.load8_u (i32.add (i32.const 40) (i32.and (local.get $b) (i32.const 15)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $hex (i32.lt_u (local.get $i) (i32.const 32))))
        (drop (call $log (i32.const 256) (i32.const 69))))
      (else
        (drop (call $log (i32.const 64) (i32.const 8)))))
    (call $log_legacy (i32.const 16) (i32.const 6))
    (drop (call $emit (i32.const 24) (i32.const 7) (i32.const 32) (i32.const 2)))))
