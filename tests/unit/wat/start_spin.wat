;; A start function that never returns: only fuel or an interrupt ends it.
(module
  (func $start (loop br 0))
  (start $start))
