;; locals_zero.wat — for test_compile.c: a call zeroes only the declared
;; locals that some path may read before writing (compile.c, "definite
;; assignment"). run(k, c) first calls $dirty, whose 80 arguments leave -1
;; in the slots the next frame's locals take, then probe k with c at the
;; same base: a probe returns a local on a path where nothing wrote it, so
;; it must read 0, not the -1 left behind. The probes that write before
;; every read ($all_written) need no zeroing at all.
(module
  (type $probe (func (param i32) (result i32)))
  (table 16 funcref)
  (elem (i32.const 0) $prefix $one_arm $br_if_skips $loop_first $past_64
        $zero_again $br_table_skips $no_else $all_written $else_arm $nested)
  (func $dirty (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64))
  (func (export "run") (param $k i32) (param $c i32) (result i32)
    (call $dirty

      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
      (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1) (i64.const -1)
    )
    (call_indirect (type $probe) (local.get $c) (local.get $k)))
  ;; 0: read at the start, before the write that follows
  (func $prefix (type $probe) (param $c i32) (result i32) (local $x i32)
    (local.set $c (local.get $x))
    (local.set $x (i32.const 5))
    (i32.add (local.get $c) (local.get $x)))
  ;; 1: written in the then arm only; c = 0 reads it unwritten
  (func $one_arm (type $probe) (param $c i32) (result i32) (local $x i32)
    (if (local.get $c) (then (local.set $x (i32.const 5))) (else nop))
    (local.get $x))
  ;; 2: a br_if past the write
  (func $br_if_skips (type $probe) (param $c i32) (result i32) (local $x i32)
    (block $b
      (br_if $b (local.get $c))
      (local.set $x (i32.const 5)))
    (local.get $x))
  ;; 3: read at the loop's head, written at its end: 0 on the first turn
  (func $loop_first (type $probe) (param $c i32) (result i32) (local $x i32) (local $sum i32)
    (local.set $sum (i32.const 0))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (local.get $x)))
      (local.set $x (i32.const 100))
      (br_if $l (i32.ge_s (local.tee $c (i32.sub (local.get $c) (i32.const 1))) (i32.const 0))))
    (local.get $sum))
  ;; 4: local 70, past the 64 locals tracked, read unwritten
  (func $past_64 (type $probe) (param $c i32) (result i32) (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local.set 1 (i32.const 1))
    (i32.add (local.get 1) (local.get 70)))
  ;; 5: storing 0 into an unwritten local at the start is left out: the
  ;; call's zeroing must do it
  (func $zero_again (type $probe) (param $c i32) (result i32) (local $x i32)
    (local.set $x (i32.const 0))
    (if (local.get $c) (then (local.set $x (i32.const 5))))
    (local.get $x))
  ;; 6: br_table to the block's end past the write, for c = 1
  (func $br_table_skips (type $probe) (param $c i32) (result i32) (local $x i32)
    (block $out
      (block $in
        (br_table $in $out (local.get $c)))
      (local.set $x (i32.const 5)))
    (local.get $x))
  ;; 7: an if without else writing: its false path does not
  (func $no_else (type $probe) (param $c i32) (result i32) (local $x i64)
    (if (local.get $c) (then (local.set $x (i64.const 5))))
    (i32.wrap_i64 (local.get $x)))
  ;; 8: every read after a write on every path: nothing to zero
  (func $all_written (type $probe) (param $c i32) (result i32) (local $x i32) (local $y i32)
    (if (local.get $c)
      (then (local.set $x (i32.const 2)))
      (else (local.set $x (i32.const 3))))
    (block $b
      (local.set $y (i32.const 7))
      (br_if $b (local.get $c))
      (local.set $y (i32.const 11)))
    (i32.add (local.get $x) (local.get $y)))
  ;; 9: written in the else arm only, the then arm branches out: c = 0
  ;; reaches the end written, c = 1 leaves early returning x unwritten
  (func $else_arm (type $probe) (param $c i32) (result i32) (local $x i32)
    (block $b
      (if (local.get $c)
        (then (br $b))
        (else (local.set $x (i32.const 5)))))
    (local.get $x))
  ;; 10: written in an inner block that a branch leaves for the outer end
  (func $nested (type $probe) (param $c i32) (result i32) (local $x i32)
    (block $outer
      (block $inner
        (br_if $outer (local.get $c))
        (local.set $x (i32.const 5)))
      (local.set $x (i32.add (local.get $x) (i32.const 1))))
    (local.get $x)))
