;; An active data segment that runs one byte past the end of memory.
(module
  (memory 1)
  (data (i32.const 65535) "ab"))
