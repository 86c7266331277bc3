;; One function per trap code, plus "ok" to prove the store still works
;; after each trap. $inner/$middle/"nested" come first so their function
;; indices (0, 1, 2) are known to the backtrace test.
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 4 funcref)
  (elem (i32.const 0) $f0 $f1)

  (func $inner unreachable)
  (func $middle call $inner)
  (func (export "nested") call $middle)

  (func $f0 (result i32) i32.const 42)
  (func $f1 (param i32) (result i32) local.get 0)

  (func (export "ok") (result i32) i32.const 42)
  (func (export "unreachable") unreachable)
  (func (export "mem_oob_load") (result i32) i32.const 65536 i32.load)
  (func (export "mem_oob_load_straddle") (result i32) i32.const 65533 i32.load)
  (func (export "mem_oob_store") i32.const 65535 i32.const 1 i32.store16)
  (func (export "mem_oob_offset_wrap") (result i32) i32.const -1 i32.load offset=1)
  (func (export "mem_oob_fill") i32.const 65000 i32.const 0 i32.const 1000 memory.fill)
  (func (export "mem_oob_i64_load") (param i32) (result i64) local.get 0 i64.load offset=8)
  (func (export "table_oob_get") (param i32) local.get 0 table.get $t drop)
  (func (export "table_oob_set") (param i32) local.get 0 ref.null func table.set $t)
  (func (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "rem_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.rem_s)
  (func (export "div_u64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.div_u)
  (func (export "rem_u64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_u)
  (func (export "div_s64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.div_s)
  (func (export "trunc_f32_s") (param f32) (result i32) local.get 0 i32.trunc_f32_s)
  (func (export "trunc_f64_u64") (param f64) (result i64) local.get 0 i64.trunc_f64_u)
  (func (export "call_v_i") (param i32) (result i32) local.get 0 call_indirect $t (type $v_i))
  (func (export "write_then_trap") i32.const 16 i32.const 77 i32.store unreachable))
