;; Two exports with the same name.
(module (func $f) (export "a" (func $f)) (export "a" (func $f)))
