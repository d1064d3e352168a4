;; A trap three calls deep, in a module with names for its backtrace.
(module $example
  (func $divide (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))
  (func $average (param $sum i32) (param $count i32) (result i32)
    (call $divide (local.get $sum) (local.get $count)))
  (func (export "run") (param i32) (result i32)
    (call $average (i32.const 100) (local.get 0))))
