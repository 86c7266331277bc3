;; A memory whose minimum exceeds its maximum.
(module (memory 2 1))
