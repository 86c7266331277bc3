;; f32 and f64 operators, including NaN-producing ones.
(module
  (func (export "f32_ops") (param $a f32) (param $b f32) (result f32)
    (f32.add
      (f32.add (f32.add (local.get $a) (local.get $b)) (f32.sub (local.get $a) (local.get $b)))
      (f32.add
        (f32.add (f32.mul (local.get $a) (local.get $b)) (f32.div (local.get $a) (local.get $b)))
        (f32.add
          (f32.add (f32.min (local.get $a) (local.get $b)) (f32.max (local.get $a) (local.get $b)))
          (f32.add
            (f32.add (f32.copysign (local.get $a) (local.get $b)) (f32.abs (local.get $a)))
            (f32.add
              (f32.add (f32.neg (local.get $a)) (f32.sqrt (local.get $a)))
              (f32.add
                (f32.add (f32.ceil (local.get $a)) (f32.floor (local.get $a)))
                (f32.add (f32.trunc (local.get $a)) (f32.nearest (local.get $a))))))))))
  (func (export "f64_ops") (param $a f64) (param $b f64) (result f64)
    (f64.add
      (f64.add (f64.add (local.get $a) (local.get $b)) (f64.sub (local.get $a) (local.get $b)))
      (f64.add
        (f64.add (f64.mul (local.get $a) (local.get $b)) (f64.div (local.get $a) (local.get $b)))
        (f64.add
          (f64.add (f64.min (local.get $a) (local.get $b)) (f64.max (local.get $a) (local.get $b)))
          (f64.add
            (f64.add (f64.copysign (local.get $a) (local.get $b)) (f64.abs (local.get $a)))
            (f64.add
              (f64.add (f64.neg (local.get $a)) (f64.sqrt (local.get $a)))
              (f64.add
                (f64.add (f64.ceil (local.get $a)) (f64.floor (local.get $a)))
                (f64.add (f64.trunc (local.get $a)) (f64.nearest (local.get $a))))))))))
  (func (export "compare") (param $a f64) (param $b f64) (result i32)
    (i32.add
      (i32.add (f64.eq (local.get $a) (local.get $b)) (f64.ne (local.get $a) (local.get $b)))
      (i32.add
        (i32.add (f64.lt (local.get $a) (local.get $b)) (f64.gt (local.get $a) (local.get $b)))
        (i32.add (f32.le (f32.demote_f64 (local.get $a)) (f32.const nan))
                 (f32.ge (f32.const -inf) (f32.demote_f64 (local.get $b))))))))
