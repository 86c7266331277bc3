;; cal_mix.wat — imports of two ABIs that share module env (Calimero's
;; storage_write, Faasm's __faasm_read_input): no single profile fits, so
;; a deploy must refuse it naming both imports.
(module
  (import "env" "storage_write" (func (param i64 i64 i64) (result i32)))
  (import "env" "__faasm_read_input" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "m")))
