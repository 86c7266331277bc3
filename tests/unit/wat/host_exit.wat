;; "run" -> $mid -> env.exit: the host ends the whole call; the global
;; write after each call must never happen. "ok" ends normally.
(module
  (import "env" "exit" (func $exit (param i32)))
  (import "env" "block" (func $block (result i32)))
  (global $after (export "after") (mut i32) (i32.const 0))
  (func $mid (param i32)
    local.get 0
    call $exit
    i32.const 1
    global.set $after)
  (func (export "run") (param i32)
    local.get 0
    call $mid
    i32.const 2
    global.set $after)
  (func (export "wait") (result i32)
    call $block)
  (func (export "ok") (result i32) i32.const 1))
