;; Conversions between every pair of number types, trapping and saturating.
(module
  (func (export "trapping") (param $f f32) (param $d f64) (result i64)
    (i64.add
      (i64.add (i64.extend_i32_s (i32.trunc_f32_s (local.get $f)))
               (i64.extend_i32_u (i32.trunc_f32_u (local.get $f))))
      (i64.add
        (i64.add (i64.extend_i32_s (i32.trunc_f64_s (local.get $d)))
                 (i64.extend_i32_u (i32.trunc_f64_u (local.get $d))))
        (i64.add
          (i64.add (i64.trunc_f32_s (local.get $f)) (i64.trunc_f32_u (local.get $f)))
          (i64.add (i64.trunc_f64_s (local.get $d)) (i64.trunc_f64_u (local.get $d)))))))
  (func (export "saturating") (param $f f32) (param $d f64) (result i64)
    (i64.add
      (i64.add (i64.extend_i32_s (i32.trunc_sat_f32_s (local.get $f)))
               (i64.extend_i32_u (i32.trunc_sat_f32_u (local.get $f))))
      (i64.add
        (i64.add (i64.extend_i32_s (i32.trunc_sat_f64_s (local.get $d)))
                 (i64.extend_i32_u (i32.trunc_sat_f64_u (local.get $d))))
        (i64.add
          (i64.add (i64.trunc_sat_f32_s (local.get $f)) (i64.trunc_sat_f32_u (local.get $f)))
          (i64.add (i64.trunc_sat_f64_s (local.get $d)) (i64.trunc_sat_f64_u (local.get $d)))))))
  (func (export "to_float") (param $i i32) (param $l i64) (result f64)
    (f64.add
      (f64.add (f64.promote_f32 (f32.convert_i32_s (local.get $i)))
               (f64.promote_f32 (f32.convert_i32_u (local.get $i))))
      (f64.add
        (f64.add (f64.promote_f32 (f32.convert_i64_s (local.get $l)))
                 (f64.promote_f32 (f32.convert_i64_u (local.get $l))))
        (f64.add
          (f64.add (f64.convert_i32_s (local.get $i)) (f64.convert_i32_u (local.get $i)))
          (f64.add (f64.convert_i64_s (local.get $l)) (f64.convert_i64_u (local.get $l)))))))
  (func (export "reinterpret") (param $i i32) (param $l i64) (result i64)
    (i64.add
      (i64.extend_i32_u (i32.reinterpret_f32 (f32.reinterpret_i32 (local.get $i))))
      (i64.reinterpret_f64 (f64.reinterpret_i64 (local.get $l)))))
  (func (export "nan_trap") (result i32) (i32.trunc_f32_s (f32.const nan))))
