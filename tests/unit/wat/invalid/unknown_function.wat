;; call of a function index past the end.
(module (func call 9))
