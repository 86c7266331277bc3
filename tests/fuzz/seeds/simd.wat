;; 128-bit SIMD, not accepted by weft yet: must be rejected cleanly.
(module
  (func (export "splat") (param i32) (result i32)
    (i32x4.extract_lane 2 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 1 2 3 4)))))
