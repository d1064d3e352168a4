"""GC modules under the tiered strategy: a module that declares struct or array types
runs on the llvm tier from its first call (GC objects are native there and Python
objects in the interp tier; a store holds one kind), while other modules of the
store start on the interp tier and pass GC values through unharmed."""

from __future__ import annotations

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

import nanoproc  # noqa: E402
from nanoproc.internal.llvm.gcheap import NativeHeap  # noqa: E402
from nanoproc.internal.tiered.backend import TieredBackend  # noqa: E402

GC = """(module
  (type $p (struct (field $x i32) (field $y i32)))
  (global $origin (export "origin") (ref $p) (struct.new $p (i32.const 0) (i32.const 0)))
  (func (export "make") (param i32 i32) (result anyref) (struct.new $p (local.get 0) (local.get 1)))
  (func (export "sum") (param anyref) (result i32)
    (local $q (ref $p))
    (local.set $q (ref.cast (ref $p) (local.get 0)))
    (i32.add (struct.get $p $x (local.get $q)) (struct.get $p $y (local.get $q))))
  (func (export "is_i31") (param anyref) (result i32) (ref.test i31ref (local.get 0)))
)"""

PASS = """(module
  (import "gc" "make" (func $make (param i32 i32) (result anyref)))
  (import "gc" "sum" (func $sum (param anyref) (result i32)))
  (func (export "twice") (param i32) (result i32)
    (local $a anyref)
    (local.set $a (call $make (local.get 0) (local.get 0)))
    (i32.add (call $sum (local.get $a)) (call $sum (local.get $a))))
  (func (export "id") (param anyref) (result anyref) (local.get 0))
)"""


def test_gc_modules_run_natively_from_the_start() -> None:
    config = nanoproc.Config()
    config.strategy = "tiered"
    engine = nanoproc.Engine(config)
    assert isinstance(engine.backend, TieredBackend)
    store = nanoproc.Store(engine)
    linker = nanoproc.Linker(engine)
    gc_inst = linker.instantiate(store, nanoproc.Module(engine, GC))
    linker.define_instance(store, "gc", gc_inst)
    pass_inst = linker.instantiate(store, nanoproc.Module(engine, PASS))
    assert isinstance(store._state.heap, NativeHeap)
    gx = gc_inst.exports(store)
    px = pass_inst.exports(store)
    # the interp-tier module passes native objects through
    assert px["twice"](store, 5) == 20
    p = gx["make"](store, 3, 4)
    assert isinstance(p, nanoproc.StructRef)
    assert px["id"](store, p) is p
    assert gx["sum"](store, px["id"](store, p)) == 7
    assert gx["is_i31"](store, px["id"](store, nanoproc.I31(9))) == 1
    assert gx["sum"](store, gx["origin"].value(store)) == 0
