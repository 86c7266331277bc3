;; cal_limits.wat — the store-level VMLimits (max_memory_pages,
;; max_stack_size): a Calimero module (it imports env.input) whose exports
;; grow memory and recurse with nine 8-byte slots a frame.
(module
  (import "env" "input" (func $input (param i64)))
  (memory (export "memory") 1)
  ;; memory.grow by n pages: the old size, or -1 past the limit
  (func (export "grow") (param i32) (result i32)
    local.get 0
    memory.grow)
  ;; depth n of recursion: n
  (func $rec (export "rec") (param i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      i32.const 1
      i32.sub
      call $rec
      i32.const 1
      i32.add
    end))
