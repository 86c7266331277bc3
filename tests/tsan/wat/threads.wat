;; threads.wat — the module every thread of test_threads.c instantiates:
;; `work` does some calls and a loop (bounded), `spin` never ends by itself
;; (fuel or an interrupt stops it).
(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (func $fib (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  ;; fib(n) + the sum 1..n, which it also stores at address 0
  (func (export "work") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block
      (loop
        (br_if 1 (i32.gt_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br 0)))
    (i32.store (i32.const 0) (local.get $s))
    (global.set $g (local.get $s))
    (i32.add (call $fib (local.get $n)) (local.get $s)))
  (func (export "spin") (loop (br 0))))
