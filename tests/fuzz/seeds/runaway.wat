;; Code that never ends on its own: an endless loop, endless recursion,
;; mutual recursion and a loop that keeps growing memory.
(module
  (memory 1)
  (func (export "spin") (loop (br 0)))
  (func $rec (export "rec") (param i32) (result i32)
    (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func $ping (param i32) (result i32) (call $pong (local.get 0)))
  (func $pong (param i32) (result i32) (call $ping (local.get 0)))
  (func (export "mutual") (result i32) (call $ping (i32.const 0)))
  (func (export "grow_forever")
    (loop (drop (memory.grow (i32.const 1))) (br 0))))
