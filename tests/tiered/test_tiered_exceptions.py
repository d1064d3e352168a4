"""Wasm exceptions under the tiered strategy: an exception thrown by native code and
caught by a try region of a frame still running interp code (the switch happened
inside the call), an exception thrown by interp code of another instance and caught
by native code, exnref values crossing the switch, uncaught exceptions with their
tag, payload and backtrace, and fuel, all as on either tier alone.

The ``switch_after`` hook (see test_tiered_switch.py) places the switch k calls into
the run, so for each k the outer k frames hold try regions on the interp tier while
the inner calls (and their throws) are native.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

import nanoproc  # noqa: E402
from nanoproc.internal.tiered.backend import SwitchedState, TieredBackend  # noqa: E402


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nanoproc.internal.llvm import cache

    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})


# rec(n): n == 0 throws $e(g); else each level calls rec(n-1) inside a try region of
# a kind picked by n % 4 (catch, catch_ref + throw_ref later, catch_all_ref rethrown
# from a global, legacy try/catch/rethrow), and adds to or rethrows the payload (odd
# levels rethrow).
REC = """
(module
  (tag $e (export "e") (param i32))
  (global $g (export "g") (mut i32) (i32.const 0))
  (global $keep (mut exnref) (ref.null exn))
  (func $rec (export "rec") (param $n i32) (result i32) (local $x exnref) (local $v i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (if (i32.eqz (local.get $n)) (then (throw $e (global.get $g))))
    (block $done
      (block $caught (result i32)
        (block $caught_ref (result i32 exnref)
          (block $all_ref (result exnref)
            (if (i32.eq (i32.and (local.get $n) (i32.const 3)) (i32.const 0))
              (then
                (try_table (result i32) (catch $e $caught)
                  (call $rec (i32.sub (local.get $n) (i32.const 1))))
                (local.set $v) (br $done)))
            (if (i32.eq (i32.and (local.get $n) (i32.const 3)) (i32.const 1))
              (then
                (try_table (result i32) (catch_ref $e $caught_ref)
                  (call $rec (i32.sub (local.get $n) (i32.const 1))))
                (local.set $v) (br $done)))
            (if (i32.eq (i32.and (local.get $n) (i32.const 3)) (i32.const 2))
              (then
                (try_table (result i32) (catch_all_ref $all_ref)
                  (call $rec (i32.sub (local.get $n) (i32.const 1))))
                (local.set $v) (br $done)))
            (try (result i32)
              (do (call $rec (i32.sub (local.get $n) (i32.const 1))))
              (catch $e
                (if (i32.and (local.get $n) (i32.const 1)) (then (rethrow 1)))
                (i32.add (i32.const 1000))))
            (local.set $v) (br $done))
          ;; catch_all_ref: keep the exception in a global, rethrow it from there
          (global.set $keep)
          (throw_ref (global.get $keep)))
        ;; catch_ref: payload and exnref; odd levels rethrow the exnref later
        (local.set $x)
        (local.set $v)
        (if (i32.and (local.get $n) (i32.const 1)) (then (throw_ref (local.get $x))))
        (local.set $v (i32.add (local.get $v) (i32.const 100)))
        (br $done))
      ;; catch: the payload
      (local.set $v (i32.add (i32.const 10)))
      (if (i32.and (local.get $n) (i32.const 1))
        (then (throw $e (i32.add (local.get $v) (local.get $n))))))
    (i32.add (i32.mul (local.get $v) (i32.const 3)) (local.get $n)))
  (func (export "run") (param $n i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $rec (local.get $n)))
      (return))
    (i32.sub (i32.const 0)))
  (func (export "kept") (result exnref) (global.get $keep))
  (func (export "rethrow") (param exnref) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw_ref (local.get 0)))
      (i32.const -1)))
)
"""


def _engine(strategy: str, switch_after: Any = None) -> Any:
    config = nanoproc.Config()
    config.strategy = strategy
    config.consume_fuel = True
    engine = nanoproc.Engine(config)
    if switch_after is not None:
        assert isinstance(engine.backend, TieredBackend)
        engine.backend.switch_after = (switch_after if callable(switch_after)
                                       else lambda module: switch_after)  # fmt: skip
    return engine


def _observe(engine: Any) -> tuple[list[Any], Any]:
    store = nanoproc.Store(engine)
    store.set_fuel(10_000_000)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, REC), [])
    ex = inst.exports(store)
    out: list[Any] = []
    for n in (9, 12, 6, 0, 3, 17):
        out.append(("run", n, ex["run"](store, n), store.get_fuel(), ex["g"].value(store)))
        try:
            r: Any = ("ok", ex["rec"](store, n))
        except nanoproc.ThrownException as e:
            exn = e.exn(store)
            r = ("thrown", exn.tag(store).eq(store, ex["e"]), exn.fields(store),
                 [(f.func_index, f.func_offset) for f in e.frames])
        out.append(("rec", n, r, store.get_fuel()))
        kept = ex["kept"](store)
        out.append(("kept", kept is None or ex["rethrow"](store, kept)))
    return out, inst


def test_exceptions_cross_the_switch() -> None:
    """For every switch point inside the recursion (k = 1: native from the start), the
    same results, payloads, backtraces and fuel as on either tier alone; the deep
    throws are native, the outer handlers interp."""
    want, _ = _observe(_engine("interp"))
    assert _observe(_engine("llvm"))[0] == want
    for k in (1, 2, 3, 4, 5, 6, 8, 11, 15, 20, 40):
        got, inst = _observe(_engine("tiered", k))
        assert got == want, f"switch after {k} calls"
        state = _core_instance(inst).tier_state
        assert isinstance(state, SwitchedState)


THROWER = """
(module
  (tag $e (export "e") (param i32 i64))
  (func (export "boom") (param i32) (result i32)
    (if (i32.gt_s (local.get 0) (i32.const 2)) (then (throw $e (local.get 0) (i64.const -5))))
    (i32.mul (local.get 0) (i32.const 7))))
