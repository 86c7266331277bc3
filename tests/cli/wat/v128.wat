;; v128 parameters and results for `weft run --invoke` (cli_test.sh).
(module
  (func (export "add") (param v128 v128) (result v128)
    (i32x4.add (local.get 0) (local.get 1)))
  (func (export "lane3") (param v128) (result i32)
    (i32x4.extract_lane 3 (local.get 0)))
  (func (export "byte15") (param v128) (result i32)
    (i8x16.extract_lane_u 15 (local.get 0)))
  (func (export "fsum") (param v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get 0)) (f32x4.extract_lane 1 (local.get 0)))
      (f32.add (f32x4.extract_lane 2 (local.get 0)) (f32x4.extract_lane 3 (local.get 0)))))
  (func (export "hi64") (param i32 v128) (result i64 v128)
    (i64x2.extract_lane 1 (local.get 1))
    (i32x4.splat (local.get 0))))
