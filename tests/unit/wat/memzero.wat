;; memzero.wat — a module with its own memory of 3 pages and a data
;; segment, for test_memory.c: smear writes a secret over every byte (after
;; growing), nonzero counts the bytes that are not zero (reading every page).
(module
  (memory (export "memory") 3)
  (data (i32.const 100) "data")
  (func (export "smear") (param $grow i32) (param $byte i32)
    (drop (memory.grow (local.get $grow)))
    (memory.fill (i32.const 0) (local.get $byte)
                 (i32.mul (memory.size) (i32.const 65536))))
  (func (export "nonzero") (result i32)
    (local $at i32) (local $end i32) (local $n i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (if (i64.ne (i64.load (local.get $at)) (i64.const 0))
          (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next)))
    (local.get $n)))
