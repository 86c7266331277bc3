;; Slots a loop header overwrites before reading them are not stored on
;; the branch back to it (docs/jit.md, "Where values reach memory"): the
;; compiled tier keeps them in their registers. Each export is a loop
;; where such a slot, or one that looks like it, must still carry its
;; value: a loop parameter (the header reads it first), a slot written
;; first only after a branch inside the loop, the loop's result read after
;; it, an outer loop's header, a br_table back to the header, a store of a
;; constant with a stride (sieve's inner loop). Each takes an i32 and
;; returns an i32 the test compares between the tiers, with the fuel left
;; and any trap.
(module
  (memory 1)

  ;; the loop parameter: read first at the header, so live there
  (func (export "carry") (param i32) (result i32) (local $i i32)
    i32.const 1
    loop $l (param i32) (result i32)
      i32.const 3
      i32.mul
      local.get 0
      i32.add
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 20
      i32.lt_u
      br_if $l
    end)

  ;; the parameter overwritten on one path and read on the other: the
  ;; branch ends what the header is known to write first (the xor after
  ;; the if leaves the parameter's slot changed at the branch back)
  (func (export "one_path") (param i32) (result i32) (local $i i32)
    i32.const 5
    loop $l (param i32) (result i32)
      local.get $i
      local.get 0
      i32.and
      i32.const 1
      i32.and
      if (param i32) (result i32)
        drop
        local.get $i
        i32.const 7
        i32.mul
      else
        i32.const 2
        i32.add
      end
      i32.const 3
      i32.xor
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 30
      i32.lt_u
      br_if $l
    end)

  ;; a value made first thing in every iteration and read after the loop
  ;; (written back where the loop falls out, not on the branch back)
  (func (export "after") (param i32) (result i32) (local $i i32)
    loop $l (result i32)
      local.get $i
      i32.const 7
      i32.mul
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get 0
      i32.const 63
      i32.and
      i32.lt_u
      br_if $l
    end
    local.get $i
    i32.add)

  ;; nested: the outer header makes a temporary first, the inner loop
  ;; branches back to its own header, the outer one branches back past it
  (func (export "nested") (param i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
    (loop $outer
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 3))))
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $s (i32.xor (i32.add (local.get $s) (i32.const 11)) (local.get $j)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (i32.and (local.get 0) (i32.const 7)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (i32.const 12))))
    (local.get $s))

  ;; a br_table with the header among its targets
  (func (export "table_back") (param i32) (result i32) (local $i i32) (local $s i32)
    (block $out
      (loop $l
        (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 5)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_table $l $l $out (i32.and (i32.add (local.get $s) (local.get 0)) (i32.const 3)))))
    (i32.add (local.get $s) (local.get $i)))

  ;; sieve's inner loop: a byte of constant 1 stored with a stride, the
  ;; constant's slot made first at the header; then the count read back
  (func (export "stride") (param i32) (result i32) (local $j i32) (local $n i32) (local $k i32)
    (local.set $k (i32.add (i32.and (local.get 0) (i32.const 15)) (i32.const 2)))
    (local.set $j (local.get $k))
    (loop $l
      (i32.store8 (local.get $j) (i32.const 1))
      (local.set $j (i32.add (local.get $j) (local.get $k)))
      (br_if $l (i32.lt_u (local.get $j) (i32.const 4000))))
    (local.set $j (i32.const 0))
    (loop $c
      (local.set $n (i32.add (local.get $n) (i32.load8_u (local.get $j))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $c (i32.lt_u (local.get $j) (i32.const 4000))))
    (local.get $n)))
