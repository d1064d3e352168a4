;; Micro-benchmark module: trivial exports for measuring the cost of calls
;; from Python and of Store + instantiate + one call. It has a memory with a
;; data segment, a mutable global and a table so instantiation does real work.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "nanoproc micro-benchmark module")
  (global $calls (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $nop $add)
  (func $nop (export "nop"))
  (func $add (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "count") (result i32)
    global.get $calls
    i32.const 1
    i32.add
    global.set $calls
    global.get $calls))
