;; An nx module for weft run's log and event output (--log-format,
;; --events): `run` logs "hello", a message that is not UTF-8
;; (ff fe 41), "node=<hex>" with the node id net_node_id gives (64
;; lowercase hex digits, or "node=off" when sync is off), through the
;; legacy host_log "legacy", and emits the event greeted with payload "hi".
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
  (data (i32.const 64) "node=off")
  ;; 256: "node=" and the node id's 64 hex digits, as net_node_id writes them
  (data (i32.const 256) "node=")
  (func (export "run")
    (drop (call $log (i32.const 0) (i32.const 5)))
    (drop (call $log (i32.const 8) (i32.const 3)))
    (if (i32.eq (call $node_id (i32.const 261) (i32.const 64)) (i32.const 64))
      (then
        (drop (call $log (i32.const 256) (i32.const 69))))
      (else
        (drop (call $log (i32.const 64) (i32.const 8)))))
    (call $log_legacy (i32.const 16) (i32.const 6))
    (drop (call $emit (i32.const 24) (i32.const 7) (i32.const 32) (i32.const 2)))))
