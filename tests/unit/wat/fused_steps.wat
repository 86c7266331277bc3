;; Fused sequences (docs/engine.md "Fused sequences"): two i32 adds of a
;; constant in a row (I32_ADD_IMM2, its _R form, one split again by a load
;; that folds the second add), the stack pointer moved by a constant
;; (GLOBAL_GET_ADD_IMM, _SET, GLOBAL_SET_ADD_IMM), `return x` (RETURN_COPY)
;; two loads in a row (I32_LOAD2, I32_LOAD8_U2), a + b + k
;; (I32_ADD_ADD_IMM) and a byte copied (I32_LOAD8_U_STORE8), in
;; test_compile.c's compile_fused_* tests.
(module
  (memory 1)
  (global $sp (export "sp") (mut i32) (i32.const 1024))
  (global $other (export "other") (mut i32) (i32.const 7))

  ;; 0: three induction variables stepped one after another: p += 40,
  ;; q -= 4 and n -= 1 are one I32_ADD_IMM3. 20 instructions an iteration.
  (func (export "steps") (param $n i32) (param $p i32) (result i32)
    (local $q i32) (local $s i32)
    (local.set $q (i32.const -5))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (local.set $s (i32.add (local.get $s) (i32.xor (local.get $p) (local.get $q))))
        (local.set $p (i32.add (local.get $p) (i32.const 40)))
        (local.set $q (i32.add (local.get $q) (i32.const -4)))
        (local.set $n (i32.add (local.get $n) (i32.const -1)))
        (br_if $l (local.get $n))))
    (i32.add (local.get $s) (i32.add (local.get $p) (local.get $q))))

  ;; 1: the second add reads what the first wrote (p += 4; q = p + 8),
  ;; and the first wraps
  (func (export "chain") (param $p i32) (result i32)
    (local $q i32)
    (local.set $p (i32.add (local.get $p) (i32.const 4)))
    (local.set $q (i32.add (local.get $p) (i32.const 8)))
    (i32.xor (local.get $p) (i32.mul (local.get $q) (i32.const 3))))

  ;; 2: the first add reads the accumulator (I32_ADD_IMM2_R: t = x * 3,
  ;; then t + 1), the second a local
  (func (export "acc") (param $x i32) (param $y i32) (result i32)
    (local $t i32)
    (local.set $t (i32.add (i32.mul (local.get $x) (i32.const 3)) (i32.const 1)))
    (local.set $y (i32.add (local.get $y) (i32.const 0x7fffffff)))
    (i32.sub (local.get $t) (local.get $y)))

  ;; 3: p += 4, then a load of q + 8: the load folds the second add (it is
  ;; split off the pair again); out of bounds when q + 8 is past the memory
  (func (export "split") (param $p i32) (param $q i32) (result i32)
    (local.set $p (i32.add (local.get $p) (i32.const 4)))
    (i32.add (local.get $p) (i32.load8_u (i32.add (local.get $q) (i32.const 8)))))

  ;; 4: a frame on the stack pointer, as clang makes one: the prologue is
  ;; one GLOBAL_GET_ADD_IMM_SET, the epilogue one GLOBAL_SET_ADD_IMM. The
  ;; frame's store traps when the stack pointer has wrapped below 0.
  (func $frame (export "frame") (param $x i32) (result i32)
    (local $fp i32)
    (global.set $sp (local.tee $fp (i32.sub (global.get $sp) (i32.const 32))))
    (i32.store offset=4 (local.get $fp) (local.get $x))
    (local.set $x (i32.add (i32.load offset=4 (local.get $fp)) (local.get $fp)))
    (global.set $sp (i32.add (local.get $fp) (i32.const 32)))
    (local.get $x))

  ;; 5: recursion n deep, each level with a frame of 48 bytes; returns the
  ;; lowest stack pointer seen (the epilogue as a sub of -48)
  (func $rec (export "rec") (param $n i32) (result i32)
    (local $fp i32) (local $r i32)
    (global.set $sp (local.tee $fp (i32.sub (global.get $sp) (i32.const 48))))
    (local.set $r (local.get $fp))
    (if (local.get $n)
      (then (local.set $r (call $rec (i32.sub (local.get $n) (i32.const 1))))))
    (global.set $sp (i32.sub (local.get $fp) (i32.const -48)))
    (local.get $r))

  ;; 6: the stack pointer read with an offset, not written (GLOBAL_GET_ADD_IMM)
  (func (export "peek") (result i32)
    (i32.sub (global.get $sp) (i32.const 16)))

  ;; 7: one global read plus a constant into another: no _SET fusion
  (func (export "copy_plus") (param $k i32)
    (global.set $other (i32.add (global.get $sp) (i32.const 100)))
    (global.set $sp (i32.add (local.get $k) (i32.const 1))))

  ;; 8-12: a result returned from a local or a deeper slot is one
  ;; RETURN_COPY: a parameter at the end; inside a loop (whose locals the
  ;; compiled tier keeps in registers); float bits; an i64; a br_if to the
  ;; function's label with a value
  (func (export "ret_param") (param $a i32) (param $b i32) (result i32)
    (local.get $b))
  (func (export "ret_loop") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.ge_s (local.get $i) (local.get $n)) (then (return (local.get $s))))
      (br $l))
    (i32.const -1))
  (func (export "ret_f32") (param $x f32) (result f32)
    (local $y f32)
    (local.set $y (local.get $x))
    (local.get $y))
  (func (export "ret_i64") (param $x i64) (result i64)
    (local $y i64)
    (local.set $y (i64.add (local.get $x) (i64.const 1)))
    (drop (i64.mul (local.get $x) (local.get $x)))
    (local.get $y))
  (func (export "ret_br") (param $a i32) (param $b i32) (result i32)
    (drop (br_if 0 (local.get $b) (local.get $a)))
    (i32.const 7))

  ;; 256: a pointer (264) and 42; 264: 0x40302010; 268: 0x7fffffff;
  ;; 272, 277 and 282: "abcd", "abce" and "abcd", each with a 0 after it
  (data (i32.const 256) "\08\01\00\00\2a\00\00\00\10\20\30\40\ff\ff\ff\7f"
    "abcd\00abce\00abcd\00")

  ;; 13-16: two loads of one kind in a row are one I32_LOAD2 or
  ;; I32_LOAD8_U2: two fields into locals (local.set retargets both
  ;; halves); a pointer chased (the second's address is the first's
  ;; result); two bytes; a string compare's loop, whose locals the compiled
  ;; tier keeps in registers
  (func (export "fields") (param $p i32) (result i32)
    (local $x i32) (local $y i32)
    (local.set $x (i32.load (local.get $p)))
    (local.set $y (i32.load offset=4 (local.get $p)))
    (i32.sub (local.get $x) (local.get $y)))
  (func (export "chase") (param $p i32) (result i32)
    (i32.load offset=4 (i32.load (local.get $p))))
  (func (export "bytes") (param $a i32) (param $b i32) (result i32)
    (i32.sub (i32.load8_u (local.get $a)) (i32.load8_u offset=1 (local.get $b))))
  (func (export "strcmp") (param $a i32) (param $b i32) (result i32)
    (local $x i32) (local $y i32)
    (loop $l
      (local.set $x (i32.load8_u (local.get $a)))
      (local.set $y (i32.load8_u (local.get $b)))
      (if (i32.and (i32.eq (local.get $x) (local.get $y)) (i32.ne (local.get $x) (i32.const 0)))
        (then
          (local.set $a (i32.add (local.get $a) (i32.const 1)))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $l))))
    (i32.sub (local.get $x) (local.get $y)))

  ;; 17-19: an i32.add, then an add of a constant to its result: one
  ;; I32_ADD_ADD_IMM (the constant subtracted, into a local); its _R form
  ;; when the first add reads acc (an element's field: base + i * 8 + 4);
  ;; a load of the sum, which folds the constant (I32_ADD, I32_LOAD_A: the
  ;; pair is split again)
  (func (export "sum3") (param $a i32) (param $b i32) (result i32)
    (local $s i32)
    (local.set $s (i32.sub (i32.add (local.get $a) (local.get $b)) (i32.const 7)))
    (i32.xor (local.get $s) (local.get $a)))
  (func (export "index") (param $base i32) (param $i i32) (result i32)
    (i32.add (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 3))) (i32.const 4)))
  (func (export "field") (param $base i32) (param $i i32) (result i32)
    (i32.load (i32.add (i32.add (local.get $base) (local.get $i)) (i32.const 8))))

  ;; 20-21: n bytes copied from 272 to d + 1, one at a time: the byte's
  ;; load and store are one I32_LOAD8_U_STORE8 (the load's address a
  ;; local), or I32_LOAD8_U_A_STORE8 (i + 272 folded into the load);
  ;; returns the four bytes at d + 1. 15 instructions an iteration.
  (func (export "bytecopy") (param $d i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 offset=1 (i32.add (local.get $d) (local.get $i)) (i32.load8_u offset=272 (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.load offset=1 (local.get $d)))
  (func (export "bytecopy_a") (param $d i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 offset=1 (i32.add (local.get $d) (local.get $i))
          (i32.load8_u (i32.add (local.get $i) (i32.const 272))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.load offset=1 (local.get $d)))

  ;; 22-23: three adds of a constant, each reading the one before (one
  ;; I32_ADD_IMM3, wrapping); then two and a load of q + 12, which folds
  ;; the third add (the I32_ADD_IMM3 split again into an I32_ADD_IMM2)
  (func (export "chain3") (param $p i32) (result i32)
    (local $q i32) (local $r i32)
    (local.set $p (i32.add (local.get $p) (i32.const 4)))
    (local.set $q (i32.add (local.get $p) (i32.const 8)))
    (local.set $r (i32.add (local.get $q) (i32.const -12)))
    (i32.xor (i32.xor (local.get $p) (i32.mul (local.get $q) (i32.const 3))) (i32.mul (local.get $r) (i32.const 5))))
  (func (export "split3") (param $p i32) (param $q i32) (result i32)
    (local.set $p (i32.add (local.get $p) (i32.const 4)))
    (local.set $p (i32.add (local.get $p) (i32.const 8)))
    (i32.add (local.get $p) (i32.load8_u (i32.add (local.get $q) (i32.const 12)))))
)
