;; A module with no imports and one export: `weft run --invoke answer` prints 42.
(module
  (func (export "answer") (result i32) i32.const 42))
