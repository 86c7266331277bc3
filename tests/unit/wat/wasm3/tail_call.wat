;; Tail calls seen from the API (test_wasm3.c): host functions as tail-call
;; targets, and fuel charged for a tail call as for a call.
(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "env" "boom" (func $boom (param i32) (result i32)))

  (func (export "to_host") (param i32) (result i32)
    (return_call $twice (i32.add (local.get 0) (i32.const 1))))
  (func (export "to_host_trap") (param i32) (result i32)
    (return_call $boom (local.get 0)))
  ;; a wasm frame in between: the host's results reach the outer caller
  (func (export "via") (param i32) (result i32)
    (i32.add (call $to_host_deep (local.get 0)) (i32.const 1000)))
  (func $to_host_deep (param i32) (result i32)
    (local i64 i64)
    (return_call $twice (local.get 0)))

  ;; the same countdown with a tail call and with a call
  (func $count_tail (export "count_tail") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 7))
      (else (return_call $count_tail (i32.sub (local.get 0) (i32.const 1))))))
  (func $count_call (export "count_call") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 7))
      (else (call $count_call (i32.sub (local.get 0) (i32.const 1))))))

  ;; endless tail recursion: only fuel or an interrupt stops it
  (func $spin (export "spin") (param i32) (result i32)
    (return_call $spin (i32.add (local.get 0) (i32.const 1))))
)
