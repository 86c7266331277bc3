;; Multi-memory: weft's own tests, written from the proposal's text (the
;; memory index in memargs and in memory.size/grow/fill/copy/init, data
;; segments of any memory, imported and exported memories). Run with
;; wast2json --enable-multi-memory.

(module $lib
  (memory (export "shared") 1 4)
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "size") (result i32) (memory.size)))
(register "lib" $lib)

(module
  (memory $m0 1)
  (memory $m1 2 3)
  (memory $m2 0)
  (data (memory $m1) (i32.const 8) "hello")
  (data (i32.const 8) "HELLO")
  (data $pass "0123456789")

  (func (export "load_u8") (param $mem i32) (param $a i32) (result i32)
    (if (result i32) (i32.eqz (local.get $mem))
      (then (i32.load8_u $m0 (local.get $a)))
      (else (i32.load8_u $m1 (local.get $a)))))

  ;; every width and sign through memory 1, with offsets
  (func (export "i32") (param i32 i32) (result i32)
    (i32.store $m1 offset=4 (local.get 0) (local.get 1))
    (i32.load $m1 offset=4 (local.get 0)))
  (func (export "i64") (param i32 i64) (result i64)
    (i64.store $m1 (local.get 0) (local.get 1))
    (i64.load $m1 (local.get 0)))
  (func (export "f32") (param i32 f32) (result f32)
    (f32.store $m1 (local.get 0) (local.get 1))
    (f32.load $m1 (local.get 0)))
  (func (export "f64") (param i32 f64) (result f64)
    (f64.store $m1 (local.get 0) (local.get 1))
    (f64.load $m1 (local.get 0)))
  (func (export "narrow") (param i32 i64) (result i64)
    (i64.store8 $m1 (local.get 0) (local.get 1))
    (i64.store16 $m1 offset=2 (local.get 0) (local.get 1))
    (i64.store32 $m1 offset=4 (local.get 0) (local.get 1))
    (i32.store8 $m1 offset=8 (local.get 0) (i32.wrap_i64 (local.get 1)))
    (i32.store16 $m1 offset=10 (local.get 0) (i32.wrap_i64 (local.get 1)))
    (i64.add
      (i64.add
        (i64.add (i64.load8_s $m1 (local.get 0)) (i64.load8_u $m1 (local.get 0)))
        (i64.add (i64.load16_s $m1 offset=2 (local.get 0)) (i64.load16_u $m1 offset=2 (local.get 0))))
      (i64.add
        (i64.add (i64.load32_s $m1 offset=4 (local.get 0)) (i64.load32_u $m1 offset=4 (local.get 0)))
        (i64.extend_i32_u
          (i32.add
            (i32.add (i32.load8_s $m1 offset=8 (local.get 0)) (i32.load8_u $m1 offset=8 (local.get 0)))
            (i32.add (i32.load16_s $m1 offset=10 (local.get 0)) (i32.load16_u $m1 offset=10 (local.get 0))))))))

  (func (export "size") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (memory.size $m0))
      (else (if (result i32) (i32.eq (local.get 0) (i32.const 1))
        (then (memory.size $m1))
        (else (memory.size $m2))))))
  (func (export "grow1") (param i32) (result i32) (memory.grow $m1 (local.get 0)))
  (func (export "grow2") (param i32) (result i32) (memory.grow $m2 (local.get 0)))
  (func (export "store2") (param i32 i32) (i32.store $m2 (local.get 0) (local.get 1)))
  (func (export "load2") (param i32) (result i32) (i32.load $m2 (local.get 0)))

  (func (export "fill1") (param i32 i32 i32) (memory.fill $m1 (local.get 0) (local.get 1) (local.get 2)))
  ;; memory.copy $dst $src
  (func (export "copy_1_to_0") (param i32 i32 i32) (memory.copy $m0 $m1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_1_to_1") (param i32 i32 i32) (memory.copy $m1 $m1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_0_to_2") (param i32 i32 i32) (memory.copy $m2 $m0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init1") (param i32 i32 i32) (memory.init $m1 $pass (local.get 0) (local.get 1) (local.get 2)))
)

;; data segments went to their memories
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 8)) (i32.const 0x68))
(assert_return (invoke "load_u8" (i32.const 0) (i32.const 8)) (i32.const 0x48))
;; loads and stores
(assert_return (invoke "i32" (i32.const 100) (i32.const 0x12345678)) (i32.const 0x12345678))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 104)) (i32.const 0x78))
(assert_return (invoke "load_u8" (i32.const 0) (i32.const 104)) (i32.const 0))
(assert_return (invoke "i64" (i32.const 131064) (i64.const -2)) (i64.const -2))
(assert_return (invoke "f32" (i32.const 200) (f32.const -1.5)) (f32.const -1.5))
(assert_return (invoke "f64" (i32.const 208) (f64.const 0x1.8p+100)) (f64.const 0x1.8p+100))
;; i64: (-1 + 255) + (-1 + 65535) + (-1 + 4294967295); i32: (-1 + 255) + (-1 + 65535)
(assert_return (invoke "narrow" (i32.const 300) (i64.const -1)) (i64.const 4295098870))
;; out of bounds of memory 1 (2 pages), not of memory 0's size
(assert_trap (invoke "i32" (i32.const 131069) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "i64" (i32.const 131065) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "load_u8" (i32.const 1) (i32.const 131072)) "out of bounds memory access")
(assert_trap (invoke "load_u8" (i32.const 0) (i32.const 65536)) "out of bounds memory access")
;; the last byte of memory 1, the top of the i64 -2 stored at 131064
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 131071)) (i32.const 0xff))

