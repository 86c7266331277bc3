;; Multi-memory through the API (test_wasm3.c): memory 0 is private, memory
;; 1 is exported as "memory", the one host functions (and WASI) use.
(module
  (import "env" "poke" (func $poke (param i32 i32)))
  (memory $private 1)
  (memory $public (export "memory") 2)
  (memory $third 0 1)
  (data (memory $private) (i32.const 0) "private")
  (data (memory $public) (i32.const 0) "public")
  (func (export "poke_and_read") (param i32 i32) (result i32)
    (call $poke (local.get 0) (local.get 1))
    (i32.load8_u $public (local.get 0)))
  (func (export "private_at") (param i32) (result i32) (i32.load8_u $private (local.get 0)))
  (func (export "third_size") (result i32) (memory.size $third)))
