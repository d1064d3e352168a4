;; A library module: exports a function and keeps a call counter.
(module
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func (export "double") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.mul (local.get 0) (i32.const 2))))
