;; Tail calls (return_call, return_call_indirect): weft's own tests, written
;; from the proposal's text. Run by spec_runner after wast2json
;; --enable-tail-call (tests/spec/CMakeLists.txt).

(module
  (type $ii (func (param i64) (result i32)))
  (table $t funcref (elem $even $odd))

  ;; mutual tail recursion: constant stack at any depth
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (export "odd") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))

  ;; the same through the table
  (func $even_i (export "even_i") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call_indirect $t (type $ii) (i64.sub (local.get 0) (i64.const 1)) (i32.const 1)))))

  ;; the same with plain calls: the stack runs out
  (func $even_c (export "even_c") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (call $odd_c (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd_c (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (call $even_c (i64.sub (local.get 0) (i64.const 1))))))

  ;; an accumulator loop with locals: the callee's locals start at zero again
  (func $sum (export "sum") (param $n i64) (param $acc i64) (result i64)
    (local $scratch i64)
    (local.set $scratch (i64.add (local.get $scratch) (local.get $n)))
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $sum (i64.sub (local.get $n) (i64.const 1))
                              (i64.add (local.get $acc) (local.get $scratch))))))

  ;; arguments that are the caller's own parameters, swapped: the move to
  ;; slot 0 must not clobber one with the other
  (func $swap (export "swap") (param i32 i32) (result i32 i32)
    (return_call $pair (local.get 1) (local.get 0)))
  (func $pair (param i32 i32) (result i32 i32) (local.get 0) (local.get 1))

  ;; a callee with more parameters and a bigger frame than the caller
  (func $grow (export "grow") (result i64)
    (return_call $five (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5)))
  (func $five (param i64 i64 i64 i64 i64) (result i64)
    (local i64 i64 i64)
    (i64.add (i64.add (i64.add (local.get 0) (local.get 1)) (i64.add (local.get 2) (local.get 3)))
             (i64.add (local.get 4) (i64.add (local.get 5) (local.get 7)))))

  ;; from inside blocks and loops, with values left below the arguments
  (func $nested (export "nested") (param i32) (result i32)
    (i32.const 99)
    (block (result i32)
      (loop (result i32)
        (return_call $inc (local.get 0))))
    (drop))
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))

  ;; return_call_indirect's traps are call_indirect's
  (type $v (func))
  (table $t2 3 funcref)
  (elem (table $t2) (i32.const 0) func $even $nothing)
  (func $nothing)
  (func (export "ind_null") (return_call_indirect $t2 (type $v) (i32.const 2)))
  (func (export "ind_oob") (return_call_indirect $t2 (type $v) (i32.const 3)))
  (func (export "ind_type") (return_call_indirect $t2 (type $v) (i32.const 0)))
  (func (export "ind_ok") (return_call_indirect $t2 (type $v) (i32.const 1)))
)

(assert_return (invoke "even" (i64.const 0)) (i32.const 1))
(assert_return (invoke "even" (i64.const 7)) (i32.const 0))
(assert_return (invoke "odd" (i64.const 7)) (i32.const 1))
(assert_return (invoke "even" (i64.const 10_000_000)) (i32.const 1))
(assert_return (invoke "odd" (i64.const 10_000_001)) (i32.const 1))
(assert_return (invoke "even_i" (i64.const 10_000_000)) (i32.const 1))
(assert_return (invoke "even_i" (i64.const 999_999)) (i32.const 0))
(assert_return (invoke "even_c" (i64.const 100)) (i32.const 1))
(assert_exhaustion (invoke "even_c" (i64.const 10_000_000)) "call stack exhausted")
(assert_return (invoke "sum" (i64.const 4) (i64.const 0)) (i64.const 10))
(assert_return (invoke "sum" (i64.const 1_000_000) (i64.const 0)) (i64.const 500000500000))
(assert_return (invoke "swap" (i32.const 1) (i32.const 2)) (i32.const 2) (i32.const 1))
(assert_return (invoke "grow") (i64.const 15))
(assert_return (invoke "nested" (i32.const 41)) (i32.const 42))
(assert_trap (invoke "ind_null") "uninitialized element")
(assert_trap (invoke "ind_oob") "undefined element")
(assert_trap (invoke "ind_type") "indirect call type mismatch")
(assert_return (invoke "ind_ok"))

;; across instances and into a host function (spectest's print_i32)
(module $callee
  (func (export "triple") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))
(register "callee" $callee)
(module
  (import "callee" "triple" (func $triple (param i32) (result i32)))
  (import "spectest" "print_i32" (func $print (param i32)))
  (memory 1)
  (func (export "triple_plus") (param i32) (result i32)
    (return_call $triple (i32.add (local.get 0) (i32.const 1))))
  (func (export "print_last") (param i32)
    (i32.store (i32.const 0) (local.get 0))
    (return_call $print (local.get 0)))
  (func (export "mem") (result i32) (i32.load (i32.const 0))))
(assert_return (invoke "triple_plus" (i32.const 4)) (i32.const 15))
(assert_return (invoke "print_last" (i32.const 7)))
(assert_return (invoke "mem") (i32.const 7))

;; validation: the callee's results must be exactly the caller's
(assert_invalid
  (module (func $f (result i64) (i64.const 0)) (func (result i32) (return_call $f)))
  "type mismatch")
(assert_invalid
  (module (func $f (result i32 i32) (i32.const 0) (i32.const 0)) (func (result i32) (return_call $f)))
  "type mismatch")
(assert_invalid
  (module (func $f) (func (result i32) (return_call $f)))
  "type mismatch")
(assert_invalid
  (module (func $f (param i32)) (func (return_call $f (i64.const 0))))
  "type mismatch")
(assert_invalid
  (module (type $t (func (result i64))) (table 1 funcref)
    (func (result i32) (return_call_indirect (type $t) (i32.const 0))))
  "type mismatch")
(assert_invalid
  (module (func (return_call 3)))
  "unknown function")
(assert_invalid
  (module (type $t (func)) (func (return_call_indirect (type $t) (i32.const 0))))
  "unknown table")
;; code after a tail call is unreachable: anything type-checks there
(module (func $f (result i32) (i32.const 1))
  (func (export "after") (result i32) (return_call $f) (i64.const 0) (drop)))
(assert_return (invoke "after") (i32.const 1))
