;; A caller with no memory and no exports but "run".
(module
  (import "env" "probe" (func $probe))
  (func (export "run") call $probe))
