;; The raw host-function ABI: parameters and results in place.
(module
  (import "h" "swap" (func $swap (param i32 i64) (result i64 i32)))
  (import "h" "foreign" (func $foreign (result funcref)))
  (func (export "call_swap") (param i32 i64) (result i64 i32)
    (call $swap (local.get 0) (local.get 1)))
  (func (export "call_foreign") (result i32)
    (ref.is_null (call $foreign))))
