;; A memory of more than 65536 pages.
(module (memory 65537))
