;; Reference types: funcref and externref tables, ref.func with declarative
;; segments, element expressions, typed select, ref.is_null.
(module
  (type $v_i (func (result i32)))
  (table $ft 4 funcref)
  (table $et 3 externref)
  (elem declare func $h)
  (elem (table $ft) (i32.const 0) funcref (ref.func $h) (ref.null func))
  (func $h (result i32) (i32.const 7))
  (func (export "refs") (param $x externref) (result i32)
    (table.set $et (i32.const 1) (local.get $x))
    (table.set $ft (i32.const 2) (ref.func $h))
    (i32.add
      (ref.is_null (table.get $et (i32.const 0)))
      (i32.add
        (ref.is_null (select (result externref) (local.get $x) (ref.null extern) (i32.const 1)))
        (call_indirect $ft (type $v_i) (i32.const 2)))))
  (func (export "null_call") (result i32) (call_indirect $ft (type $v_i) (i32.const 1)))
  (func (export "get_func") (result funcref) (ref.func $h))
  (func (export "ext_grow") (param externref) (result i32)
    (table.grow $et (local.get 0) (i32.const 5))))
