"""A big module's function instances reused by its next instance (exec/funcpool.py):
only those nothing else holds, reset, so every instance behaves as a new one, in
every tier."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

import nanoproc
from nanoproc.internal.exec import funcpool

EXTRA = " ".join(f'(func (export "e{i}") (result i32) (i32.add (call $a) (i32.const {i})))'
                 for i in range(70))
WAT = """(module (memory (export "m") 1) (table 4 funcref) (elem (i32.const 0) $a $b)
  (global $g (mut i32) (i32.const 0))
  (func $a (result i32) (i32.load (i32.const 0)))
  (func $b (result i32) (call_indirect (result i32) (i32.const 0)))
  (func (export "c") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 10)))
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.add (global.get $g) (call_indirect (result i32) (i32.const 1))))
  """ + EXTRA + ")"
"""73 defined functions (over the straight allocator's 64): the table, the memory and
the global are per instance, so a function bound to an old instance gives away
the old state."""


def _strategies() -> list[str]:
    out = ["interp"]
    try:
        import llvmlite  # noqa: F401
    except ImportError:
        return out
    return out + ["llvm", "tiered"]


@pytest.fixture(autouse=True)
def _small_pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(funcpool, "MIN_FUNCS", 3)
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")  # tiered: units, records
    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "0")


def _engine(strategy: str) -> Any:
    config = nanoproc.Config()
    config.strategy = strategy
    return nanoproc.Engine(config)


def _run(module: Any) -> tuple[list[int], list[int], Any, Any]:
    store = nanoproc.Store(module.engine)
    inst = nanoproc.Instance(store, module, [])
    ex = inst.exports(store)
    out = [ex["c"](store), ex["c"](store), ex["e5"](store)]
    return out, [id(fi) for fi in inst._inst.funcs], store, inst


@pytest.mark.parametrize("strategy", _strategies())
def test_instances_reuse_released_functions(strategy: str) -> None:
    module = nanoproc.Module(_engine(strategy), WAT)
    out, first, store, inst = _run(module)
    pool = module._compiled.artifacts["plan"].pool  # (the plan: at the first Instance())
    assert out == [11, 22, 7] and pool.reused == 0
    del store, inst  # released: no GC needed
    for k in range(3):
        out, ids, store, inst = _run(module)
        assert out == [11, 22, 7]  # this instance's table, memory and global
        assert ids == first
        assert pool.reused == 73 * (k + 1)
        del store, inst
    gc.collect()


@pytest.mark.parametrize("strategy", _strategies())
def test_held_functions_are_not_reused(strategy: str) -> None:
    module = nanoproc.Module(_engine(strategy), WAT)
    store = nanoproc.Store(module.engine)
    inst = nanoproc.Instance(store, module, [])
    pool = module._compiled.artifacts["plan"].pool
    held = inst.exports(store)["e7"]  # an API Func: holds its function
    watched = inst._inst.funcs[20]  # e17
    watch = weakref.ref(watched)
    old = list(inst._inst.funcs)
    e7 = old.index(held._ext)
    ids = [id(fi) for fi in old]
    del watched, old, store, inst
    out, new_ids, store2, inst2 = _run(module)
    assert out == [11, 22, 7]
    assert pool.reused == 71  # all but the held one and the weakly referenced one
    assert e7 == 10 and new_ids[10] != ids[10] and new_ids[20] != ids[20]
    assert sum(a == b for a, b in zip(ids, new_ids)) == 71
    assert watch() is None  # not reused: replaced, so freed (a weak map would lose it)
    assert held._ext.instance is not inst2._inst  # still the old instance's
    del store2, inst2


def test_small_modules_do_not_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(funcpool, "MIN_FUNCS", 74)
    module = nanoproc.Module(_engine("interp"), WAT)
    out, _, store, inst = _run(module)
    assert out == [11, 22, 7]
    assert module._compiled.artifacts["plan"].pool is None
