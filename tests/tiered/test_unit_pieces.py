"""A chosen set of functions made piece by piece (internal/tiered/units.py
``Plan.make_pieces``): each piece its own unit, cached and listed in the unit index
as it arrives; an exit while a piece compiles leaves the pieces not made listed as
unfinished, and the next process makes only those."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

from test_tiered_switch import CHAIN  # noqa: E402
from test_tiered_units import _chain_calls, _chain_run, _chain_tiering, _engine, _hot_spin  # noqa: E402

import nanoproc  # noqa: E402
from nanoproc.internal.tiered import units  # noqa: E402
from nanoproc.internal.workers import ShuttingDown  # noqa: E402


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty compile cache for every test; no sampler; pieces of one function
    ($leaf, 21 instructions, is bigger than a piece; $mid and $sum, 3 + 17, fit together)."""
    from nanoproc.internal.llvm import cache

    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "0")
    monkeypatch.setattr(units, "PIECE", 20)
    # in this thread: big functions last, not on the side thread (its own test)
    monkeypatch.setenv("NANOPROC_COMPILE_WORKERS", "0")


def _sizes(module: Any) -> list[int]:
    cm = module._compiled
    return [len(f.instrs) + 1 for f in cm.module.funcs]


def test_pieces_keep_the_order_and_put_big_functions_last(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    engine, store, module, inst = _chain_tiering(monkeypatch)
    cm = module._compiled
    leaf, mid, sm = _sizes(module)
    assert leaf > units.PIECE >= mid + sm  # CHAIN as this test expects it
    assert units.pieces(cm, [0, 2, 1]) == [[1, 2], [0]]
    monkeypatch.setattr(units, "PIECE", max(mid, sm))
    assert units.pieces(cm, [2, 0, 1]) == [[2], [1], [0]]
    monkeypatch.setattr(units, "PIECE", 10_000)
    assert units.pieces(cm, [2, 0, 1]) == [[0, 1, 2]]


def test_each_piece_is_a_unit_listed_as_it_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every piece is compiled, listed in the unit index and offered before the next
    starts (a running instance calls it natively); the results are the interp
    tier's; a new engine's warm start loads every piece."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    plan = module._compiled.artifacts["tiered"].plan
    seen: list[Any] = []
    real = plan.make_unit

    def make(funcs: list[int], **kw: Any) -> bool:
        seen.append((funcs, units.unit_index(engine.backend, module._compiled)))
        return real(funcs, **kw)

    monkeypatch.setattr(plan, "make_unit", make)
    assert plan.make_pieces([0, 2, 1], background=False, resumable=True) == 2
    assert seen == [([1, 2], []), ([0], [[1, 2]])]
    assert units.unit_index(engine.backend, module._compiled) == [[1, 2], [0]]
    assert units.unit_index(engine.backend, module._compiled, "pending") == []
    assert _chain_calls(store, inst) == _chain_calls(*_interp_chain())
    engine2 = _engine("tiered")
    module2 = nanoproc.Module(engine2, CHAIN)
    store2 = nanoproc.Store(engine2)
    store2.set_fuel(1_000_000)
    inst2 = nanoproc.Instance(store2, module2, [])
    plan2 = module2._compiled.artifacts["tiered"].plan
    assert [f for f, _ in plan2.units] == [[1, 2], [0]] and plan2.native == {0, 1, 2}
    assert _chain_calls(store2, inst2) == _chain_calls(*_interp_chain())


def _interp_chain() -> tuple[Any, Any]:
    engine = _engine("interp")
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    return store, nanoproc.Instance(store, nanoproc.Module(engine, CHAIN), [])


def test_an_exit_loses_only_the_piece_under_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exit kills the second piece's compile: the first is in the unit index, the
    rest (the piece killed included) is listed as unfinished, nothing is refused;
    the next process loads the first at its warm start and makes only the rest,
    then nothing is left unfinished; the results are the interp tier's."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    cm = module._compiled
    plan = cm.artifacts["tiered"].plan
    llvm = engine.backend.llvm
    real = llvm.compile_unit
    asked: list[list[int]] = []

    def killed(m: Any, funcs: list[int], cached_only: bool = False, **kw: Any) -> Any:
        asked.append(funcs)
        if funcs == [0]:
            raise ShuttingDown()
        return real(m, funcs, cached_only, **kw)

    monkeypatch.setattr(llvm, "compile_unit", killed)
    assert plan.make_pieces([2, 1, 0], background=False, resumable=True) == 1
    assert plan.stopped and not plan.refused and plan.native == {1, 2}
    assert units.unit_index(engine.backend, cm) == [[1, 2]]
    assert units.unit_index(engine.backend, cm, "pending") == [[0]]
    monkeypatch.setattr(llvm, "compile_unit", real)

    engine2 = _engine("tiered")
    module2 = nanoproc.Module(engine2, CHAIN)
    cm2 = module2._compiled
    llvm2 = engine2.backend.llvm
    real2 = llvm2.compile_unit
    asked.clear()

    def counted(m: Any, funcs: list[int], cached_only: bool = False, **kw: Any) -> Any:
        asked.append(funcs) if not cached_only else None
        return real2(m, funcs, cached_only, **kw)

    monkeypatch.setattr(llvm2, "compile_unit", counted)
    store2 = nanoproc.Store(engine2)
    store2.set_fuel(1_000_000)
    inst2 = nanoproc.Instance(store2, module2, [])
    plan2 = cm2.artifacts["tiered"].plan
    assert plan2.native == {1, 2} and not asked  # the warm start: no compile
    plan2.resume()
    assert asked == [[0]] and plan2.native == {0, 1, 2}
    assert units.unit_index(engine2.backend, cm2) == [[1, 2], [0]]
    assert units.unit_index(engine2.backend, cm2, "pending") == []
    assert _chain_calls(store2, inst2) == _chain_calls(*_interp_chain())
    assert _chain_run(engine2) == _chain_run(_engine("interp"))


def test_a_pending_set_keeps_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """What is left of an unfinished set replaces it in the pending list, in its
    place (the latest stays the latest, resumed first)."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    cm = module._compiled
    be = engine.backend
    units.note_pending(be, cm, [0, 1], True)
    units.note_pending(be, cm, [2], True)
    units.note_pending(be, cm, [0, 1], False, [1])
    assert units.unit_index(be, cm, "pending") == [[1], [2]]
    units.note_pending(be, cm, [2], False, [1])  # the same as another: once
    assert units.unit_index(be, cm, "pending") == [[1]]
    units.note_pending(be, cm, [1], False)
    assert units.unit_index(be, cm, "pending") == []


def test_a_big_function_does_not_hold_up_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where workers compile, a function bigger than a piece is made by the side
    thread (on the set's pool): the other pieces are made (and the call returns)
    while its compile is still under way; it is listed as unfinished on its own
    until it is made."""
    import threading

    monkeypatch.delenv("NANOPROC_COMPILE_WORKERS")
    engine, store, module, inst = _chain_tiering(monkeypatch)
    cm = module._compiled
    plan = cm.artifacts["tiered"].plan
    llvm = engine.backend.llvm
    real = llvm.compile_unit
    go = threading.Event()
    started = threading.Event()
    pools: list[Any] = []

    def held(m: Any, funcs: list[int], cached_only: bool = False, **kw: Any) -> Any:
        if funcs == [0]:
            pools.append(kw.get("background"))
            started.set()
            assert go.wait(60)
        return real(m, funcs, cached_only, **kw)

    monkeypatch.setattr(llvm, "compile_unit", held)
    assert plan.make_pieces([0, 2, 1], background=False, resumable=True) == 1
    assert started.wait(60)
    assert pools == [False]  # a hot set's big function: at the program's priority too
    assert [f for f, _ in plan.units] == [[1, 2]] and plan.native == {0, 1, 2}
    assert units.unit_index(engine.backend, cm, "pending") == [[0]]
    side = plan.side
    assert side is not None
    go.set()
    side.join(120)
    assert not side.is_alive() and plan.side is None
    assert [f for f, _ in plan.units] == [[1, 2], [0]]
    assert units.unit_index(engine.backend, cm) == [[1, 2], [0]]
    assert units.unit_index(engine.backend, cm, "pending") == []
    assert _chain_calls(store, inst) == _chain_calls(*_interp_chain())


def test_the_sampler_samples_while_a_unit_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sampler's thread hands a chosen set to the maker thread and keeps sampling
    while it is made (the next round's choice sees the whole time); no other set
    is started meanwhile; the results are the interp tier's."""
    import threading
    import time

    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "1")
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    monkeypatch.setattr(units, "ROUND", 0.2)
    monkeypatch.setattr(units, "IDLE", False)
    _, store, module, _, spin = _hot_spin()
    plan = module._compiled.artifacts["tiered"].plan
    go = threading.Event()
    calls: list[tuple[list[int], str]] = []
    real = plan.make_pieces

    def held(funcs: list[int], **kw: Any) -> int:
        calls.append((funcs, threading.current_thread().name))
        assert go.wait(120)
        return real(funcs, **kw)

    plan.make_pieces = held  # type: ignore[method-assign]
    deadline = time.monotonic() + 120
    while not calls and time.monotonic() < deadline:
        assert spin(store, 20_000) == 60_000
    assert calls and calls[0][1] == "nanoproc tier-up maker"
    plan.samples.clear()
    for _ in range(20):  # ~1 s of interp code, five rounds, while the unit is held
        assert spin(store, 20_000) == 60_000
    assert sum(plan.samples.values()) > 0 and len(calls) == 1
    go.set()
    while not plan.units and time.monotonic() < deadline:
        assert spin(store, 20_000) == 60_000
    assert plan.units
    assert spin(store, 20_000) == 60_000


def test_a_round_takes_hot_functions_before_unfinished_sets(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A round with hot functions makes them (at the program's priority); one with
    nothing hot resumes the latest set an earlier process left unfinished, one set
    per round (not while the program translates: its start-up); with none left,
    the idle round's set (niced)."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    cm = module._compiled
    plan = cm.artifacts["tiered"].plan
    units.note_pending(engine.backend, cm, [0], True)
    units.note_pending(engine.backend, cm, [1], True)
    inst.exports(store)["sum"](store, 3)  # every function ran on interp
    plan.samples[2] = units.MIN_HITS
    work = units.round_work(plan)
    assert work is not None and work.func == plan.make_pieces
    assert work.args == ([2, 1],)  # with its small callee
    assert work.keywords == {"background": False, "resumable": True}
    plan.translating = units.MIN_HITS  # a round of start-up (translations): no work
    assert units.round_work(plan) is None
    work = units.round_work(plan)  # nothing hot: the latest unfinished set
    assert work is not None and work.func == plan.resume and work.args == (1,)
    assert work() is True and plan.native == {1}
    assert units.unit_index(engine.backend, cm, "pending") == [[0]]
    work = units.round_work(plan)
    assert work is not None and work.func == plan.resume
    assert work() is False and plan.native == {0, 1}
    assert units.unit_index(engine.backend, cm, "pending") == []
    work = units.round_work(plan)  # the idle round: what ran and is not native
    assert work is not None and work.func == plan.make_pieces
    assert work.args == ([2],) and work.keywords == {"background": True, "resumable": False}
