;; The start function traps during instantiation: exit 3 with a backtrace.
(module
  (func $boom unreachable)
  (func $start_here call $boom)
  (start $start_here)
  (func (export "_start")))
