;; A module whose only import no test ever defines.
(module
  (import "env" "missing_fn" (func (param i32))))
