;; weft_store_reset (tests/unit/test_store_reset.c): the first of two
;; instances in one store. It defines the memory, table and mutable global
;; that store_reset_user.wat imports and writes into, plus a global of its
;; own that only its exports reach.
(module
  (memory (export "mem") 2)
  (table (export "tab") 2 funcref)
  (global (export "g") (mut i32) (i32.const 7))
  (global $own (mut i64) (i64.const 100))
  (data (i32.const 0) "owner")
  (elem (i32.const 0) $ten)
  (func $ten (result i32) (i32.const 10))
  (func (export "own") (result i64) (global.get $own))
  (func (export "bump_own") (global.set $own (i64.add (global.get $own) (i64.const 1)))))
