;; One import of every kind, for the import listing and linking tests.
(module
  (import "env" "ext_func" (func (param i32 f64) (result i64)))
  (import "env" "ext_mem" (memory 1 3))
  (import "env" "ext_tab" (table 4 externref))
  (import "env" "ext_glob" (global (mut i32)))
  (import "other" "ext_void" (func))
  (func (export "read_glob") (result i32) global.get 0)
  (func (export "bump_glob") global.get 0 i32.const 1 i32.add global.set 0)
  (func (export "call_ext") (param i32) (result i64)
    local.get 0
    f64.const 0.5
    call 0)
  (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u))
