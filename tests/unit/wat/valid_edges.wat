;; Valid corner cases a too-strict validator would reject: code after
;; unreachable/br is type-checked against a polymorphic stack, br_table,
;; typed select on references, and ref.func declared by an export.
(module
  (table 1 funcref)
  (func $poly (export "poly") (result i32)
    unreachable
    i32.add)
  (func (export "after_br") (result i32)
    (block (result i32)
      i32.const 1
      br 0
      i32.const 2
      i32.add))
  (func (export "table_br") (param i32) (result i32)
    (block (result i32)
      (block (result i32)
        local.get 0
        local.get 0
        br_table 0 1 0)
      i32.const 10
      i32.add))
  (func (export "select_ref") (param i32) (result funcref)
    ref.func $poly
    ref.null func
    local.get 0
    select (result funcref))
  (func (export "if_else") (param i32) (result i32)
    local.get 0
    if (result i32)
      i32.const 1
    else
      i32.const 2
    end)
  (func (export "loop_params") (result i32) (local i32)
    i32.const 5
    loop (param i32) (result i32)
      i32.const 1
      i32.sub
      local.tee 0
      local.get 0
      br_if 0
    end)
  (func (param i32) (result i32)
    local.get 0))
