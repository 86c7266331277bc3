;; The compiled tier's register cache and pinned loop locals (docs/jit.md,
;; "Registers as built"): values that stay in registers across dependent
;; ops, the locals of innermost loops kept in registers, and every place
;; they must reach memory: a branch out of the loop (br_if, br_table), a
;; return from inside it, a call or a helper in it, a trap, a loop nested
;; in another that changes the same locals, more locals than registers,
;; and a local read both as integer and float bits. Each export takes an
;; i32 and returns an i32 the test compares between the tiers, with the
;; fuel left and any trap.
(module
  (memory 1)
  (global $g (mut i32) (i32.const 7))
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))

  ;; mandelbrot's inner loop: f64 locals, a break out of the middle
  (func (export "escape") (param i32) (result i32)
    (local $zr f64) (local $zi f64) (local $cr f64) (local $ci f64) (local $t f64) (local $it i32)
    (local.set $cr (f64.div (f64.convert_i32_s (local.get 0)) (f64.const 37)))
    (local.set $ci (f64.const 0.25))
    (block $out
      (loop $l
        (local.set $t (f64.add (f64.mul (local.get $zr) (local.get $zr))
                               (f64.mul (local.get $zi) (local.get $zi))))
        (br_if $out (f64.gt (local.get $t) (f64.const 4)))
        (local.set $zi (f64.add (f64.mul (f64.mul (f64.const 2) (local.get $zr)) (local.get $zi))
                                (local.get $ci)))
        (local.set $zr (f64.add (f64.sub (f64.mul (local.get $zr) (local.get $zr))
                                         (f64.mul (local.get $zi) (local.get $zi)))
                                (local.get $cr)))
        (local.set $it (i32.add (local.get $it) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $it) (i32.const 100)))))
    (i32.add (i32.mul (local.get $it) (i32.const 1000))
             (i32.trunc_sat_f64_s (f64.mul (local.get $zr) (f64.const 1000)))))

  ;; a br_table out of the loop to three places, each reading the locals
  (func (export "table_exit") (param i32) (result i32) (local $i i32) (local $acc i32)
    (block $b2
      (block $b1
        (block $b0
          (loop $l
            (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_table $l $l $b0 $b1 $b2 $l
              (i32.and (i32.add (local.get $acc) (local.get 0)) (i32.const 15)))))
        (return (i32.add (local.get $acc) (i32.const 100000))))
      (return (i32.add (local.get $acc) (i32.const 200000))))
    (i32.add (local.get $acc) (local.get $i)))

  ;; a return from inside the loop, of a parameter the loop changes
  (func (export "return_inside") (param i32) (result i32) (local $i i32)
    (loop $l
      (local.set 0 (i32.xor (i32.mul (local.get 0) (i32.const 5)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eq (i32.and (local.get 0) (i32.const 15)) (i32.const 3)) (then (return (local.get 0))))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
    (i32.sub (i32.const 0) (local.get 0)))

  ;; a call in the loop: the locals go to memory around it
  (func (export "call_inside") (param i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (call $inc (local.get $i))))
      (local.set $i (i32.add (local.get $i) (local.get 0)))
      (br_if $l (i32.lt_s (local.get $i) (i32.const 1000))))
    (i32.add (local.get $s) (local.get $i)))

  ;; a helper that traps in the loop (a division by zero once i reaches
  ;; the argument), and a memory access that traps past 64 KiB
  (func (export "div_inside") (param i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.div_s (i32.const 1000) (i32.sub (local.get 0) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (i32.const 40))))
    (local.get $s))
  (func (export "oob_inside") (param i32) (result i32) (local $p i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
      (i32.store (local.get $p) (local.get $s))
      (local.set $p (i32.add (local.get $p) (local.get 0)))
      (br_if $l (i32.ne (local.get $p) (i32.const 0))))
    (local.get $s))

  ;; nested loops: the inner one pins what the outer one also changes
  (func (export "nested") (param i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get 0))))
      (local.set $s (i32.rotl (local.get $s) (i32.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (i32.const 20))))
    (local.get $s))

  ;; more live locals than cache registers (12 integers, 16 floats)
  (func (export "many") (param i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $e i32) (local $f i32)
    (local $g i32) (local $h i32) (local $k i32) (local $l i32) (local $m i32) (local $n i32)
    (local $x0 f64) (local $x1 f64) (local $x2 f64) (local $x3 f64) (local $x4 f64) (local $x5 f64)
    (local $x6 f64) (local $x7 f64) (local $x8 f64) (local $x9 f64) (local $xa f64) (local $xb f64)
    (local $xc f64) (local $xd f64) (local $xe f64) (local $xf f64)
    (loop $l
      (local.set $a (i32.add (local.get $a) (local.get 0)))
      (local.set $b (i32.xor (local.get $b) (local.get $a)))
      (local.set $c (i32.add (local.get $c) (local.get $b)))
      (local.set $d (i32.sub (local.get $d) (local.get $c)))
      (local.set $e (i32.add (local.get $e) (i32.rotl (local.get $d) (i32.const 5))))
      (local.set $f (i32.xor (local.get $f) (local.get $e)))
      (local.set $g (i32.add (local.get $g) (local.get $f)))
      (local.set $h (i32.mul (local.get $h) (i32.or (local.get $g) (i32.const 1))))
      (local.set $k (i32.add (local.get $k) (local.get $h)))
      (local.set $l (i32.sub (local.get $l) (local.get $k)))
      (local.set $m (i32.add (local.get $m) (local.get $l)))
      (local.set $x0 (f64.add (local.get $x0) (f64.convert_i32_s (local.get $m))))
      (local.set $x1 (f64.add (local.get $x1) (f64.mul (local.get $x0) (f64.const 0.5))))
      (local.set $x2 (f64.sub (local.get $x2) (local.get $x1)))
      (local.set $x3 (f64.add (local.get $x3) (local.get $x2)))
      (local.set $x4 (f64.mul (local.get $x4) (f64.const 0.75)))
      (local.set $x4 (f64.add (local.get $x4) (local.get $x3)))
      (local.set $x5 (f64.add (local.get $x5) (local.get $x4)))
      (local.set $x6 (f64.sub (local.get $x6) (local.get $x5)))
      (local.set $x7 (f64.add (local.get $x7) (local.get $x6)))
      (local.set $x8 (f64.add (local.get $x8) (local.get $x7)))
      (local.set $x9 (f64.sub (local.get $x9) (local.get $x8)))
      (local.set $xa (f64.add (local.get $xa) (local.get $x9)))
      (local.set $xb (f64.add (local.get $xb) (local.get $xa)))
      (local.set $xc (f64.sub (local.get $xc) (local.get $xb)))
      (local.set $xd (f64.add (local.get $xd) (local.get $xc)))
      (local.set $xe (f64.add (local.get $xe) (local.get $xd)))
      (local.set $xf (f64.sub (local.get $xf) (local.get $xe)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $n) (i32.const 25))))
    (i32.add (local.get $m)
             (i32.wrap_i64 (i64.reinterpret_f64 (f64.add (local.get $xf) (local.get $x7))))))

  ;; one local read as f64 and as its i64 bits in the loop
  (func (export "bits") (param i32) (result i32) (local $x f64) (local $i i32) (local $s i64)
    (local.set $x (f64.convert_i32_s (local.get 0)))
    (loop $l
      (local.set $s (i64.add (local.get $s) (i64.reinterpret_f64 (local.get $x))))
      (local.set $x (f64.reinterpret_i64 (i64.xor (i64.reinterpret_f64 (f64.sqrt (f64.abs (local.get $x))))
                                                 (i64.extend_i32_u (local.get $i)))))
      (local.set $x (f64.add (local.get $x) (f64.const 1.5)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 30))))
    (i32.wrap_i64 (i64.xor (local.get $s) (i64.shr_u (local.get $s) (i64.const 32)))))

  ;; an i32 local pinned, then read as 64 bits (extend) and as a select's operand
  (func (export "widen") (param i32) (result i32) (local $i i32) (local $w i64) (local $v i32)
    (loop $l
      (local.set $v (i32.sub (local.get $v) (local.get 0)))
      (local.set $w (i64.add (local.get $w) (i64.extend_i32_u (local.get $v))))
      (local.set $w (i64.add (local.get $w) (i64.extend_i32_s (local.get $v))))
      (local.set $v (select (local.get $v) (local.get $i) (i32.and (local.get $i) (i32.const 2))))
      (global.set $g (i32.add (global.get $g) (local.get $v)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 33))))
    (i32.add (global.get $g) (i32.wrap_i64 (i64.shr_u (local.get $w) (i64.const 7)))))

  ;; memory.grow in the loop (a helper: the locals are written back)
  (func (export "grow_inside") (param i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (memory.grow (i32.and (local.get 0) (i32.const 1)))))
      (local.set $s (i32.add (local.get $s) (memory.size)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (local.get $s))
)
