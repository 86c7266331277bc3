;; Many locals of every type, some untouched (they must read as zero).
(module
  (func (export "locals") (param i32) (result f64)
    (local i32 i32 i32 i32 i64 i64 i64 f32 f32 f32 f64 f64 f64 externref funcref)
    (local.set 1 (local.get 0))
    (local.set 5 (i64.extend_i32_u (local.get 1)))
    (local.set 8 (f32.convert_i64_s (local.get 5)))
    (local.set 11 (f64.promote_f32 (local.get 8)))
    (f64.add (local.get 11)
      (f64.add (local.get 12) (f64.convert_i32_s (ref.is_null (local.get 14)))))))
