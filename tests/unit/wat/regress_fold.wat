;; Regression modules for compiler rewrites that once went wrong.
(module
  (memory (export "memory") 1)
  (func (export "init") (i32.store (i32.const 0) (i32.const 4)))
  ;; store_const_at_sum(p): stores 7 at p + mem[0]. The address is an
  ;; i32.add whose second operand is a fresh temporary (the load) and the
  ;; value a constant: folding the add into the store once let the constant
  ;; overwrite that temporary before the store read it (7 went to p + 7).
  (func (export "store_const_at_sum") (param $p i32) (result i32)
    local.get $p
    i32.const 0
    i32.load
    i32.add
    i32.const 7
    i32.store
    local.get $p
    i32.load offset=4)
  ;; table_stubs(i): a br_table with 64 entries that all need the same
  ;; operand copies; the compiler emits one copy stub per target depth.
  (func (export "table_stubs") (param $i i32) (result i32)
    (block $out (result i32)
      (i32.const 11)
      (local.get $i)
      (i32.const 0) (drop)
      (br_table
        $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out
        $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out
        $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out
        $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out $out
        $out))))
