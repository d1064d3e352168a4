;; An exceptions-heavy program, written the way C++ compilers lay out code for
;; Wasm exceptions (-fwasm-exceptions with exnref): every frame that owns
;; something has a cleanup landing pad (catch_all_ref, run the "destructor", then
;; throw_ref), errors are thrown deep in a recursion and caught near the top,
;; typed catches that do not match rethrow, and most calls return normally through
;; their try_tables. run(n) returns a checksum (i32).
(module
  (tag $err (param i32))           ;; an error code (like a thrown int)
  (tag $found (param i64 i32))     ;; a search result and its depth
  (memory 1)
  (global $live (mut i32) (i32.const 0))     ;; "objects" alive (constructed - destroyed)
  (global $destroyed (mut i32) (i32.const 0))

  ;; xorshift32
  (func $next (param $x i32) (result i32)
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))

  (func $construct (global.set $live (i32.add (global.get $live) (i32.const 1))))
  (func $destroy
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (global.set $destroyed (i32.add (global.get $destroyed) (i32.const 1))))

  ;; A recursive evaluator: each level owns an object (cleanup pad), and at the
  ;; bottom either returns a value or throws $err (about one call in three).
  (func $eval (param $depth i32) (param $seed i32) (result i32)
    (local $r i32)
    (call $construct)
    (block $cleanup (result exnref)
      (try_table (catch_all_ref $cleanup)
        (if (i32.eqz (local.get $depth))
          (then
            (if (i32.eqz (i32.rem_u (local.get $seed) (i32.const 3)))
              (then (throw $err (i32.and (local.get $seed) (i32.const 255)))))
            (local.set $r (i32.and (local.get $seed) (i32.const 1023))))
          (else
            (local.set $r
              (i32.add
                (call $eval (i32.sub (local.get $depth) (i32.const 1))
                            (call $next (local.get $seed)))
                (local.get $depth))))))
      (call $destroy)
      (return (local.get $r)))
    ;; the landing pad: destroy this frame's object, then go on unwinding
    (call $destroy)
    (throw_ref))

  ;; A backtracking search that reports its result by throwing $found from deep
  ;; inside; a frame in the middle catches it typed (catch_ref), looks at it and
  ;; rethrows what it does not want (throw_ref), as a C++ catch clause does.
  (func $search (param $depth i32) (param $x i32) (param $target i32)
    (local $i i32)
    (if (i32.eqz (local.get $depth))
      (then
        (if (i32.eq (i32.and (local.get $x) (i32.const 15)) (local.get $target))
          (then (throw $found (i64.extend_i32_u (local.get $x)) (local.get $depth))))
        (return)))
    (loop $try
      (call $search (i32.sub (local.get $depth) (i32.const 1))
                    (call $next (i32.add (local.get $x) (local.get $i)))
                    (local.get $target))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $try (i32.lt_u (local.get $i) (i32.const 3)))))

  (func $search_mid (param $x i32) (param $target i32) (result i64)
    (local $e exnref) (local $v i64)
    (block $caught (result i64 i32 exnref)
      (try_table (catch_ref $found $caught)
        (call $search (i32.const 4) (local.get $x) (local.get $target)))
      (return (i64.const -1)))
    (local.set $e)
    (drop)
    (local.set $v)
    ;; a catch clause for even results only: the odd ones go on (rethrown)
    (if (i64.eqz (i64.and (local.get $v) (i64.const 1)))
      (then (return (local.get $v))))
    (throw_ref (local.get $e)))

  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $seed i32) (local $sum i32) (local $d i32)
    (global.set $live (i32.const 0))
    (global.set $destroyed (i32.const 0))
    (local.set $seed (i32.const 2463534242))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $seed (call $next (local.get $seed)))
        ;; 1) the evaluator, errors caught at the top
        (local.set $sum
          (i32.add (local.get $sum)
            (block $e (result i32)
              (try_table (catch $err $e)
                (br $e (call $eval (i32.and (local.get $i) (i32.const 7)) (local.get $seed))))
              (unreachable))))
        ;; 2) the search: even results returned, odd ones caught here
        (local.set $sum
          (i32.add (local.get $sum)
            (block $ok (result i32)
              (block $f (result i64 i32)
                (try_table (catch $found $f)
                  (br $ok (i32.wrap_i64
                    (call $search_mid (local.get $seed)
                                      (i32.and (local.get $seed) (i32.const 15))))))
                (unreachable))
              (local.set $d)
              (i32.add (i32.mul (i32.wrap_i64) (i32.const 3)) (local.get $d)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.add (local.get $sum) (i32.mul (global.get $destroyed) (i32.const 31))))

  ;; ---- micro loops: one operation per iteration, n iterations

  (func $thrower (param $x i32) (result i32)
    (if (i32.ge_s (local.get $x) (i32.const 0)) (then (throw $err (local.get $x))))
    (local.get $x))
  (func $middle (param $x i32) (result i32)
    (i32.add (call $thrower (local.get $x)) (i32.const 1)))

  ;; throw two frames down, catch here
  (func (export "throw_catch") (param $n i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s)
        (block $h (result i32)
          (try_table (catch $err $h) (br $h (call $middle (local.get $n))))
          (unreachable))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))

  ;; the same, through a cleanup pad in between (catch_all_ref + throw_ref)
  (func $cleanup (param $x i32) (result i32)
    (block $pad (result exnref)
      (try_table (catch_all_ref $pad) (return (call $middle (local.get $x))))
      (unreachable))
    (call $destroy)
    (throw_ref))
  (func (export "rethrow") (param $n i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s)
        (block $h (result i32)
          (try_table (catch $err $h) (br $h (call $cleanup (local.get $n))))
          (unreachable))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))

  ;; a try_table entered and left without a throw
  (func (export "no_throw") (param $n i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s)
        (block $h (result i32)
          (try_table (catch $err $h) (br $h (call $middle (i32.const -5))))
          (unreachable))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
)
