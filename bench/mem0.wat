;; bench/mem0.wat: memory 0 loads and stores in a loop (mem N) and calls (fib N), for
;; comparing the interpreter's hot paths between two builds by instruction count
;; (valgrind --tool=callgrind, deterministic on a loaded machine): bench/RESULTS.md
;; "Multi-memory and memory 0".
(module
  (memory 16)
  (func (export "mem") (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $a i32)
    (loop $l
      (local.set $a (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 0x7fffc)))
      (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $i)))
      (i64.store offset=8 (local.get $a) (i64.extend_i32_u (local.get $s)))
      (local.set $s (i32.add (local.get $s) (i32.load8_u offset=3 (local.get $a))))
      (local.set $s (i32.xor (local.get $s) (i32.load16_s offset=2 (local.get $a))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))
