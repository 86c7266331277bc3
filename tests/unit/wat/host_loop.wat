;; Guest and host calling each other: "down" calls env.back, which may call
;; "down" again. Unbounded, only the call-depth limit stops it.
(module
  (import "env" "back" (func $back (param i32) (result i32)))
  (func (export "down") (param i32) (result i32)
    local.get 0
    call $back)
  (func (export "ok") (result i32) i32.const 1))
