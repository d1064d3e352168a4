"""externref and funcref values through Wasm code."""

from __future__ import annotations

import gc

import pytest
from api_helpers import api_fixture, instantiate  # noqa: F401 - the api fixture


class SetHitOnDrop:
    def __init__(self, flags):
        flags["hit"] = False
        self.flags = flags

    def __del__(self):
        self.flags["hit"] = True


def test_externref_round_trip(api):
    instance, store = instantiate(api, """
        (module
            (func (export "f") (param externref) (result externref) local.get 0)
            (func (export "null") (result externref) ref.null extern))
    """)
    assert instance.exports(store)["null"](store) is None
    f = instance.exports(store)["f"]
    for obj in [42, True, False, None, "Hello", {"x": 1}, [12, 13, 14], api.Config()]:
        assert api.Val.externref(obj).value is obj
        assert f(store, api.Val.externref(obj)) is obj
        assert f(store, obj) is obj


def test_externref_from_host_function(api):
    store = api.Store()
    linker = api.Linker(store.engine)
    ty = api.FuncType([api.ValType.externref()], [api.ValType.externref()])
    linker.define_func("env", "id", ty, lambda x: x)
    module = api.Module(store.engine, """
        (module (import "env" "id" (func $id (param externref) (result externref)))
                (export "test" (func $id)))
    """)
    f = linker.instantiate(store, module).exports(store)["test"]
    assert f(store, 5) == 5
    assert f(store, 5.7) == 5.7


def test_externref_is_released(api):
    instance, store = instantiate(api, '(module (func (export "f") (param externref)))')
    flags = {}
    instance.exports(store)["f"](store, SetHitOnDrop(flags))
    store.gc()
    gc.collect()
    assert flags["hit"]


def test_externref_in_global_is_released(api):
    store = api.Store()
    flags = {}
    g = api.Global(store, api.GlobalType(api.ValType.externref(), True), api.Val.externref(SetHitOnDrop(flags)))
    assert not flags["hit"]
    g.set_value(store, None)
    store.gc()
    gc.collect()
    assert flags["hit"]


def test_funcref_round_trip(api):
    instance, store = instantiate(api, """
        (module
            (func (export "f") (param funcref) (result funcref) local.get 0)
            (func (export "null") (result funcref) ref.null func))
    """)
    assert instance.exports(store)["null"](store) is None
    g = api.Func(store, api.FuncType([], [api.ValType.i32()]), lambda: 42)
    assert api.Val.funcref(g).as_funcref()(store) == 42
    back = instance.exports(store)["f"](store, api.Val.funcref(g))
    assert isinstance(back, api.Func) and back(store) == 42
    assert instance.exports(store)["f"](store, g)(store) == 42


def test_call_indirect_of_host_function(api):
    store = api.Store()
    module = api.Module(store.engine, """
        (module (type $t (func (param i32) (result i32)))
                (table (export "t") 2 funcref)
                (func (export "call") (param i32 i32) (result i32)
                    (call_indirect (type $t) (local.get 1) (local.get 0))))
    """)
    ex = api.Instance(store, module, []).exports(store)
    double = api.Func(store, api.FuncType([api.ValType.i32()], [api.ValType.i32()]), lambda x: 2 * x)
    ex["t"].set(store, 1, double)
    assert ex["call"](store, 1, 21) == 42
    with pytest.raises(api.Trap):
        ex["call"](store, 0, 1)
