"""Table: creation, growth, element access, externref tables."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture


def funcref_table(api, lo=1, hi=2, init=None):
    store = api.Store()
    return api.Table(store, api.TableType(api.ValType.funcref(), api.Limits(lo, hi)), init), store


def test_new(api):
    table, store = funcref_table(api)
    assert isinstance(table.type(store), api.TableType)
    assert table.type(store).limits == api.Limits(1, 2)
    assert table.size(store) == 1
    func = api.Func(store, api.FuncType([], []), lambda: None)
    api.Table(store, api.TableType(api.ValType.funcref(), api.Limits(1, 2)), func)


def test_grow(api):
    table, store = funcref_table(api)
    with pytest.raises(TypeError):
        table.grow(store, "x", None)
    with pytest.raises(TypeError):
        table.grow(store, 1, "x")
    assert table.grow(store, 1, None) == 1
    assert table.size(store) == 2
    with pytest.raises(api.WasmtimeError, match="failed to grow table"):
        table.grow(store, 1, None)
    assert table.type(store).limits == api.Limits(1, 2)


def test_get(api):
    table, store = funcref_table(api)
    assert table.get(store, 0) == None  # noqa: E711 - a Val of null, as wasmtime-py
    assert table.get(store, 1) is None  # out of bounds
    hits = []
    func = api.Func(store, api.FuncType([], []), lambda: hits.append(1))
    table.grow(store, 1, func)
    got = table.get(store, 1)
    assert isinstance(got, api.Func)
    got(store)
    assert hits == [1]


def test_set(api):
    table, store = funcref_table(api)
    func = api.Func(store, api.FuncType([], []), lambda: None)
    table.set(store, 0, func)
    assert isinstance(table.get(store, 0), api.Func)
    table.set(store, 0, None)
    assert table.get(store, 0) == None  # noqa: E711
    with pytest.raises(api.WasmtimeError):
        table.set(store, 1, func)
    with pytest.raises(TypeError):
        table.set(store, 0, 5)


def test_externref_table(api):
    store = api.Store()
    table = api.Table(store, api.TableType(api.ValType.externref(), api.Limits(10, None)), "init")
    assert [table.get(store, i) for i in range(10)] == ["init"] * 10
    table.grow(store, 2, "grown")
    table.set(store, 7, "lucky")
    values = [table.get(store, i) for i in range(12)]
    assert values == ["init"] * 7 + ["lucky"] + ["init"] * 2 + ["grown"] * 2
    table.set(store, 0, None)
    assert table.get(store, 0) == None  # noqa: E711


def test_non_reference_element_type(api):
    with pytest.raises(api.WasmtimeError):
        api.TableType(api.ValType.i32(), api.Limits(1, None))
