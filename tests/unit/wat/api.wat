;; Exports of every kind and functions over every number type, for the
;; embedding-API tests (test_api.c). The decode tests mutate this file too.
(module
  (type $v_i (func (result i32)))
  (func $add (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    local.get 0
    f64.convert_i32_s
    local.get 1
    f64.convert_i64_s
    f64.add
    local.get 2
    f64.promote_f32
    f64.add
    local.get 3
    f64.add)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  (func (export "nop"))
  (func $seven (export "seven") (result i32) i32.const 7)
  (memory (export "memory") 1 2)
  (table $t (export "table") 2 10 funcref)
  (global $gm (export "g_mut") (mut i64) (i64.const 7))
  (global (export "g_const") f32 (f32.const 1.5))
  (func (export "get_g") (result i64) global.get $gm)
  (func (export "set_g") (param i64) local.get 0 global.set $gm)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "mem_pages") (result i32) memory.size)
  (func (export "call_tab") (param i32) (result i32)
    local.get 0
    call_indirect $t (type $v_i)))
