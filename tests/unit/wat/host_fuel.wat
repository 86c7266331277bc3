;; A guest that calls a host function charging fuel for its own work.
(module
  (import "env" "work" (func $work (param i32) (result i32)))
  (func (export "run") (param $units i32) (result i32)
    (call $work (local.get $units))))
