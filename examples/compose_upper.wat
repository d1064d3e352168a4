;; Exports `upper: func(s: string) -> string` (ASCII upper case), keeping its
;; strings as latin1+utf16 in its own memory.
(component
  (core module $m
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $r) (local.get 3)))
      (local.get $r))
    (func (export "upper") (param $p i32) (param $n i32) (result i32)
      (local $i i32) (local $c i32)
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
          (then (i32.store8 (i32.add (local.get $p) (local.get $i))
                            (i32.sub (local.get $c) (i32.const 32)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20) (local.get $n))
      (i32.const 16)))
  (core instance $i (instantiate $m))
  (func (export "upper") (param "s" string) (result string)
    (canon lift (core func $i "upper") string-encoding=latin1+utf16
      (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
)
