;; A tail call from an interpreted function (return_call is not compiled)
;; to a compiled one that replaces it: when the fuel runs out after the
;; callee's last check, the trap at the end of the run names the callee in
;; both tiers (test_jit.c).
(module
  (func $spin (param i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (i32.add (i32.mul (local.get $i) (i32.const 3)) (i32.const 1)))
  (func (export "tail") (param i32) (result i32)
    (return_call $spin (i32.add (local.get 0) (i32.const 1)))))
