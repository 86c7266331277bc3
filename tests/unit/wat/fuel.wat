;; Endless and bounded loops for the fuel and interrupt tests.
(module
  (func $empty)
  (func (export "spin") (loop br 0))
  (func (export "spin_calls")
    (loop
      call $empty
      br 0))
  (func (export "sum") (param i32) (result i32) (local i32)
    (block
      (loop
        local.get 0
        i32.eqz
        br_if 1
        local.get 1
        local.get 0
        i32.add
        local.set 1
        local.get 0
        i32.const 1
        i32.sub
        local.set 0
        br 0))
    local.get 1)
  (func (export "ok") (result i32) i32.const 42))
