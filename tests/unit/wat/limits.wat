;; Memory and table growth against the store's caps, and recursion: endless
;; ("rec"), bounded ("down n" recurses n deep) and bounded with fat frames
;; ("fat n": 32 i64 locals per frame) for the value-stack limit.
(module
  (memory (export "memory") 1 100)
  (table $t 1 1000 funcref)
  (func (export "grow") (param i32) (result i32)
    local.get 0
    memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "table_grow") (param i32) (result i32)
    ref.null func
    local.get 0
    table.grow $t)
  (func (export "table_size") (result i32) table.size $t)
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $rec)
  (func $down (export "down") (param i32) (result i32)
    local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      i32.const 1
      i32.sub
      call $down
      i32.const 1
      i32.add
    end)
  (func $fat (export "fat") (param i32) (result i32) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      i32.const 1
      i32.sub
      call $fat
      i32.const 1
      i32.add
    end))
