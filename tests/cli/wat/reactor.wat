;; A WASI reactor: _initialize must run before an --invoke'd export.
(module
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") i32.const 1000 global.set $ready)
  (func (export "get") (param i32) (result i32)
    global.get $ready
    local.get 0
    i32.add)
  (func (export "mix") (param i32 i64 f32 f64) (result f64 i64 i32 f32)
    local.get 3
    local.get 1
    local.get 0
    local.get 2))
