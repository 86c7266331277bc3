;; br to a label depth that does not exist.
(module (func block br 2 end))
