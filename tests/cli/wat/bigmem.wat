;; 100 pages (6.25 MiB) of memory: refused under --max-memory 1M.
(module
  (memory 100)
  (func (export "_start")))
