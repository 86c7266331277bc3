;; A start function that takes a parameter.
(module (func $f (param i32)) (start $f))
