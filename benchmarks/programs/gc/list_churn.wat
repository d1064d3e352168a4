;; list_churn: what compiled object-oriented code does all day. run(n) allocates n
;; boxed values and n small nodes, keeps the last 256 in a ring (an array of anyref,
;; so reads cast back), and checksums values read through casts, i31 boxes and a
;; virtual call through a struct-held function reference.
(module
  (type $box (sub (struct (field $v i64))))
  (type $ibox (sub final $box (struct (field $v i64) (field $tag i32))))
  (type $getter (func (param (ref $box)) (result i64)))
  (type $node (struct (field $val (ref $box)) (field $next (mut (ref null $node)))
                      (field $get (ref $getter))))
  (type $ring (array (mut anyref)))

  (elem declare func $get_plain $get_tagged)
  (func $get_plain (type $getter) (struct.get $box $v (local.get 0)))
  (func $get_tagged (type $getter)
    (i64.add (struct.get $box $v (local.get 0))
             (i64.extend_i32_u (struct.get $ibox $tag (ref.cast (ref $ibox) (local.get 0))))))

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $h i64) (local $ring (ref $ring)) (local $prev (ref null $node))
    (local $node (ref $node)) (local $slot i32) (local $old anyref) (local $b (ref $box))
    (local.set $ring (array.new_default $ring (i32.const 256)))
    (local.set $h (i64.const 14695981039346656037))
    (loop $l
      (local.set $slot (i32.and (local.get $i) (i32.const 255)))
      ;; read what the slot held 256 iterations ago
      (local.set $old (array.get $ring (local.get $ring) (local.get $slot)))
      (if (ref.test (ref $node) (local.get $old))
        (then
          (local.set $node (ref.cast (ref $node) (local.get $old)))
          (local.set $h (i64.mul (i64.xor (local.get $h)
            (call_ref $getter (struct.get $node $val (local.get $node))
                              (struct.get $node $get (local.get $node))))
            (i64.const 1099511628211))))
        (else
          (if (ref.test (ref i31) (local.get $old))
            (then (local.set $h (i64.add (local.get $h)
                    (i64.extend_i32_u (i31.get_u (ref.cast (ref i31) (local.get $old))))))))))
      ;; a new box and node, linked to the previous node (a chain the ring keeps short)
      (local.set $b
        (if (result (ref $box)) (i32.and (local.get $i) (i32.const 1))
          (then (struct.new $ibox (i64.extend_i32_u (local.get $i)) (local.get $slot)))
          (else (struct.new $box (i64.mul (i64.extend_i32_u (local.get $i)) (i64.const 3))))))
      (local.set $node (struct.new $node (local.get $b) (local.get $prev)
        (if (result (ref $getter)) (i32.and (local.get $i) (i32.const 1))
          (then (ref.func $get_tagged)) (else (ref.func $get_plain)))))
      (if (i32.eqz (ref.is_null (local.get $prev))) (then (struct.set $node $next (ref.as_non_null (local.get $prev))
                                    (ref.null $node))))
      (local.set $prev (local.get $node))
      (array.set $ring (local.get $ring) (local.get $slot)
        (if (result anyref) (i32.eqz (i32.rem_u (local.get $i) (i32.const 7)))
          (then (ref.i31 (local.get $i))) (else (local.get $node))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $h))
)
