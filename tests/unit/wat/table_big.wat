;; A table whose minimum (20) is over the limits tests' cap of 10.
(module
  (table 20 funcref))
