;; weft_instance_reset (tests/unit/test_memory.c): `pristine` is 1 when all
;; of the instance's state is as instantiation left it, `scribble` changes
;; every piece of it (memory bytes in several pages, the memory's size, a
;; mutable global, the table's size and elements, a passive data and element
;; segment dropped: a second scribble without a reset traps on them).
(module
  (import "env" "user" (func $user (result i32)))
  (memory 5) ;; over the 4 pages mempool.c clears whole: its mincore path
  (table $t 2 funcref)
  (global $g (mut i32) (i32.const 7))
  (global $starts (mut i32) (i32.const 0))
  (data (i32.const 16) "pristine")
  (data $p "passive")
  (elem (i32.const 0) $five)
  (elem $pe func $five)
  (func $five (result i32) (i32.const 5))
  (func $start (global.set $starts (i32.add (global.get $starts) (i32.const 1))))
  (start $start)
  (func (export "user") (result i32) (call $user))
  (func (export "pristine") (result i32)
    (i32.and
      (i32.and
        (i32.and (i32.eq (memory.size) (i32.const 5))
                 (i32.eq (global.get $g) (i32.const 7)))
        (i32.and (i32.eq (global.get $starts) (i32.const 1))
                 (i64.eq (i64.load (i32.const 16)) (i64.const 0x656e697473697270)))) ;; "pristine"
      (i32.and
        (i32.and
          (i32.and (i32.eqz (i32.load8_u (i32.const 100)))
                   (i32.eqz (i32.load8_u (i32.const 196613)))) ;; page 3, byte 5
          (i32.eqz (i32.load (i32.const 327676)))) ;; the last 4 bytes
        (i32.and
          (i32.eq (table.size $t) (i32.const 2))
          (i32.and (ref.is_null (table.get $t (i32.const 1)))
                   (i32.eqz (ref.is_null (table.get $t (i32.const 0)))))))))
  (func (export "scribble")
    (global.set $g (i32.const 99))
    (global.set $starts (i32.const 50))
    (i32.store8 (i32.const 16) (i32.const 88))
    (i32.store8 (i32.const 100) (i32.const 1))
    (i32.store8 (i32.const 196613) (i32.const 2))
    (i32.store (i32.const 327676) (i32.const -1))
    (drop (memory.grow (i32.const 3)))
    (i32.store (i32.const 458752) (i32.const 3)) ;; in the grown pages
    (drop (table.grow $t (ref.null func) (i32.const 10)))
    (table.set $t (i32.const 1) (ref.func $five))
    (memory.init $p (i32.const 200) (i32.const 0) (i32.const 7))
    (data.drop $p)
    (table.init $t $pe (i32.const 3) (i32.const 0) (i32.const 1))
    (elem.drop $pe))
  ;; a word of the pages scribble grows: 3 after it, a trap after a reset
  ;; (the memory is 5 pages again)
  (func (export "grown") (result i32) (i32.load (i32.const 458752))))
