"""The llvm tier's GC heap: what the collector frees and what it must keep.

Roots are Python's handles (API values, globals, tables, element segments) and the
native stack (scanned conservatively); host objects stored in GC objects are kept
until no live object refers to them. Each test forces collections (``Store.gc``,
or allocation pressure inside a call) and then checks values read back.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

import nanoproc  # noqa: E402
from nanoproc.internal.llvm.gcheap import MIN_THRESHOLD, PAGE  # noqa: E402

LIST = """(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $bytes (array (mut i8)))
  (global $keep (export "keep") (mut (ref null $node)) (ref.null $node))
  (table $t (export "t") 4 (ref null $node))
  (func $garbage (export "garbage") (param $n i32)
    (local $x (ref null $node)) (local $y (ref null $node))
    (loop $l
      (local.set $x (struct.new $node (local.get $n) (ref.null $node)))
      ;; a cycle, dropped at once
      (local.set $y (struct.new $node (i32.const 0) (local.get $x)))
      (struct.set $node $next (local.get $x) (local.get $y))
      (drop (array.new_default $bytes (i32.const 40)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  (func $build (export "build") (param $n i32) (result (ref null $node))
    (local $head (ref null $node))
    (loop $l
      (local.set $head (struct.new $node (local.get $n) (local.get $head)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $head))
  (func $sum (export "sum") (param $p (ref null $node)) (result i32) (local $s i32)
    (block $d (loop $l
      (br_if $d (ref.is_null (local.get $p)))
      (local.set $s (i32.add (local.get $s) (struct.get $node $v (local.get $p))))
      (local.set $p (struct.get $node $next (local.get $p)))
      (br $l)))
    (local.get $s))
  ;; the list lives only in a local (the native stack) while garbage forces collections
  (func (export "stack_root") (param $n i32) (result i32)
    (local $l (ref null $node))
    (local.set $l (call $build (local.get $n)))
    (call $garbage (i32.const 300000))
    (call $sum (local.get $l)))
  ;; the same, one list per frame of a recursion
  (func $rec (export "rec") (param $d i32) (result i32)
    (local $l (ref null $node))
    (if (result i32) (i32.eqz (local.get $d))
      (then (call $garbage (i32.const 100000)) (i32.const 0))
      (else
        (local.set $l (call $build (i32.const 10)))
        (i32.add (call $rec (i32.sub (local.get $d) (i32.const 1)))
                 (call $sum (local.get $l))))))
  (func (export "keep_global") (param $n i32) (global.set $keep (call $build (local.get $n))))
  (func (export "sum_global") (result i32) (call $sum (global.get $keep)))
  (func (export "keep_table") (param $i i32) (param $n i32)
    (table.set $t (local.get $i) (call $build (local.get $n))))
  (func (export "sum_table") (param $i i32) (result i32) (call $sum (table.get $t (local.get $i))))
)"""


def _setup(wat: str = LIST, imports: list[Any] | None = None) -> tuple[Any, Any, Any]:
    cfg = nanoproc.Config()
    cfg.strategy = "llvm"
    store = nanoproc.Store(nanoproc.Engine(cfg))
    inst = nanoproc.Instance(store, nanoproc.Module(store.engine, wat), imports or [])
    return store, inst.exports(store), store._state.heap


def test_garbage_and_cycles_are_reclaimed() -> None:
    store, x, heap = _setup()
    x["garbage"](store, 200_000)
    first = heap.stats()
    assert first["collections"] > 0
    x["garbage"](store, 1_000_000)  # five times as much
    after = heap.stats()
    assert after["collections"] > first["collections"]
    # the heap stays near the collection threshold, whatever was allocated
    assert after["pages"] * PAGE < 4 * MIN_THRESHOLD
    store.gc()
    assert heap.stats()["live"] < 4096


def test_native_stack_keeps_objects_alive() -> None:
    store, x, heap = _setup()
    assert x["stack_root"](store, 1000) == 1000 * 1001 // 2
    assert x["rec"](store, 50) == 50 * 55
    assert heap.stats()["collections"] > 0


def test_globals_tables_and_handles_keep_objects_alive() -> None:
    store, x, heap = _setup()
    x["keep_global"](store, 100)
    x["keep_table"](store, 2, 200)
    handle = x["build"](store, 300)
    assert isinstance(handle, nanoproc.StructRef)
    x["garbage"](store, 300_000)
    store.gc()
    assert x["sum_global"](store) == 5050
    assert x["sum_table"](store, 2) == 200 * 201 // 2
    assert x["sum"](store, handle) == 300 * 301 // 2
    live = heap.stats()["live"]
    # dropping the handle, the table entry and the global frees their lists
    del handle
    x["t"].set(store, 2, None)
    x["keep"].set_value(store, None)
    store.gc()
    assert heap.stats()["live"] < live // 10


def test_handles_are_one_per_object() -> None:
    store, x, _ = _setup()
    x["keep_global"](store, 3)
    a = x["keep"].value(store)
    b = x["keep"].value(store)
    assert a is b
    assert x["sum"](store, a) == 6


HOST = """(module
  (type $box (struct (field (mut externref)) (field (mut anyref))))
  (global $g (mut (ref null $box)) (ref.null $box))
  (func (export "put") (param externref) (param externref)
    (global.set $g (struct.new $box (local.get 0) (any.convert_extern (local.get 1)))))
  (func (export "get0") (result externref) (struct.get $box 0 (global.get $g)))
  (func (export "get1") (result externref) (extern.convert_any (struct.get $box 1 (global.get $g))))
  (func (export "clear") (global.set $g (ref.null $box)))
)"""


class Thing:
    pass


def test_host_objects_in_gc_objects_live_as_long_as_they() -> None:
    store, x, heap = _setup(HOST)
    a, b = Thing(), Thing()
    wa, wb = weakref.ref(a), weakref.ref(b)
    x["put"](store, a, b)
    del a, b
    gc.collect()
    store.gc()
    assert x["get0"](store) is wa() is not None
    assert x["get1"](store) is wb() is not None
    x["clear"](store)
    store.gc()
    gc.collect()
    assert wa() is None and wb() is None


def test_dead_store_handles_refuse_use() -> None:
    store, x, _ = _setup()
    handle = x["build"](store, 3)
    other, y, _ = _setup()
    with pytest.raises(nanoproc.WasmtimeError):
        y["sum"](other, handle)  # another store's object
    store.close()
    del store, x
    with pytest.raises(nanoproc.WasmtimeError):
        y["sum"](other, handle)
