;; A component targeting the `greeter` world of greeter.wit: it imports
;; `example:greeter/host` and exports `greet`. Hand-written component text.
(component
  (type $host-type (instance
    (type $level' (enum "info" "warn"))
    (export "level" (type $level (eq $level')))
    (export "name" (func (result string)))
    (export "log" (func (param "level" $level) (param "msg" string)))))
  (import "example:greeter/host" (instance $host (type $host-type)))
  (alias export $host "name" (func $name))
  (alias export $host "log" (func $log))

  ;; memory and a bump allocator
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $r) (local.get 3)))
      (local.get $r)))
  (core instance $libc (instantiate $libc))
  (core func $name' (canon lower (func $name)
    (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (core func $log' (canon lower (func $log) (memory (core memory $libc "mem"))))

  (core module $main
    (import "" "mem" (memory 1))
    (import "" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "host" "name" (func $name (param i32)))
    (import "host" "log" (func $log (param i32 i32 i32)))
    (data (i32.const 64) "Hello, ")
    (data (i32.const 71) "!")
    (func (export "greet") (result i32)
      (local $p i32) (local $n i32) (local $out i32)
      ;; the name: the host writes (ptr, len) at 16
      (call $name (i32.const 16))
      (local.set $p (i32.load (i32.const 16)))
      (local.set $n (i32.load (i32.const 20)))
      ;; "Hello, " + name + "!"
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
                                     (i32.add (local.get $n) (i32.const 8))))
      (memory.copy (local.get $out) (i32.const 64) (i32.const 7))
      (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $p) (local.get $n))
      (memory.copy (i32.add (i32.add (local.get $out) (i32.const 7)) (local.get $n))
                   (i32.const 71) (i32.const 1))
      (call $log (i32.const 0) (local.get $out) (i32.add (local.get $n) (i32.const 8)))
      (i32.store (i32.const 24) (local.get $out))
      (i32.store (i32.const 28) (i32.add (local.get $n) (i32.const 8)))
      (i32.const 24)))
  (core instance $main (instantiate $main
    (with "" (instance (export "mem" (memory $libc "mem"))
                       (export "realloc" (func $libc "realloc"))))
    (with "host" (instance (export "name" (func $name')) (export "log" (func $log'))))))
  (func (export "greet") (result string)
    (canon lift (core func $main "greet") (memory (core memory $libc "mem"))))
)
