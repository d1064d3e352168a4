;; The "main" module: imports a function from linking2 and prints through the host.
(module
  (import "linking2" "double" (func $double (param i32) (result i32)))
  (import "host" "print" (func $print (param i32)))
  (func (export "run")
    (call $print (call $double (i32.const 21)))))
