;; A memory whose minimum (5 pages) is over the limits tests' cap of 4.
(module
  (memory 5))
