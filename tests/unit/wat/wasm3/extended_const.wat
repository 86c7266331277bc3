;; An extended constant expression (test_wasm3.c: on by default, refused
;; with WEFT_FEATURE_EXTENDED_CONST off).
(module (global (export "g") i32 (i32.add (i32.const 40) (i32.const 2))))
