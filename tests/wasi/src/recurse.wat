;; Unbounded recursion without touching linear memory: a call-stack overflow
;; ("call stack exhausted"), whose backtrace has thousands of frames.
(module $recurse
  (memory (export "memory") 1)
  (func $down (param $n i32) (result i32)
    (i32.add (call $down (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  (func $_start (export "_start") (drop (call $down (i32.const 0)))))
