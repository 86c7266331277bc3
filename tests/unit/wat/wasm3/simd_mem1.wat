;; SIMD loads and stores with a memory index (multi-memory): memory 1 is
;; one page, memory 0 two (tests/unit/test_simd.c).
(module
  (memory $m0 2)
  (memory $m1 1)
  ;; stores v at addr in memory 1, then loads it back from memory 1 and
  ;; the same address of memory 0 (zero), lane 3 of it through load32_lane
  (func (export "roundtrip") (param $addr i32) (param $v v128) (result v128 v128 v128)
    (v128.store $m1 (local.get $addr) (local.get $v))
    (v128.load $m1 (local.get $addr))
    (v128.load $m0 (local.get $addr))
    (v128.load32_lane $m1 offset=12 3 (local.get $addr) (v128.const i32x4 0 0 0 0)))
  (func (export "store_lane") (param $addr i32) (param $v v128) (result i32)
    (v128.store16_lane $m1 1 (local.get $addr) (local.get $v))
    (i32.load16_u $m1 (local.get $addr)))
  (func (export "splat_m1") (param $addr i32) (result v128)
    (v128.load32_splat $m1 (local.get $addr)))
)
