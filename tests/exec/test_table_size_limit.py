"""Table sizes at the extremes (issue 20): tables of 20,000,000 elements, which
wasmtime-py creates, are created and grown; past MAX_TABLE_ELEMENTS a table is
refused at instantiation with a clear error and table.grow returns -1."""

from __future__ import annotations

import pytest

import nanoproc
from nanoproc.internal.exec.entities import MAX_TABLE_ELEMENTS

wasmtime = pytest.importorskip("wasmtime")

N = 20_000_000
GROW = ('(module (table $t (export "t") 0 funcref) (func (export "g") (param i32) (result i32) '
        "(table.grow $t (ref.null func) (local.get 0))))")


def _interp() -> nanoproc.Engine:
    config = nanoproc.Config()
    config.strategy = "interp"
    return nanoproc.Engine(config)


def test_twenty_million_elements_like_wasmtime() -> None:
    for api, engine in ((wasmtime, wasmtime.Engine()), (nanoproc, _interp())):
        store = api.Store(engine)
        inst = api.Instance(store, api.Module(engine, f'(module (table (export "t") {N} funcref))'), [])
        assert inst.exports(store)["t"].size(store) == N
        del inst, store
        store = api.Store(engine)
        g = api.Instance(store, api.Module(engine, GROW), []).exports(store)["g"]
        assert g(store, N) == 0


def test_past_the_limit_refused_clearly() -> None:
    engine = _interp()
    store = nanoproc.Store(engine)
    module = nanoproc.Module(engine, f"(module (table {MAX_TABLE_ELEMENTS + 1} funcref))")
    with pytest.raises(nanoproc.WasmtimeError, match="larger than nanoproc can allocate"):
        nanoproc.Instance(store, module, [])
    g = nanoproc.Instance(store, nanoproc.Module(engine, GROW), []).exports(store)["g"]
    assert g(store, MAX_TABLE_ELEMENTS + 1) == -1
    assert g(store, 5) == 0  # the failed grow changed nothing
