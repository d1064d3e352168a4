;; A reactor with a command entry point: `nanoproc run` must call _initialize
;; first (as wasmtime does), so _start prints "initialized, then _start"; with
;; --invoke get, _initialize runs first too and get returns 42.
(module $reactor
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $answer (mut i32) (i32.const 0))
  (data (i32.const 16) "initialized, then _start\n")
  (data (i32.const 48) "_start without _initialize\n")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_initialize") (global.set $answer (i32.const 42)))
  (func (export "_start")
    (if (i32.eq (global.get $answer) (i32.const 42))
      (then (call $print (i32.const 16) (i32.const 25)))
      (else (call $print (i32.const 48) (i32.const 27)))))
  (func (export "get") (result i32) (global.get $answer)))