;; size and grow, each memory on its own
(assert_return (invoke "size" (i32.const 0)) (i32.const 1))
(assert_return (invoke "size" (i32.const 1)) (i32.const 2))
(assert_return (invoke "size" (i32.const 2)) (i32.const 0))
(assert_trap (invoke "store2" (i32.const 0) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "grow2" (i32.const 1)) (i32.const 0))
(assert_return (invoke "size" (i32.const 2)) (i32.const 1))
(assert_return (invoke "store2" (i32.const 65532) (i32.const 77)))
(assert_return (invoke "load2" (i32.const 65532)) (i32.const 77))
(assert_return (invoke "grow1" (i32.const 2)) (i32.const -1))
(assert_return (invoke "grow1" (i32.const 1)) (i32.const 2))
(assert_return (invoke "size" (i32.const 1)) (i32.const 3))
(assert_return (invoke "size" (i32.const 0)) (i32.const 1))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 196607)) (i32.const 0))

;; bulk memory
(assert_return (invoke "fill1" (i32.const 1000) (i32.const 0xaa) (i32.const 4)))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 1003)) (i32.const 0xaa))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 1004)) (i32.const 0))
(assert_return (invoke "load_u8" (i32.const 0) (i32.const 1000)) (i32.const 0))
(assert_return (invoke "copy_1_to_0" (i32.const 2000) (i32.const 8) (i32.const 5)))
(assert_return (invoke "load_u8" (i32.const 0) (i32.const 2004)) (i32.const 0x6f))
(assert_return (invoke "copy_1_to_1" (i32.const 9) (i32.const 8) (i32.const 5)))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 13)) (i32.const 0x6f))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 9)) (i32.const 0x68))
(assert_return (invoke "copy_0_to_2" (i32.const 10) (i32.const 8) (i32.const 5)))
(assert_return (invoke "load2" (i32.const 10)) (i32.const 0x4c4c4548))
(assert_return (invoke "init1" (i32.const 500) (i32.const 2) (i32.const 3)))
(assert_return (invoke "load_u8" (i32.const 1) (i32.const 502)) (i32.const 0x34))
(assert_return (invoke "load_u8" (i32.const 0) (i32.const 502)) (i32.const 0))
(assert_trap (invoke "fill1" (i32.const 196606) (i32.const 1) (i32.const 3)) "out of bounds memory access")
(assert_trap (invoke "copy_1_to_0" (i32.const 65535) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy_0_to_2" (i32.const 65535) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "init1" (i32.const 196607) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "init1" (i32.const 0) (i32.const 8) (i32.const 3)) "out of bounds memory access")

;; imported memories beside a defined one; one memory imported twice
(module
  (import "lib" "shared" (memory $a 1))
  (import "lib" "shared" (memory $b 1))
  (memory $own 1)
  (data (memory $b) (i32.const 16) "\2a")
  (func (export "a16") (result i32) (i32.load8_u $a (i32.const 16)))
  (func (export "own16") (result i32) (i32.load8_u $own (i32.const 16)))
  ;; growing through $b grows $a: its size (kept apart for memory 0) follows
  (func (export "grow_b") (result i32) (memory.grow $b (i32.const 1)))
  (func (export "store_a") (param i32 i32) (i32.store $a (local.get 0) (local.get 1)))
  (func (export "load_b") (param i32) (result i32) (i32.load $b (local.get 0))))
(assert_return (invoke "a16") (i32.const 42))
(assert_return (invoke "own16") (i32.const 0))
(assert_return (invoke $lib "peek" (i32.const 16)) (i32.const 42))
(assert_trap (invoke "store_a" (i32.const 65536) (i32.const 5)) "out of bounds memory access")
(assert_return (invoke "grow_b") (i32.const 1))
(assert_return (invoke "store_a" (i32.const 65536) (i32.const 5)))
(assert_return (invoke "load_b" (i32.const 65536)) (i32.const 5))
(assert_return (invoke $lib "size") (i32.const 2))
(assert_return (invoke $lib "peek" (i32.const 65536)) (i32.const 5))

;; a data segment that does not fit its memory fails instantiation
(assert_trap
  (module (memory 1) (memory 0) (data (memory 1) (i32.const 0) "x"))
  "out of bounds memory access")

;; exports of several memories
(module $two
  (memory (export "m0") 1)
  (memory (export "m1") 1)
  (func (export "set1") (i32.store8 1 (i32.const 0) (i32.const 9))))
(register "two" $two)
(module
  (import "two" "m1" (memory 1))
  (func (export "get") (result i32) (i32.load8_u (i32.const 0))))
(assert_return (invoke $two "set1"))
(assert_return (invoke "get") (i32.const 9))

;; validation
(assert_invalid
  (module (memory 1) (func (drop (i32.load 1 (i32.const 0)))))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (func (drop (memory.size 1))))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (func (drop (memory.grow 1 (i32.const 0)))))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (func (memory.copy 0 1 (i32.const 0) (i32.const 0) (i32.const 0))))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (func (memory.fill 1 (i32.const 0) (i32.const 0) (i32.const 0))))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (data "x") (func (memory.init 1 0 (i32.const 0) (i32.const 0) (i32.const 0))))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (data (memory 1) (i32.const 0) ""))
  "unknown memory 1")
(assert_invalid
  (module (memory 1) (memory 1) (func (drop (i32.load 1 align=8 (i32.const 0)))))
  "alignment must not be larger than natural")
;; memory 0 in the long form (bit 6 and index 0) is memory 0
(module binary
  "\00asm" "\01\00\00\00"
  "\01\05\01\60\00\01\7f"             ;; type: [] -> [i32]
  "\03\02\01\00"                      ;; one function
  "\05\03\01\00\01"                   ;; memory 1
  "\07\05\01\01\66\00\00"             ;; export "f"
  "\0a\0a\01\08\00\41\00\2f\41\00\00\0b" ;; i32.load16_u align=1|0x40 mem 0 offset 0
  "\0b\08\01\00\41\00\0b\02\07\00"    ;; data at 0: 07 00
)
(assert_return (invoke "f") (i32.const 7))
