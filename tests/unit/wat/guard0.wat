;; A memory of no pages that may grow to the most there is (65536 pages,
;; 4 GiB): loads at the edges before and after growing, in both tiers.
(module
  (memory (export "memory") 0 65536)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "load32") (param i32) (result i32) local.get 0 i32.load)
  (func (export "load32_off") (param i32) (result i32) local.get 0 i32.load offset=4)
  (func (export "store32") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
