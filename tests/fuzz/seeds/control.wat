;; Structured control flow: nested blocks, loops, if/else, br_table,
;; early return, select, and a recursive fib.
(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "switch") (param $x i32) (result i32)
    (block $d
      (block $c
        (block $b
          (block $a
            (br_table $a $b $c $d (local.get $x)))
          (return (i32.const 10)))
        (return (i32.const 20)))
      (return (i32.const 30)))
    (i32.const 40))
  (func (export "loop_sum") (param $n i32) (result i32) (local $s i32)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (local.get $s))
  (func (export "pick") (param i32 i64 i64) (result i64)
    (select (local.get 1) (local.get 2) (local.get 0)))
  (func (export "early") (param i32) (result i32)
    (block
      (br_if 0 (local.get 0))
      (return (i32.const 1)))
    (i32.const 2))
  (func (export "nested_if") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (if (result i32) (i32.gt_s (local.get 0) (i32.const 5))
              (then (i32.const 1)) (else (i32.const 2))))
      (else (unreachable)))))
