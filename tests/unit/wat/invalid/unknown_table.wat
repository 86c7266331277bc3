;; call_indirect in a module without table.
(module (type (func)) (func i32.const 0 call_indirect (type 0)))
