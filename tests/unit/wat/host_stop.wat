;; Calls env.stop, then loops forever: stop interrupts the store from inside
;; the callback, so the loop must end with an interrupt trap.
(module
  (import "env" "stop" (func $stop))
  (func (export "run")
    call $stop
    (loop br 0)))
