;; br_if past the function label.
(module (func i32.const 1 br_if 1))
