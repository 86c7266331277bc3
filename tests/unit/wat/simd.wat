;; v128 values crossing what the spec's SIMD tests leave alone: host
;; calls, the API, globals, declared locals, calls, blocks, br_if,
;; br_table, select and multiple results (tests/unit/test_simd.c).
(module
  (import "host" "twist" (func $twist (param v128 i32) (result v128)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))

  ;; calls the host with a v128, adds lane-wise
  (func (export "via_host") (param v128) (result v128)
    (i32x4.add (call $twist (local.get 0) (i32.const 10)) (v128.const i32x4 100 200 300 400)))

  ;; a declared v128 local reads zero on every call, whatever an earlier
  ;; call left in its vector slot
  (func (export "fresh_local") (param v128) (result v128)
    (local $l v128) (local $m v128)
    (local.set $m (local.get $l))
    (local.set $l (local.get 0))
    (local.get $m))

  (func $swap (param v128 v128) (result v128 v128) (local.get 1) (local.get 0))
  (func $pick (param v128 v128 i32) (result v128)
    (block (result v128)
      (local.get 0)
      (br_if 0 (local.get 2))
      (drop)
      (local.get 1)))
  (func $table (param v128 v128 i32) (result v128)
    (block $a (result v128)
      (block $b (result v128)
        (local.get 0)
        (local.get 2)
        (br_table $a $b $a))
      (drop)
      (local.get 1)))
  ;; pick(swap(a, b), k): b when k != 0, else a; then table and select
  (func (export "flow") (param $a v128) (param $b v128) (param $k i32) (result v128)
    (local $t v128)
    (local.set $t (call $pick (call $swap (local.get $a) (local.get $b)) (local.get $k)))
    (i8x16.add
      (local.get $t)
      (select (result v128)
        (call $table (local.get $a) (local.get $b) (local.get $k))
        (v128.const i64x2 0 0)
        (local.get $k))))
  ;; untyped select takes v128 too (it is a numeric type for select)
  (func (export "select_plain") (param v128 v128 i32) (result v128)
    (select (local.get 0) (local.get 1) (local.get 2)))

  (func (export "get_g") (result v128) (global.get $g))
  (func (export "bump_g") (global.set $g (i32x4.add (global.get $g) (v128.const i32x4 1 1 1 1))))

  ;; the same count of counted instructions, scalar and SIMD: same fuel
  (func (export "fuel_scalar") (result i32)
    (i32.eqz (i32.add (i32.const 1) (i32.const 2))))
  (func (export "fuel_simd") (result i32)
    (i32x4.extract_lane 0 (i32x4.add (v128.const i32x4 1 0 0 0) (v128.const i32x4 2 0 0 0))))
)
