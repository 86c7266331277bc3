;; Indirect calls through a table holding functions of different types.
(module
  (type $a (func (param i32) (result i32)))
  (type $b (func (result i64)))
  (table 6 funcref)
  (elem (i32.const 0) $inc $k $inc)
  (func $inc (type $a) (i32.add (local.get 0) (i32.const 1)))
  (func $k (type $b) (i64.const 5))
  (func (export "dispatch") (param $i i32) (result i32)
    (call_indirect (type $a) (i32.const 41) (local.get $i)))
  (func (export "first") (result i32) (call_indirect (type $a) (i32.const 1) (i32.const 0)))
  (func (export "mismatch") (result i32) (call_indirect (type $a) (i32.const 1) (i32.const 1)))
  (func (export "hole") (result i32) (call_indirect (type $a) (i32.const 1) (i32.const 4)))
  (func (export "past") (result i32) (call_indirect (type $a) (i32.const 1) (i32.const 6))))
