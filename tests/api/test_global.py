"""Global: values, mutability, type errors."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture


def test_new(api):
    store = api.Store()
    ty = api.GlobalType(api.ValType.i32(), True)
    g = api.Global(store, ty, api.Val.i32(1))
    assert g.type(store).content == api.ValType.i32()
    assert g.type(store).mutable
    assert g.value(store) == 1
    g.set_value(store, api.Val.i32(2))
    assert g.value(store) == 2
    g.set_value(store, -5)
    assert g.value(store) == -5
    g.set_value(store, 0xFFFF_FFFF)
    assert g.value(store) == -1


def test_falsy_values(api):
    store = api.Store()
    g = api.Global(store, api.GlobalType(api.ValType.i64(), True), api.Val.i64(0))
    val = g.value(store)
    assert val == 0 and isinstance(val, int)


def test_floats(api):
    store = api.Store()
    g = api.Global(store, api.GlobalType(api.ValType.f32(), False), 1.1)
    assert g.value(store) == 1.100000023841858
    g = api.Global(store, api.GlobalType(api.ValType.f64(), False), 1.1)
    assert g.value(store) == 1.1


def test_errors(api):
    store = api.Store()
    ty = api.GlobalType(api.ValType.i32(), True)
    with pytest.raises(TypeError):
        api.Global(store, ty, store)
    with pytest.raises(TypeError):
        api.Global(store, 1, api.Val.i32(1))
    with pytest.raises(AttributeError):
        api.Global(1, ty, api.Val.i32(1))
    g = api.Global(store, ty, api.Val.i32(1))
    with pytest.raises(TypeError):
        g.set_value(store, g)
    with pytest.raises(TypeError):
        g.set_value(store, api.Val.i64(1))
    immutable = api.Global(store, api.GlobalType(api.ValType.i32(), False), api.Val.i32(1))
    with pytest.raises(api.WasmtimeError, match="immutable"):
        immutable.set_value(store, 1)


def test_externref_global(api):
    store = api.Store()
    g = api.Global(store, api.GlobalType(api.ValType.externref(), True), api.Val.externref("hello"))
    assert g.value(store) == "hello"
    g.set_value(store, "goodbye")
    assert g.value(store) == "goodbye"
    g.set_value(store, None)
    assert g.value(store) == None  # noqa: E711 - a Val of null, as wasmtime-py


def test_funcref_global(api):
    store = api.Store()
    f = api.Func(store, api.FuncType([], [api.ValType.i32()]), lambda: 7)
    g = api.Global(store, api.GlobalType(api.ValType.funcref(), True), f)
    assert g.value(store)(store) == 7
    g.set_value(store, None)
    assert isinstance(g.value(store), api.Val)
