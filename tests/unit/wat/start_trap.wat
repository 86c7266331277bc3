;; A start function that writes to an imported memory, then traps.
(module
  (import "env" "memory" (memory 1))
  (func $start
    i32.const 8
    i32.const 5
    i32.store
    unreachable)
  (start $start))
