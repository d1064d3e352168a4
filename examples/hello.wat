;; Calls a function the host provides.
(module
  (import "host" "hello" (func $hello (param i32)))
  (func (export "run")
    (call $hello (i32.const 42))))
