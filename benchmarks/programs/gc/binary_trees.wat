;; binary-trees (the Computer Language Benchmarks Game), with GC structs.
;; run(n) builds and checks the game's trees for maximum depth n and returns a
;; checksum of every check value (the game prints them; here they are mixed).
(module
  (type $tree (struct (field $left (ref null $tree)) (field $right (ref null $tree))))

  (func $bottom_up (param $depth i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.gt_s (local.get $depth) (i32.const 0))
      (then
        (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
        (struct.new $tree (call $bottom_up (local.get $depth))
                          (call $bottom_up (local.get $depth))))
      (else (struct.new $tree (ref.null $tree) (ref.null $tree)))))

  (func $check (param $t (ref $tree)) (result i32)
    (local $l (ref null $tree))
    (local.set $l (struct.get $tree $left (local.get $t)))
    (if (result i32) (ref.is_null (local.get $l))
      (then (i32.const 1))
      (else
        (i32.add (i32.const 1)
          (i32.add (call $check (ref.as_non_null (local.get $l)))
                   (call $check (ref.as_non_null (struct.get $tree $right (local.get $t)))))))))

  (func $mix (param $h i64) (param $v i32) (result i64)
    (i64.mul (i64.xor (local.get $h) (i64.extend_i32_u (local.get $v)))
             (i64.const 1099511628211)))

  (func (export "run") (param $n i32) (result i64)
    (local $max i32) (local $depth i32) (local $iters i32) (local $i i32) (local $sum i32)
    (local $h i64) (local $long (ref null $tree))
    (local.set $h (i64.const 14695981039346656037))
    (local.set $max (select (local.get $n) (i32.const 6) (i32.gt_s (local.get $n) (i32.const 6))))
    ;; stretch tree
    (local.set $h (call $mix (local.get $h)
      (call $check (call $bottom_up (i32.add (local.get $max) (i32.const 1))))))
    (local.set $long (call $bottom_up (local.get $max)))
    (local.set $depth (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_s (local.get $depth) (local.get $max)))
        (local.set $iters (i32.shl (i32.const 1)
          (i32.add (i32.sub (local.get $max) (local.get $depth)) (i32.const 4))))
        (local.set $sum (i32.const 0))
        (local.set $i (i32.const 0))
        (loop $trees
          (local.set $sum (i32.add (local.get $sum)
            (call $check (call $bottom_up (local.get $depth)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $trees (i32.lt_s (local.get $i) (local.get $iters))))
        (local.set $h (call $mix (call $mix (local.get $h) (local.get $iters)) (local.get $sum)))
        (local.set $depth (i32.add (local.get $depth) (i32.const 2)))
        (br $depths)))
    (call $mix (local.get $h) (call $check (ref.as_non_null (local.get $long)))))
)
