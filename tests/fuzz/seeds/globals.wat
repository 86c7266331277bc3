;; Imported, exported, mutable and constant globals; an initializer that
;; reads an imported global.
(module
  (import "env" "base" (global $base i32))
  (import "env" "counter" (global $counter (mut i64)))
  (global $derived (export "derived") i32 (global.get $base))
  (global $m (export "m") (mut f64) (f64.const 2.5))
  (global $r (mut funcref) (ref.null func))
  (global $e (export "e") (mut externref) (ref.null extern))
  (func (export "bump") (result i64)
    (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
    (global.set $m (f64.mul (global.get $m) (f64.const 2)))
    (global.set $r (ref.null func))
    (global.get $counter)))
