;; Stores of a constant value: the value rides in the instruction (the
;; _K, _AK and _XK store forms, docs/engine.md "Fused sequences") instead of
;; a CONST into a slot; test_compile.c's compile_store_of_a_constant_*.
(module
  (memory (export "memory") 1)

  ;; 0: plain address, a byte of a wider constant (0xff stored)
  (func (export "k8") (param $p i32)
    (i32.store8 offset=1 (local.get $p) (i32.const 0x1ff)))
  ;; 1: address p + 8 folded in (_AK), offset 2
  (func (export "k16a") (param $p i32)
    (i32.store16 offset=2 (i32.add (local.get $p) (i32.const 8)) (i32.const -2)))
  ;; 2: address p + q folded in (_XK), offset 4
  (func (export "k32x") (param $p i32) (param $q i32)
    (i32.store offset=4 (i32.add (local.get $p) (local.get $q)) (i32.const 0x12345678)))
  ;; 3: all 64 bits
  (func (export "k64") (param $p i32)
    (i64.store (local.get $p) (i64.const 0x0123456789abcdef)))
  ;; 4: the low 32 bits of an i64
  (func (export "k64_32") (param $p i32)
    (i64.store32 (local.get $p) (i64.const 0x1122334455667788)))
  ;; 5: a signalling NaN's payload kept bit for bit
  (func (export "kf32") (param $p i32)
    (f32.store (local.get $p) (f32.const nan:0x200001)))
  ;; 6: negative zero
  (func (export "kf64") (param $p i32)
    (f64.store (local.get $p) (f64.const -0.0)))
  ;; 7: sieve's inner loop: flags[p + i] = 1 for i < n, a _XK store in a
  ;; loop; out of bounds in the middle when p + n passes the memory's end
  (func (export "fill") (param $p i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
)
