;; call_indirect naming a type index past the end.
(module (table 1 funcref) (func i32.const 0 call_indirect (type 7)))
