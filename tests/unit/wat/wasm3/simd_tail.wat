;; A v128 argument of a tail call: return_call moves the arguments down to
;; slot 0, and a v128's 16 bytes with them (tests/unit/test_simd.c).
(module
  (func $up (export "count_up") (param $a v128) (param $n i32) (result v128)
    (local $t v128)
    (local.set $t (i32x4.add (local.get $a) (v128.const i32x4 1 2 3 4)))
    (if (local.get $n)
      (then (return_call $up (local.get $t) (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $a))
)
