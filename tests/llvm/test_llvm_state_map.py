"""The llvm tier's vmctx -> instance-state map: weak (a store the host's closures hold
in a cycle stays collectable), and an entry leaves with its state only."""

from __future__ import annotations

import gc

import pytest

pytest.importorskip("llvmlite")

import nanoproc  # noqa: E402
from nanoproc.internal.llvm.hostcall import INSTANCES, _StateMap  # noqa: E402

WAT = """(module
  (import "" "f" (func $f (result i32)))
  (memory 1)
  (func (export "run") (result i32) (call $f)))"""


class _State:
    """Stands for an instance state (weakly referenceable)."""


def _engine() -> nanoproc.Engine:
    cfg = nanoproc.Config()
    cfg.strategy = "llvm"
    return nanoproc.Engine(cfg)


def _instance_in_a_cycle(engine: nanoproc.Engine, module: nanoproc.Module) -> int:
    """Instantiate ``module`` in a store its host function holds (a cycle only the
    collector frees); returns the instance's vmctx."""
    store = nanoproc.Store(engine)
    box: list[object] = []
    func = nanoproc.Func(store, nanoproc.FuncType([], [nanoproc.ValType.i32()]),
                         lambda: len(box))  # fmt: skip
    box.append((store, func))
    inst = nanoproc.Instance(store, module, [func])
    assert inst.exports(store)["run"](store) == 1
    state = inst._inst.tier_state
    assert INSTANCES.get(state.vmctx) is state
    return int(state.vmctx)


def test_states_of_a_store_held_in_a_cycle_leave_the_map() -> None:
    engine = _engine()
    module = nanoproc.Module(engine, WAT)
    gc.collect()
    before = len(INSTANCES)
    vms = [_instance_in_a_cycle(engine, module) for _ in range(5)]
    assert len(INSTANCES) >= before + 1
    gc.collect()
    assert len(INSTANCES) == before
    assert all(INSTANCES.get(v) is None for v in vms)


def test_an_entry_leaves_with_its_own_state_only() -> None:
    m = _StateMap()
    a, b = _State(), _State()
    m[1] = a
    assert m.get(1) is a
    m[1] = b  # the key taken by another state while the first lives
    del a
    gc.collect()
    assert m.get(1) is b
    del b
    assert m.get(1) is None and len(m) == 0
    assert m.get(2) is None
