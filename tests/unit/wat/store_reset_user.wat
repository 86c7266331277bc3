;; weft_store_reset (tests/unit/test_store_reset.c): the second instance of
;; the store, made after store_reset_owner.wat's. Its data and element
;; segments and its start function write into the owner's memory, table and
;; global, so a reset must clear the owner before it runs them again (in
;; the order the instances were made). `scribble` changes every piece of
;; state both instances hold; the other exports read one piece each.
(module
  (import "owner" "mem" (memory 2))
  (import "owner" "tab" (table 2 funcref))
  (import "owner" "g" (global $g (mut i32)))
  (import "owner" "own" (func $own (result i64)))
  (import "owner" "bump_own" (func $bump_own))
  (type $ret_i32 (func (result i32)))
  (global $mine (mut i32) (i32.const 3))
  (data (i32.const 32) "user")
  (elem (i32.const 1) $twenty)
  (func $twenty (result i32) (i32.const 20))
  ;; once per instantiation: 7 -> 8 (twice without a clear between: 9)
  (func $start (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (start $start)
  (func (export "load") (param $at i32) (result i32) (i32.load (local.get $at)))
  (func (export "size") (result i32) (memory.size))
  (func (export "g") (result i32) (global.get $g))
  (func (export "mine") (result i32) (global.get $mine))
  (func (export "own") (result i32) (i32.wrap_i64 (call $own)))
  (func (export "tsize") (result i32) (table.size 0))
  (func (export "tcall") (param $i i32) (result i32)
    (call_indirect (type $ret_i32) (local.get $i)))
  (func (export "tnull") (param $i i32) (result i32) (ref.is_null (table.get 0 (local.get $i))))
  (func (export "scribble")
    (i32.store (i32.const 0) (i32.const -1))       ;; over "owne"
    (i32.store (i32.const 32) (i32.const -2))      ;; over "user"
    (i32.store (i32.const 100) (i32.const 5))
    (i32.store (i32.const 131068) (i32.const 6))   ;; the last word of page 1
    (drop (memory.grow (i32.const 2)))
    (i32.store (i32.const 131072) (i32.const 7))   ;; in the grown pages
    (drop (table.grow 0 (ref.func $twenty) (i32.const 3)))
    (table.set 0 (i32.const 0) (ref.func $twenty))
    (table.set 0 (i32.const 1) (ref.null func))
    (global.set $g (i32.const 99))
    (global.set $mine (i32.const 42))
    (call $bump_own))
  ;; grows the memory and the table as scribble did, without writing:
  ;; the grown memory's word and table slot as the grow made them
  (func (export "regrow_word") (result i32)
    (drop (memory.grow (i32.const 2)))
    (i32.load (i32.const 131072)))
  (func (export "regrow_null") (result i32)
    (drop (table.grow 0 (ref.null func) (i32.const 3)))
    (ref.is_null (table.get 0 (i32.const 2))))
  (func (export "trap") (unreachable)))
