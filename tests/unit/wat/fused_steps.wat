;; Fused sequences (docs/engine.md "Fused sequences"): two i32 adds of a
;; constant in a row (I32_ADD_IMM2, its _R form, one split again by a load
;; that folds the second add), and the stack pointer moved by a constant
;; (GLOBAL_GET_ADD_IMM, _SET, GLOBAL_SET_ADD_IMM), in
;; test_compile.c's compile_fused_* tests.
(module
  (memory 1)
  (global $sp (export "sp") (mut i32) (i32.const 1024))
  (global $other (export "other") (mut i32) (i32.const 7))

  ;; 0: three induction variables stepped one after another; p += 40 and
  ;; q -= 4 are one I32_ADD_IMM2, n -= 1 stays alone. 20 instructions an
  ;; iteration.
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
)