"""

CATCHER = """
(module
  (import "t" "e" (tag $e (param i32 i64)))
  (import "t" "boom" (func $boom (param i32) (result i32)))
  (func $mid (param i32) (result i32) (call $boom (local.get 0)))
  (func (export "go") (param i32) (result i64) (local $p i64)
    (block $h (result i32 i64)
      (try_table (result i32) (catch $e $h) (call $mid (local.get 0)))
      (return (i64.extend_i32_s)))
    (local.set $p)
    (i64.add (i64.extend_i32_s) (local.get $p))
    (i64.add (i64.const 1000)))
  (func (export "go_ref") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (drop (call $mid (local.get 0))))
      (ref.null exn))))
"""


def _two_instances(engine: Any) -> tuple[list[Any], Any, Any]:
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    thrower = nanoproc.Instance(store, nanoproc.Module(engine, THROWER), [])
    tex = thrower.exports(store)
    catcher = nanoproc.Instance(store, nanoproc.Module(engine, CATCHER), [tex["e"], tex["boom"]])
    cex = catcher.exports(store)
    out: list[Any] = []
    for n in (1, 2, 3, 9, 1):
        out.append((cex["go"](store, n), store.get_fuel()))
        ref = cex["go_ref"](store, n)
        out.append(None if ref is None else ref.fields(store))
    with pytest.raises(nanoproc.ThrownException) as info:
        tex["boom"](store, 4)
    out.append([(f.func_index, f.func_offset) for f in info.value.frames])
    return out, _core_instance(catcher), _core_instance(thrower)


@pytest.mark.parametrize("native", ["catcher", "thrower"])
def test_exception_between_instances_on_different_tiers(native: str) -> None:
    """One instance runs native code, the other interp code: an exception thrown by
    either is caught by the other's handlers (through the tiers' call glue)."""
    want = _two_instances(_engine("interp"))[0]

    def switch_after(module: Any) -> int:
        is_catcher = module.num_imported_funcs > 0
        return 1 if is_catcher == (native == "catcher") else 10**9

    got, catcher, thrower = _two_instances(_engine("tiered", switch_after))
    assert got == want
    switched = catcher if native == "catcher" else thrower
    other = thrower if native == "catcher" else catcher
    assert isinstance(switched.tier_state, SwitchedState)
    assert not isinstance(other.tier_state, SwitchedState)


def _core_instance(inst: Any) -> Any:
    for name in ("_inst", "_instance", "inst"):
        got = getattr(inst, name, None)
        if got is not None and hasattr(got, "tier_state"):
            return got
    raise AssertionError("no core instance")
