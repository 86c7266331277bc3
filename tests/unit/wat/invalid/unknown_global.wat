;; global.get of a global that does not exist.
(module (global i32 (i32.const 0)) (func global.get 2 drop))
