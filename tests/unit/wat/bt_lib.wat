;; The library of trap_backtrace_across_instances_names_each_module: its own
;; memory (word 0 is 7) and a call chain that traps when its argument is 0.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\07\00\00\00")
  (func $inner (param i32) (result i32)   ;; 0
    local.get 0
    i32.eqz
    if
      unreachable
    end
    i32.const 0
    i32.load
    local.get 0
    i32.add)
  (func (export "deep") (param i32) (result i32)   ;; 1
    local.get 0
    call $inner))
