;; Imports of two guest ABIs that share the `env` namespace: Calimero's
;; storage_write and Faasm's __faasm_read_input. Every import exists, but no
;; one ABI provides both: refused, each named with its ABI.
(module
  (import "env" "storage_write" (func (param i64 i64 i64) (result i32)))
  (import "env" "__faasm_read_input" (func (param i32 i32) (result i32)))
  (func (export "_start")))
