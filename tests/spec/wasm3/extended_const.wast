;; Extended constant expressions: weft's own tests, written from the
;; proposal's text (i32/i64 add, sub, mul in constant expressions) and Wasm
;; 3.0's rule that a constant expression may read any immutable global
;; defined before it. Run with wast2json --enable-extended-const.

(module $base
  (global (export "g32") i32 (i32.const 1000))
  (global (export "g64") i64 (i64.const 5000000000)))
(register "base" $base)

(module
  (import "base" "g32" (global $g32 i32))
  (import "base" "g64" (global $g64 i64))
  (global $a i32 (i32.add (global.get $g32) (i32.const 24)))
  (global $b i32 (i32.mul (i32.sub (i32.const 10) (i32.const 3)) (i32.const 6)))
  ;; wraps as the instructions do
  (global $c i32 (i32.add (i32.const 0x7fffffff) (i32.const 1)))
  (global $d i32 (i32.mul (i32.const 0x10000) (i32.const 0x10000)))
  (global $e i64 (i64.sub (i64.mul (global.get $g64) (i64.const 4)) (i64.const 1)))
  (global $f i64 (i64.sub (i64.const 0) (i64.const 1)))
  ;; deep on the stack: right-nested
  (global $j i32 (i32.add (i32.const 1) (i32.add (i32.const 2) (i32.add (i32.const 3)
    (i32.add (i32.const 4) (i32.add (i32.const 5) (i32.const 6)))))))

  (memory 1)
  ;; data offsets computed from an imported and a defined global
  (data (i32.add (global.get $g32) (i32.const 4)) "\01\02")
  (data (i32.sub (global.get $g32) (i32.const 18)) "\2a")

  (table 10 funcref)
  (elem (i32.mul (i32.const 2) (i32.const 3)) func $seven)
  (func $seven (result i32) (i32.const 7))

  (func (export "a") (result i32) (global.get $a))
  (func (export "b") (result i32) (global.get $b))
  (func (export "c") (result i32) (global.get $c))
  (func (export "d") (result i32) (global.get $d))
  (func (export "e") (result i64) (global.get $e))
  (func (export "f") (result i64) (global.get $f))
  (func (export "j") (result i32) (global.get $j))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "call6") (result i32) (call_indirect (result i32) (i32.const 6)))
)
(assert_return (invoke "a") (i32.const 1024))
(assert_return (invoke "b") (i32.const 42))
(assert_return (invoke "c") (i32.const 0x80000000))
(assert_return (invoke "d") (i32.const 0))
(assert_return (invoke "e") (i64.const 19999999999))
(assert_return (invoke "f") (i64.const -1))
(assert_return (invoke "j") (i32.const 21))
(assert_return (invoke "load8" (i32.const 1004)) (i32.const 1))
(assert_return (invoke "load8" (i32.const 1005)) (i32.const 2))
(assert_return (invoke "load8" (i32.const 982)) (i32.const 42))
(assert_return (invoke "call6") (i32.const 7))

;; globals defined earlier in the module (wabt 1.0.32's text format does
;; not allow them yet, hence the binary):
;;   (memory (export "mem") 1)
;;   (global i32 (i32.const 1000))                                    ;; 0
;;   (global (export "g1") i32 (i32.add (global.get 0) (i32.const 24)))
;;   (global i64 (i64.const 5))                                       ;; 2
;;   (global (export "g3") i64 (i64.sub (i64.mul (global.get 2) (global.get 2)) (i64.const 1)))
;;   (global (export "g4") i32 (global.get 1))
;;   (data (i32.sub (global.get 1) (global.get 0)) (the byte 42))
(module $defined binary
  "\00\61\73\6d\01\00\00\00\05\03\01\00\01\06\24\05\7f\00\41\e8\07\0b\7f\00\23\00\41"
  "\18\6a\0b\7e\00\42\05\0b\7e\00\23\02\23\02\7e\42\01\7d\0b\7f\00\23\01\0b\07\16"
  "\04\02\67\31\03\01\02\67\33\03\03\02\67\34\03\04\03\6d\65\6d\02\00\0b\0a\01\00"
  "\23\01\23\00\6b\0b\01\2a")
(assert_return (get $defined "g1") (i32.const 1024))
(assert_return (get $defined "g3") (i64.const 24))
(assert_return (get $defined "g4") (i32.const 1024))
(register "defined" $defined)
(module
  (import "defined" "mem" (memory 1))
  (func (export "at24") (result i32) (i32.load8_u (i32.const 24))))
(assert_return (invoke "at24") (i32.const 42))

;; an offset computed past the memory's end: instantiation traps
(assert_trap
  (module (memory 1) (data (i32.add (i32.const 65535) (i32.const 1)) "a"))
  "out of bounds memory access")
(assert_trap
  (module (table 1 funcref) (func)
    (elem (i32.sub (i32.const 0) (i32.const 1)) func 0))
  "out of bounds table access")

;; validation
(assert_invalid
  (module (global i32 (i32.add (i32.const 1) (i64.const 2))))
  "type mismatch")
(assert_invalid
  (module (global i64 (i32.add (i32.const 1) (i32.const 2))))
  "type mismatch")
(assert_invalid
  (module (global i32 (i32.const 1) (i32.const 2)))
  "type mismatch")
(assert_invalid
  (module (global i32 (i32.const 1) (i32.add)))
  "type mismatch")
;; other arithmetic is still not constant
(assert_invalid
  (module (global i32 (i32.div_u (i32.const 1) (i32.const 2))))
  "constant expression required")
(assert_invalid
  (module (global i32 (i32.and (i32.const 1) (i32.const 2))))
  "constant expression required")
(assert_invalid
  (module (global f32 (f32.add (f32.const 1) (f32.const 2))))
  "constant expression required")
;; only globals defined before, and only immutable ones
(assert_invalid
  (module (global i32 (i32.add (global.get 1) (i32.const 1))) (global i32 (i32.const 0)))
  "unknown global")
(assert_invalid
  (module (global i32 (global.get 0)))
  "unknown global")
(assert_invalid
  (module (global $m (mut i32) (i32.const 0)) (global i32 (i32.add (global.get $m) (i32.const 1))))
  "constant expression required")
(assert_invalid
  (module (global $m (mut i32) (i32.const 0)) (memory 1) (data (global.get $m) ""))
  "constant expression required")
