;; Loads and stores of every width and sign, offsets, alignment hints,
;; memory.size/grow and active data segments.
(module
  (memory (export "mem") 1 4)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\f0\f1\f2\f3\f4\f5\f6\f7")
  (data (i32.const 65520) "tail of page one")
  (func (export "loads") (param $p i32) (result i64)
    (i64.add
      (i64.add
        (i64.add (i64.extend_i32_s (i32.load8_s (local.get $p)))
                 (i64.extend_i32_u (i32.load8_u offset=1 (local.get $p))))
        (i64.add (i64.extend_i32_s (i32.load16_s offset=2 align=1 (local.get $p)))
                 (i64.extend_i32_u (i32.load16_u offset=3 (local.get $p)))))
      (i64.add
        (i64.add (i64.extend_i32_u (i32.load offset=4 (local.get $p)))
                 (i64.load offset=8 align=4 (local.get $p)))
        (i64.add
          (i64.add (i64.load8_s (local.get $p)) (i64.load8_u (local.get $p)))
          (i64.add
            (i64.add (i64.load16_s (local.get $p)) (i64.load16_u (local.get $p)))
            (i64.add (i64.load32_s (local.get $p)) (i64.load32_u (local.get $p))))))))
  (func (export "stores") (param $p i32)
    (i32.store8 (local.get $p) (i32.const 0x11))
    (i32.store16 offset=2 (local.get $p) (i32.const 0x2222))
    (i32.store offset=4 (local.get $p) (i32.const 0x33333333))
    (i64.store offset=8 (local.get $p) (i64.const 0x4444444444444444))
    (i64.store8 offset=16 (local.get $p) (i64.const 5))
    (i64.store16 offset=18 (local.get $p) (i64.const 6))
    (i64.store32 offset=20 (local.get $p) (i64.const 7))
    (f32.store offset=24 (local.get $p) (f32.const 1.5))
    (f64.store offset=32 (local.get $p) (f64.load offset=8 (local.get $p))))
  (func (export "grow_all") (result i32)
    (drop (memory.grow (i32.const 1)))
    (drop (memory.grow (i32.const 100)))
    (memory.size))
  (func (export "edge") (result i32) (i32.load (i32.const 65532))))
