;; Exports with unusual names: empty, non-ASCII, long, and look-alikes.
(module
  (func (export "") (result i32) (i32.const 0))
  (func (export "\00nul") (result i32) (i32.const 1))
  (func (export "héllo wörld ✓") (result i32) (i32.const 2))
  (func (export "a_rather_long_export_name_that_goes_on_and_on_and_on_for_a_while") (result i32) (i32.const 3))
  (func (export "memory") (result i32) (i32.const 4))
  (global (export "g") i32 (i32.const 5)))
