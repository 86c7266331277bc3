;; Direct calls between compiled functions (docs/jit.md "Direct calls"),
;; against the interpreter (test_jit.c, jit_direct_calls_*): what a direct
;; call still does for its callee and what it left to others.
;;   fresh n      a callee's locals read before written are zero though
;;                the callee before it at the same slots left junk there
;;                (the zero_mask stores); fresh_big n the same with 80
;;                locals (past the 64 tracked: the run zeroed after them)
;;   mixed n      recursion n deep, every fourth call through call_indirect
;;                (a helper, which needs s->depth written out) and the rest
;;                direct: the depth limit falls on the same call
;;   oob_deep n   n direct calls deep, an out-of-bounds load in a leaf:
;;                the backtrace names each function (trap stubs and the
;;                guard fault handler pass the function's index)
(module
  (type $ii (func (param i32) (result i32)))
  (memory 1)
  (table 1 funcref)
  (elem (i32.const 0) $mixed)

  (func $scribble (param i32) (result i32) (local i64 i64 i64 i64 f64)
    local.get 0
    i64.extend_i32_u
    i64.const 0x5555
    i64.or
    local.tee 1
    local.tee 2
    local.set 3
    i64.const -1
    local.set 4
    f64.const 3.5
    local.set 5
    i32.const 7)
  ;; local 1 read before any write; local 2 written first; local 3 read
  ;; before written on one path only; local 4 and 5 read unwritten
  (func $reader (param i32) (result i32) (local i64 i64 i64 i64 f64)
    i64.const 9
    local.set 2
    local.get 0
    if
      i64.const 100
      local.set 3
    end
    local.get 1
    local.get 2
    i64.add
    local.get 3
    i64.add
    local.get 4
    i64.add
    local.get 5
    i64.reinterpret_f64
    i64.add
    i32.wrap_i64)
  (func (export "fresh") (param i32) (result i32)
    local.get 0
    call $scribble
    drop
    local.get 0
    call $reader)

  (func $scribble_big (param i32) (result i32) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 0
    i64.extend_i32_u
    i64.const 4369
    i64.add
    local.set 1
    local.get 0
    i64.extend_i32_u
    i64.const 8738
    i64.add
    local.set 2
    local.get 0
    i64.extend_i32_u
    i64.const 13107
    i64.add
    local.set 3
    local.get 0
    i64.extend_i32_u
    i64.const 17476
    i64.add
    local.set 4
    local.get 0
    i64.extend_i32_u
    i64.const 21845
    i64.add
    local.set 5
    local.get 0
    i64.extend_i32_u
    i64.const 26214
    i64.add
    local.set 6
    local.get 0
    i64.extend_i32_u
    i64.const 30583
    i64.add
    local.set 7
    local.get 0
    i64.extend_i32_u
    i64.const 34952
    i64.add
    local.set 8
    local.get 0
    i64.extend_i32_u
    i64.const 39321
    i64.add
    local.set 9
    local.get 0
    i64.extend_i32_u
    i64.const 43690
    i64.add
    local.set 10
    local.get 0
    i64.extend_i32_u
    i64.const 48059
    i64.add
    local.set 11
    local.get 0
    i64.extend_i32_u
    i64.const 52428
    i64.add
    local.set 12
    local.get 0
    i64.extend_i32_u
    i64.const 56797
    i64.add
    local.set 13
    local.get 0
    i64.extend_i32_u
    i64.const 61166
    i64.add
    local.set 14
    local.get 0
    i64.extend_i32_u
    i64.const 65535
    i64.add
    local.set 15
    local.get 0
    i64.extend_i32_u
    i64.const 69904
    i64.add
    local.set 16
    local.get 0
    i64.extend_i32_u
    i64.const 74273
    i64.add
    local.set 17
    local.get 0
    i64.extend_i32_u
    i64.const 78642
    i64.add
    local.set 18
    local.get 0
    i64.extend_i32_u
    i64.const 83011
    i64.add
    local.set 19
    local.get 0
    i64.extend_i32_u
    i64.const 87380
    i64.add
    local.set 20
    local.get 0
    i64.extend_i32_u
    i64.const 91749
    i64.add
    local.set 21
    local.get 0
    i64.extend_i32_u
    i64.const 96118
    i64.add
    local.set 22
    local.get 0
    i64.extend_i32_u
    i64.const 100487
    i64.add
    local.set 23
    local.get 0
    i64.extend_i32_u
    i64.const 104856
    i64.add
    local.set 24
    local.get 0
    i64.extend_i32_u
    i64.const 109225
    i64.add
    local.set 25
    local.get 0
    i64.extend_i32_u
    i64.const 113594
    i64.add
    local.set 26
    local.get 0
    i64.extend_i32_u
    i64.const 117963
    i64.add
    local.set 27
    local.get 0
    i64.extend_i32_u
    i64.const 122332
    i64.add
    local.set 28
    local.get 0
    i64.extend_i32_u
    i64.const 126701
    i64.add
    local.set 29
    local.get 0
    i64.extend_i32_u
    i64.const 131070
    i64.add
    local.set 30
    local.get 0
    i64.extend_i32_u
    i64.const 135439
    i64.add
    local.set 31
    local.get 0
    i64.extend_i32_u
    i64.const 139808
    i64.add
    local.set 32
    local.get 0
    i64.extend_i32_u
    i64.const 144177
    i64.add
    local.set 33
    local.get 0
    i64.extend_i32_u
    i64.const 148546
    i64.add
    local.set 34
    local.get 0
    i64.extend_i32_u
    i64.const 152915
    i64.add
    local.set 35
    local.get 0
    i64.extend_i32_u
    i64.const 157284
    i64.add
    local.set 36
    local.get 0
    i64.extend_i32_u
    i64.const 161653
    i64.add
    local.set 37
    local.get 0
    i64.extend_i32_u
    i64.const 166022
    i64.add
    local.set 38
    local.get 0
    i64.extend_i32_u
    i64.const 170391
    i64.add
    local.set 39
    local.get 0
    i64.extend_i32_u
    i64.const 174760
    i64.add
    local.set 40
    local.get 0
    i64.extend_i32_u
    i64.const 179129
    i64.add
    local.set 41
    local.get 0
    i64.extend_i32_u
    i64.const 183498
    i64.add
    local.set 42
    local.get 0
    i64.extend_i32_u
    i64.const 187867
    i64.add
    local.set 43
    local.get 0
    i64.extend_i32_u
    i64.const 192236
    i64.add
    local.set 44
    local.get 0
    i64.extend_i32_u
    i64.const 196605
    i64.add
    local.set 45
    local.get 0
    i64.extend_i32_u
    i64.const 200974
    i64.add
    local.set 46
    local.get 0
    i64.extend_i32_u
    i64.const 205343
    i64.add
    local.set 47
    local.get 0
    i64.extend_i32_u
    i64.const 209712
    i64.add
    local.set 48
    local.get 0
    i64.extend_i32_u
    i64.const 214081
    i64.add
    local.set 49
    local.get 0
    i64.extend_i32_u
    i64.const 218450
    i64.add
    local.set 50
    local.get 0
    i64.extend_i32_u
    i64.const 222819
    i64.add
    local.set 51
    local.get 0
    i64.extend_i32_u
    i64.const 227188
    i64.add
    local.set 52
    local.get 0
    i64.extend_i32_u
    i64.const 231557
    i64.add
    local.set 53
    local.get 0
    i64.extend_i32_u
    i64.const 235926
    i64.add
    local.set 54
    local.get 0
    i64.extend_i32_u
    i64.const 240295
    i64.add
    local.set 55
    local.get 0
    i64.extend_i32_u
    i64.const 244664
    i64.add
    local.set 56
    local.get 0
    i64.extend_i32_u
    i64.const 249033
    i64.add
    local.set 57
    local.get 0
    i64.extend_i32_u
    i64.const 253402
    i64.add
    local.set 58
    local.get 0
    i64.extend_i32_u
    i64.const 257771
    i64.add
    local.set 59
    local.get 0
    i64.extend_i32_u
    i64.const 262140
    i64.add
    local.set 60
    local.get 0
    i64.extend_i32_u
    i64.const 266509
    i64.add
    local.set 61
    local.get 0
    i64.extend_i32_u
    i64.const 270878
    i64.add
    local.set 62
    local.get 0
    i64.extend_i32_u
    i64.const 275247
    i64.add
    local.set 63
    local.get 0
    i64.extend_i32_u
    i64.const 279616
    i64.add
    local.set 64
    local.get 0
    i64.extend_i32_u
    i64.const 283985
    i64.add
    local.set 65
    local.get 0
    i64.extend_i32_u
    i64.const 288354
    i64.add
    local.set 66
    local.get 0
    i64.extend_i32_u
    i64.const 292723
    i64.add
    local.set 67
    local.get 0
    i64.extend_i32_u
    i64.const 297092
    i64.add
    local.set 68
    local.get 0
    i64.extend_i32_u
    i64.const 301461
    i64.add
    local.set 69
    local.get 0
    i64.extend_i32_u
    i64.const 305830
    i64.add
    local.set 70
    local.get 0
    i64.extend_i32_u
    i64.const 310199
    i64.add
    local.set 71
    local.get 0
    i64.extend_i32_u
    i64.const 314568
    i64.add
    local.set 72
    local.get 0
    i64.extend_i32_u
    i64.const 318937
    i64.add
    local.set 73
    local.get 0
    i64.extend_i32_u
    i64.const 323306
    i64.add
    local.set 74
    local.get 0
    i64.extend_i32_u
    i64.const 327675
    i64.add
    local.set 75
    local.get 0
    i64.extend_i32_u
    i64.const 332044
    i64.add
    local.set 76
    local.get 0
    i64.extend_i32_u
    i64.const 336413
    i64.add
    local.set 77
    local.get 0
    i64.extend_i32_u
    i64.const 340782
    i64.add
    local.set 78
    local.get 0
    i64.extend_i32_u
    i64.const 345151
    i64.add
    local.set 79
    local.get 0
    i64.extend_i32_u
    i64.const 349520
    i64.add
    local.set 80
    i32.const 0)
  (func $reader_big (param i32) (result i32) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 0
    i64.extend_i32_u
    local.get 1
    i64.add
    local.get 3
    i64.add
    local.get 60
    i64.add
    local.get 64
    i64.add
    local.get 65
    i64.add
    local.get 66
    i64.add
    local.get 70
    i64.add
    local.get 79
    i64.add
    local.get 80
    i64.add
    i32.wrap_i64)
  (func (export "fresh_big") (param i32) (result i32)
    local.get 0
    call $scribble_big
    drop
    local.get 0
    call $reader_big)

  (func $mixed (export "mixed") (param i32) (result i32)
    local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      i32.const 3
      i32.and
      if (result i32)
        local.get 0
        i32.const 1
        i32.sub
        call $mixed
      else
        local.get 0
        i32.const 1
        i32.sub
        i32.const 0
        call_indirect (type $ii)
      end
      i32.const 1
      i32.add
    end)

  (func $leaf (param i32) (result i32)
    local.get 0
    i32.const 65536
    i32.add
    i32.load)
  (func $middle (param i32) (result i32)
    local.get 0
    i32.eqz
    if (result i32)
      local.get 0
      call $leaf
    else
      local.get 0
      i32.const 1
      i32.sub
      call $middle
      i32.const 1
      i32.add
    end)
  (func (export "oob_deep") (param i32) (result i32)
    local.get 0
    call $middle))
