;; Imports of every kind and many signatures, to exercise the stubs.
(module
  (import "env" "f0" (func $f0))
  (import "env" "f1" (func $f1 (param i32 i64 f32 f64) (result i32)))
  (import "env" "f2" (func $f2 (result i64 f64 externref funcref)))
  (import "env" "mem" (memory 1 2))
  (import "env" "tab" (table 2 funcref))
  (import "env" "etab" (table 1 externref))
  (import "env" "g" (global i32))
  (import "env" "gm" (global (mut f32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (func (export "go") (result i32)
    (call $f0)
    (drop (call $f1 (i32.const 1) (i64.const 2) (f32.const 3) (f64.const 4)))
    call $f2
    drop
    drop
    drop
    drop
    (i32.add (call $fd_write (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
             (global.get 0))))
