;; WebAssembly 2.0 features beyond the MVP, one small function each:
;; multi-value, bulk memory, bulk tables, reference types, sign extension
;; and saturating float-to-int.
(module
  (type $v_i (func (result i32)))
  (memory (export "memory") 1)
  (table $ft (export "ftable") 4 funcref)
  (table $et (export "etable") 2 externref)
  (data $d "abcdef")
  (elem $e func $one $two)

  (func $one (result i32) i32.const 1)
  (func $two (result i32) i32.const 2)

  ;; multi-value
  (func (export "swap") (param i32 i32) (result i32 i32)
    local.get 1
    local.get 0)
  (func (export "triple") (result i32 i64 f64)
    i32.const 1
    i64.const 2
    f64.const 3)
  (func $divmod (param i32 i32) (result i32 i32)
    local.get 0
    local.get 1
    i32.div_u
    local.get 0
    local.get 1
    i32.rem_u)
  (func (export "divmod_sum") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    call $divmod
    i32.add)
  (func (export "block_params") (param i32) (result i32)
    local.get 0
    i32.const 10
    block (param i32 i32) (result i32)
      i32.add
    end)

  ;; bulk memory
  (func (export "mem_init") (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    memory.init $d)
  (func (export "data_drop") data.drop $d)
  (func (export "mem_copy") (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    memory.copy)
  (func (export "mem_fill") (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    memory.fill)

  ;; bulk tables
  (func (export "table_init") (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    table.init $ft $e)
  (func (export "elem_drop") elem.drop $e)
  (func (export "table_copy") (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    table.copy $ft $ft)
  (func (export "call_ft") (param i32) (result i32)
    local.get 0
    call_indirect $ft (type $v_i))

  ;; reference types
  (func (export "ext_id") (param externref) (result externref) local.get 0)
  (func (export "ext_is_null") (param externref) (result i32)
    local.get 0
    ref.is_null)
  (func (export "ext_set") (param i32 externref)
    local.get 0
    local.get 1
    table.set $et)
  (func (export "ext_get") (param i32) (result externref)
    local.get 0
    table.get $et)
  (func (export "ext_grow") (param externref i32) (result i32)
    local.get 0
    local.get 1
    table.grow $et)
  (func (export "ext_size") (result i32) table.size $et)
  (func (export "ext_fill") (param i32 externref i32)
    local.get 0
    local.get 1
    local.get 2
    table.fill $et)
  (func (export "get_two") (result funcref) ref.func $two)
  (func (export "func_is_null") (param funcref) (result i32)
    local.get 0
    ref.is_null)

  ;; sign extension and saturating truncation
  (func (export "extend8") (param i32) (result i32) local.get 0 i32.extend8_s)
  (func (export "extend16_64") (param i64) (result i64) local.get 0 i64.extend16_s)
  (func (export "extend32_64") (param i64) (result i64) local.get 0 i64.extend32_s)
  (func (export "sat_f32_s") (param f32) (result i32) local.get 0 i32.trunc_sat_f32_s)
  (func (export "sat_f64_u64") (param f64) (result i64) local.get 0 i64.trunc_sat_f64_u))
