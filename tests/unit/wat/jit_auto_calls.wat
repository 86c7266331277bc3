;; Tier auto's calls between functions compiled one at a time (docs/jit.md
;; "Steps 3 and 4 as built"), against the interpreter (test_jit.c,
;; jit_auto_calls_*). Each function is compiled alone when it gets hot; a
;; call of another defined function goes straight to its internal entry
;; when that one was compiled first, and reads the entry at each call when
;; it was not (through jh_call until it is).
;;   leaf n      n + 5, with a local read before it is written (a direct
;;               call zeroes it) that it then scribbles on
;;   chain n     $mid n deep (recursive), every level calling $leaf: $mid
;;               is compiled after $leaf, so it calls it directly
;;   early n     n calls of $late in a loop; early(0) a thousand times makes
;;               $early hot while $late has never run: its calls then go
;;               through jh_call, and straight to $late once that is hot
;;   probe a     i32.load at address a; deep n a: $mid2 n deep, then probe
;;               a (out of bounds: the backtrace names every function)
(module
  (memory 1)
  (func $leaf (export "leaf") (param i32) (result i32) (local i32 i64)
    local.get 1
    local.get 0
    i32.add
    i64.const 5
    local.set 2
    local.get 2
    i32.wrap_i64
    i32.add
    i32.const 77
    local.set 1)
  (func $mid (param i32) (result i32)
    local.get 0
    call $leaf
    local.get 0
    if (result i32)
      local.get 0
      i32.const 1
      i32.sub
      call $mid
    else
      i32.const 0
    end
    i32.add)
  (func (export "chain") (param i32) (result i32)
    local.get 0
    call $mid)
  (func $late (param i32) (result i32) (local i32)
    local.get 1
    local.get 0
    i32.const 3
    i32.mul
    i32.add
    i32.const 1000
    local.set 1)
  (func (export "early") (param i32) (result i32) (local i32 i32)
    block
      loop
        local.get 1
        local.get 0
        i32.ge_u
        br_if 1
        local.get 2
        local.get 1
        call $late
        i32.add
        local.set 2
        local.get 1
        i32.const 1
        i32.add
        local.set 1
        br 0
      end
    end
    local.get 2)
  (func $probe (export "probe") (param i32) (result i32)
    local.get 0
    i32.load)
  (func $mid2 (param i32 i32) (result i32)
    local.get 0
    if (result i32)
      local.get 0
      i32.const 1
      i32.sub
      local.get 1
      call $mid2
    else
      local.get 1
      call $probe
    end
    i32.const 1
    i32.add)
  (func (export "deep") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    call $mid2))
