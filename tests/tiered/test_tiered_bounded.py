"""The tiered strategy keeps modules whose calls are all brief on the interp tier for
good (nanoproc.internal.tiered.bounded): which modules qualify, that their
instances never load or wait for native code, and that other modules still tier up."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

import nanoproc  # noqa: E402
from nanoproc.internal.tiered import bounded  # noqa: E402
from nanoproc.internal.tiered.backend import TieredBackend  # noqa: E402

BRIEF = """(module
  (import "" "h" (func $h (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $next (mut i32) (i32.const 16))
  (func $alloc (export "alloc") (param i32) (result i32) (local i32)
    (local.set 1 (global.get $next))
    (global.set $next (i32.add (local.get 1) (local.get 0)))
    (if (i32.gt_u (global.get $next) (i32.const 60000))
      (then (global.set $next (i32.const 16))))
    (i32.store (local.get 1) (call $h (local.get 0)))
    (local.get 1)))"""


def _module(engine: Any, body: str) -> Any:
    return nanoproc.Module(engine, f"(module {body})")


@pytest.mark.parametrize("body, expected", [
    ("(func (result i32) (i32.const 1))", True),
    ("(import \"\" \"f\" (func $f)) (func (call $f) (return_call $f))", True),
    ("(memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 100)))", True),
    ("(func (loop))", False),  # a loop: unbounded
    ("(func $a) (func (call $a))", False),  # a call inside the module (may recurse)
    ("(func $a) (func (return_call $a))", False),
    ("(type $t (func)) (table 1 funcref) (func (call_indirect (type $t) (i32.const 0)))",
     False),
    ("(type $t (func)) (func (param (ref null $t)) (call_ref $t (local.get 0)))", False),
    ("(func (result v128) (v128.const i64x2 0 0))", False),  # SIMD: slow in interp
    ("(type (struct)) (func)", False),  # GC types run natively
    ("(func (result i32) " + "(i32.const 1) (drop) " * 40 + "(i32.const 1))", False),
    ("(func) " * (bounded.MAX_FUNCS + 1), False),
])
def test_which_modules_are_bounded(body: str, expected: bool) -> None:
    module = _module(nanoproc.Engine(), body)
    assert bounded.bounded(module._compiled) is expected


def _engine() -> Any:
    engine = nanoproc.Engine()
    assert isinstance(engine.backend, TieredBackend)
    return engine


def test_a_bounded_module_stays_on_the_interp_tier() -> None:
    engine = _engine()
    module = nanoproc.Module(engine, BRIEF)
    art = engine.backend.prepare(module._compiled)
    assert art.stays_interp()
    calls = []

    def h(n: int) -> int:
        calls.append(n)
        return n * 2

    for _ in range(3):
        store = nanoproc.Store(engine)
        f = nanoproc.Func(store, nanoproc.FuncType([nanoproc.ValType.i32()],
                                                   [nanoproc.ValType.i32()]), h)
        inst = nanoproc.Instance(store, module, [f])
        alloc = inst.exports(store)["alloc"]
        assert [alloc(store, 8) for _ in range(3)] == [16, 24, 32]
        assert inst.exports(store)["mem"].read(store, 24, 28) == b"\x10\x00\x00\x00"
        assert type(inst._inst.tier_state).__module__.startswith("nanoproc.internal.interp")
    assert calls == [8] * 9
    assert art.state == "idle" and art.code is None  # no compile scheduled, none loaded


def test_a_bounded_module_traps_and_stays_usable() -> None:
    engine = _engine()
    module = _module(engine, '(func (export "div") (param i32) (result i32)'
                             ' (i32.div_u (i32.const 10) (local.get 0)))')
    store = nanoproc.Store(engine)
    div = nanoproc.Instance(store, module, []).exports(store)["div"]
    with pytest.raises(nanoproc.Trap) as e:
        div(store, 0)
    assert e.value.trap_code == nanoproc.TrapCode.INTEGER_DIVISION_BY_ZERO
    assert div(store, 5) == 2


def test_other_modules_still_get_native_code() -> None:
    engine = _engine()
    module = _module(engine, '(func (export "f") (param i32) (result i32) (local i32)'
                             ' (loop (local.set 1 (i32.add (local.get 1) (local.get 0)))'
                             '  (br_if 0 (i32.lt_u (local.get 1) (i32.const 100))))'
                             ' (local.get 1))')
    art = engine.backend.prepare(module._compiled)
    assert not art.stays_interp()
    assert art.wait(timeout=300)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    f = inst.exports(store)["f"]
    assert f(store, 7) == 105
    assert type(inst._inst.tier_state).__module__.startswith("nanoproc.internal.llvm")


def test_hooks_and_the_switch_off_turn_the_policy_off(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine()
    module = nanoproc.Module(engine, BRIEF)
    art = engine.backend.prepare(module._compiled)
    engine.backend.switch_after = lambda m: 2
    assert not art.stays_interp()
    engine.backend.switch_after = None
    assert art.stays_interp()
    other = nanoproc.Module(_engine(), BRIEF)
    monkeypatch.setattr(bounded, "ENABLED", False)
    assert not other.engine.backend.prepare(other._compiled).stays_interp()


def test_a_bounded_module_the_interp_tier_refuses_runs_natively(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The interp tier cannot run it (an UnsupportedFeature at instantiation): the
    usual way decides, as for any module (native code, waited for)."""
    from nanoproc.internal.errors import UnsupportedFeature

    engine = _engine()
    module = _module(engine, '(func (export "f") (result i32) (i32.const 7))')
    art = engine.backend.prepare(module._compiled)
    assert art.stays_interp()
    interp = engine.backend.interp

    def refuse(inst: Any, exempt: Any = frozenset()) -> None:
        raise UnsupportedFeature("something", "in this test")

    monkeypatch.setattr(interp, "instantiate", refuse)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    assert inst.exports(store)["f"](store) == 7
    assert type(inst._inst.tier_state).__module__.startswith("nanoproc.internal.llvm")
    assert not art.stays_interp()


def test_native_code_calling_a_bounded_module_often_tiers_it_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop of native code calling a brief function of a bounded module: after
    bounded.CROSSINGS such calls the module tiers up (compiled, the instance switched),
    with the right results all along."""
    import time

    from nanoproc.internal.tiered.backend import SwitchedState

    monkeypatch.setattr(bounded, "CROSSINGS", 5)
    engine = _engine()
    helper = _module(engine, '(func (export "inc") (param i32) (result i32)'
                             ' (i32.add (local.get 0) (i32.const 1)))')
    hot = _module(engine, '(import "h" "inc" (func $inc (param i32) (result i32)))'
                          '(func (export "run") (param i32) (result i32) (local i32)'
                          ' (loop (local.set 1 (call $inc (local.get 1)))'
                          '  (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))'
                          ' (local.get 1))')
    hart = engine.backend.prepare(helper._compiled)
    assert hart.stays_interp()
    assert engine.backend.prepare(hot._compiled).wait(timeout=300)
    store = nanoproc.Store(engine)
    h = nanoproc.Instance(store, helper, [])
    inc = h.exports(store)["inc"]
    run = nanoproc.Instance(store, hot, [inc]).exports(store)["run"]
    assert run(store, 3) == 3  # 3 calls of inc from native code: still bounded
    assert hart.stays_interp() and hart.code is None
    assert run(store, 10) == 10
    assert not hart.stays_interp()
    assert hart.wait(timeout=300)
    deadline = time.monotonic() + 60
    while not isinstance(h._inst.tier_state, SwitchedState):  # offered by the compile thread
        assert time.monotonic() < deadline
        assert run(store, 10) == 10
        time.sleep(0.01)
    assert run(store, 1000) == 1000 and inc(store, 41) == 42
