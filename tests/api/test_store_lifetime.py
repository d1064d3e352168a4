"""A store nobody holds is freed at once by reference counting, not by the cyclic GC,
and what the host kept of it (a memory's bytes, a view) stays usable as data."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

import nanoproc

WAT = """
(module
  (memory (export "memory") 1 4)
  (data (i32.const 16) "tenant data")
  (global (export "g") (mut i32) (i32.const 7))
  (table 2 funcref)
  (elem (i32.const 0) $a $b)
  (func $a (export "a") (result i32) (call $b))
  (func $b (export "b") (result i32) (i32.const 42))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))
"""


@pytest.fixture(params=["interp", "llvm"])
def engine(request):
    cfg = nanoproc.Config()
    cfg.strategy = request.param
    return nanoproc.Engine(cfg)


def _fresh(engine, module):
    """A new store with one instance of ``module``: (store, instance, its memory)."""
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    return store, inst, inst.exports(store)["memory"]


def _use(engine, module):
    store, inst, _ = _fresh(engine, module)
    ex = inst.exports(store)
    assert ex["a"](store) == 42
    assert ex["grow"](store) == 1
    state = weakref.ref(store._state)
    return store, inst, state


def test_dropped_store_is_freed_without_the_cycle_collector(engine):
    module = nanoproc.Module(engine, WAT)
    _use(engine, module)  # warm up: translation, caches
    gc.collect()
    gc.disable()
    try:
        store, inst, state = _use(engine, module)
        del store, inst
        assert state() is None, "the store's objects should not wait for the cyclic GC"
    finally:
        gc.enable()


def test_host_keeps_memory_bytes_after_store_dies(engine):
    module = nanoproc.Module(engine, WAT)
    store, inst, mem = _fresh(engine, module)
    data = bytes(mem.read(store, 16, 27))
    buf = memoryview(store._state.instances[0].memories[0].view)
    del store, inst, mem
    gc.collect()
    assert data == b"tenant data"
    assert bytes(buf[16:27]) == b"tenant data"  # the view still owns its bytes
    # a new store's memory is zero, never the old tenant's bytes
    store, inst, _ = _fresh(engine, module)
    assert inst.exports(store)["load"](store, 100) == 0
    assert bytes(buf[16:27]) == b"tenant data"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pooled reservations")
def test_released_memory_is_reused_zeroed_without_gc(engine):
    module = nanoproc.Module(engine, WAT)
    gc.collect()
    gc.disable()
    try:
        store, inst, mem = _fresh(engine, module)
        mem.write(store, b"\xee" * 4096, 1000)
        address = store._state.instances[0].memories[0].address()
        del store, inst, mem
        store, inst, mem = _fresh(engine, module)
        assert store._state.instances[0].memories[0].address() == address
        assert mem.read(store, 1000, 5096) == bytes(4096)
        assert mem.read(store, 16, 27) == b"tenant data"
    finally:
        gc.enable()


def test_closed_store_releases_and_refuses(engine):
    module = nanoproc.Module(engine, WAT)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    f = inst.exports(store)["b"]
    state = weakref.ref(store._state)
    store.close()
    with pytest.raises(ValueError):
        f(store)
    del inst, f
    assert state() is None


COMPONENT = """(component
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (memory (export "mem") 1)
    (func (export "make") (result i32) (call $new (i32.const 5)))
    (func (export "id") (param i32) (result i32) (local.get 0)))
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core instance $i (instantiate $m (with "" (instance (export "new" (func $new))))))
  (export $r2 "r" (type $r))
  (func (export "make") (result (own $r2)) (canon lift (core func $i "make")))
  (func (export "id") (param "x" u32) (result u32) (canon lift (core func $i "id")))
)"""


def _use_component(engine, component):
    import nanoproc.component as nc

    store = nanoproc.Store(engine)
    inst = nc.Linker(engine).instantiate(store, component)
    assert inst.get_func(store, "id")(store, 9) == 9
    res = inst.get_func(store, "make")(store)
    return store, inst, res, weakref.ref(store._state), weakref.ref(inst._inst)


def test_dropped_store_with_component_instances_is_freed_without_the_cycle_collector(engine):
    import nanoproc.component as nc

    component = nc.Component(engine, COMPONENT)
    _use_component(engine, component)  # warm up
    gc.collect()
    gc.disable()
    try:
        store, inst, res, state, cinst = _use_component(engine, component)
        del store, inst, res
        assert state() is None, "the store's objects should not wait for the cyclic GC"
        assert cinst() is None, "a component instance should not wait for the cyclic GC"
        # and a closed store frees its component instances too
        store, inst, res, state, cinst = _use_component(engine, component)
        store.close()
        with pytest.raises(ValueError):
            inst.get_func(store, "id")
        del inst, res
        assert cinst() is None
        del store
        assert state() is None
    finally:
        gc.enable()
