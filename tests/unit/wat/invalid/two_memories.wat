;; Two memories (multi-memory is not in WebAssembly 2.0).
(module (memory 1) (memory 1))
