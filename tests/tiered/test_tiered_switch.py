"""Tiered execution: interp code at once, native code once compiled, and nothing
observable changes at the switch (results, traps and their backtraces, fuel).

The engines' ``switch_after`` hook (also used by the differential fuzzer's ``tiered``
engine) switches an instance after a given number of calls of its functions, so a
switch can be placed inside a running call: outer frames stay on the interp tier,
inner calls go native.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

import nanoproc  # noqa: E402
from nanoproc.internal.tiered.backend import SwitchedState, TieredBackend  # noqa: E402

CHAIN = """
(module
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func $leaf (param i32) (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.store (i32.mul (local.get 0) (i32.const 4)) (global.get $g))
    (if (i32.eq (local.get 0) (i32.const 7)) (then unreachable))
    (i32.div_s (i32.const 100) (i32.sub (local.get 0) (i32.const 9))))
  (func $mid (param i32) (result i32)
    (call $leaf (local.get 0)))
  (func $sum (export "sum") (param i32) (result i32) (local i32 i32)
    (loop $l
      (local.set 2 (i32.add (local.get 2) (call $mid (local.get 1))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 2))
)
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty compile cache (on disk and in memory) for every test."""
    from nanoproc.internal.llvm import cache

    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})


def _engine(strategy: str, switch_after: int | None = None, fuel: bool = False) -> Any:
    config = nanoproc.Config()
    config.strategy = strategy
    config.consume_fuel = fuel
    engine = nanoproc.Engine(config)
    if switch_after is not None:
        backend = engine.backend
        assert isinstance(backend, TieredBackend)
        backend.switch_after = lambda module: switch_after
    return engine


def _outcome(store: Any, func: Any, *args: int) -> Any:
    """A call's result, or its trap with the frames."""
    try:
        return ("ok", func(store, *args))
    except nanoproc.Trap as e:
        return ("trap", e.trap_code, [(f.func_index, f.module_offset) for f in e.frames])


def _run(engine: Any, args: list[int], fuel: bool = False) -> list[Any]:
    """Observations of calls of ``sum``: results or traps with their frames, fuel
    left, the global and the memory written."""
    store = nanoproc.Store(engine)
    if fuel:
        store.set_fuel(1_000_000)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, CHAIN), [])
    ex = inst.exports(store)
    return [(_outcome(store, ex["sum"], n), store.get_fuel() if fuel else None,
             ex["g"].value(store), bytes(ex["mem"].read(store, 0, 64))) for n in args]


@pytest.mark.parametrize("switch_after", [1, 2, 3, 5, 8, 13, 17, 30])
@pytest.mark.parametrize("fuel", [False, True])
def test_switch_inside_a_call_changes_nothing(switch_after: int, fuel: bool) -> None:
    """The same calls on interp alone, llvm alone and tiered switching after k calls
    (k=1: native from the first call; larger k: inside ``sum``'s loop, with ``sum``'s
    frame left on the interp tier)."""
    args = [3, 7, 9, 12, 2]  # 7 and 9 reach the unreachable and the division by zero
    want = _run(_engine("interp", fuel=fuel), args, fuel)
    assert _run(_engine("llvm", fuel=fuel), args, fuel) == want
    engine = _engine("tiered", switch_after, fuel=fuel)
    assert _run(engine, args, fuel) == want


def test_instances_switch_and_keep_running() -> None:
    engine = _engine("tiered", switch_after=4)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, CHAIN), [])
    sum_ = inst.exports(store)["sum"]
    assert sum_(store, 2) == -11 - 12  # 100 // -9 and 100 // -8, truncated
    results = [sum_(store, 3) for _ in range(5)]
    assert len(set(results)) == 1
    state = _core_instance(inst).tier_state
    assert isinstance(state, SwitchedState)


def _core_instance(inst: Any) -> Any:
    for name in ("_inst", "_instance", "inst"):
        got = getattr(inst, name, None)
        if got is not None and hasattr(got, "tier_state"):
            return got
    raise AssertionError("no core instance")


CALLEE = """
(module
  (func (export "bad") (param i32) (result i32)
    (i32.div_u (i32.const 1) (local.get 0))))
"""

CALLER = """
(module
  (import "m" "bad" (func $bad (param i32) (result i32)))
  (func $inner (param i32) (result i32) (call $bad (local.get 0)))
  (func (export "go") (param i32) (result i32) (call $inner (local.get 0))))
"""


def _cross(engine: Any) -> tuple[Any, list[Any]]:
    store = nanoproc.Store(engine)
    callee = nanoproc.Instance(store, nanoproc.Module(engine, CALLEE), [])
    caller = nanoproc.Instance(store, nanoproc.Module(engine, CALLER),
                               [callee.exports(store)["bad"]])  # fmt: skip
    go = caller.exports(store)["go"]
    assert go(store, 4) == 0
    with pytest.raises(nanoproc.Trap) as info:
        go(store, 0)
    frames = [(f.func_index, f.func_offset) for f in info.value.frames]
    return info.value, [frames, _core_instance(caller), _core_instance(callee)]


def test_native_code_calls_interp_code_of_another_instance() -> None:
    """The caller switched to native code, the callee (another module) is still on the
    interp tier: its trap is a Wasm trap with frames from both tiers, in order."""
    want, (want_frames, _, _) = _cross(_engine("interp"))
    engine = _engine("tiered")
    modules_switch = {"caller": 1, "callee": 10**9}

    def switch_after(module: Any) -> int:
        return modules_switch["caller" if module.num_imported_funcs else "callee"]

    engine.backend.switch_after = switch_after
    got, (frames, caller, callee) = _cross(engine)
    assert isinstance(caller.tier_state, SwitchedState)
    assert not isinstance(callee.tier_state, SwitchedState)
    assert got.trap_code == want.trap_code == nanoproc.TrapCode.INTEGER_DIVISION_BY_ZERO
    assert frames == want_frames
    assert len(frames) == 3


def test_host_error_through_both_tiers_keeps_the_host_exception() -> None:
    wat = """
    (module
      (import "h" "f" (func $f))
      (func $a (call $f))
      (func (export "run") (call $a)))
    """

    class Boom(Exception):
        pass

    def fail() -> None:
        raise Boom("from the host")

    for switch_after in (1, 2, 10**9):
        engine = _engine("tiered", switch_after)
        store = nanoproc.Store(engine)
        f = nanoproc.Func(store, nanoproc.FuncType([], []), fail)
        inst = nanoproc.Instance(store, nanoproc.Module(engine, wat), [f])
        with pytest.raises(Boom) as info:
            inst.exports(store)["run"](store)
        assert len(info.value.wasm_trap.frames) == 2  # type: ignore[attr-defined]
        # and the store still works after the failure
        with pytest.raises(Boom):
            inst.exports(store)["run"](store)


def test_background_compile_switches_a_busy_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the hook: the compile runs in the background and a later call runs
    native code."""
    from nanoproc.internal.tiered import backend

    monkeypatch.setattr(backend, "DELAY", 3600.0)  # the compile starts at wait() below
    engine = _engine("tiered")
    module = nanoproc.Module(engine, CHAIN)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    sum_ = inst.exports(store)["sum"]
    first = sum_(store, 5)
    assert not isinstance(_core_instance(inst).tier_state, SwitchedState)
    art = module._compiled.artifacts["tiered"]
    assert art.wait(timeout=300)
    assert sum_(store, 5) == first  # the same value, natively now
    assert isinstance(_core_instance(inst).tier_state, SwitchedState)


def test_warm_start_runs_native_code_from_the_first_call() -> None:
    engine = _engine("tiered")
    module = nanoproc.Module(engine, CHAIN)
    assert module._compiled.artifacts["tiered"].wait(timeout=300)
    # a new engine and module of the same bytes: the code comes from the cache
    engine2 = _engine("tiered")
    module2 = nanoproc.Module(engine2, CHAIN)
    store = nanoproc.Store(engine2)
    inst = nanoproc.Instance(store, module2, [])
    state = _core_instance(inst).tier_state
    assert type(state).__module__.endswith("llvm.instance")


def test_serialize_writes_a_complete_llvm_artifact() -> None:
    engine = _engine("tiered")
    data = nanoproc.Module(engine, CHAIN).serialize()
    for strategy in ("llvm", "tiered"):
        eng = _engine(strategy)
        module = nanoproc.Module.deserialize(eng, data)
        store = nanoproc.Store(eng)
        inst = nanoproc.Instance(store, module, [])
        assert inst.exports(store)["sum"](store, 2) == -23


def test_epoch_deadline_holds_across_the_switch() -> None:
    wat = """
    (module
      (func $spin (loop (br 0)))
      (func (export "run") (param i32) (if (local.get 0) (then (call $spin)))))
    """
    for switch_after in (1, 2, 3):
        config = nanoproc.Config()
        config.strategy = "tiered"
        config.epoch_interruption = True
        engine = nanoproc.Engine(config)
        engine.backend.switch_after = lambda module, k=switch_after: k
        store = nanoproc.Store(engine)
        store.set_epoch_deadline(1)
        inst = nanoproc.Instance(store, nanoproc.Module(engine, wat), [])
        run = inst.exports(store)["run"]
        run(store, 0)
        engine.increment_epoch()
        with pytest.raises(nanoproc.Trap) as info:
            run(store, 1)
        assert info.value.trap_code == nanoproc.TrapCode.INTERRUPT


def test_a_small_module_in_use_is_compiled_after_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy for small modules: compiled once in use for DELAY seconds (a module
    dropped before then is not compiled at all)."""
    import time

    from nanoproc.internal.tiered import backend

    monkeypatch.setattr(backend, "DELAY", 0.05)
    monkeypatch.setattr(backend, "QUIET", 0.05)
    engine = _engine("tiered")
    dropped = nanoproc.Module(engine, CHAIN.replace("(i32.const 9)", "(i32.const 10)"))
    store = nanoproc.Store(engine)
    nanoproc.Instance(store, dropped, [])
    del store  # its instance dies before the delay ends
    module = nanoproc.Module(engine, CHAIN)
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    sum_ = inst.exports(store)["sum"]
    want = sum_(store, 3)
    assert want == -11 - 12 - 14
    deadline = time.monotonic() + 300
    while not isinstance(_core_instance(inst).tier_state, SwitchedState):
        assert time.monotonic() < deadline, "never switched"
        assert sum_(store, 3) == want
        time.sleep(0.01)
    assert sum_(store, 3) == want
    time.sleep(0.2)
    assert dropped._compiled.artifacts["tiered"].state == "idle"


SEGMENTS = """
(module
  (memory (export "mem") 1)
  (data $d "\\01\\02\\03\\04\\05\\06\\07\\08")
  (func $drop (export "drop") (data.drop $d))
  (func $init (export "init") (param i32) (result i32)
    (memory.init $d (i32.const 0) (i32.const 0) (local.get 0))
    (i32.load8_u (i32.const 3)))
  (func $probe (param i32) (result i32) (local.get 0))
  ;; drops the segment in a callee (native after the switch), then copies in its
  ;; own (interp) frame: the copy must see the drop
  (func (export "drop_then_init") (result i32)
    (drop (call $probe (i32.const 0)))
    (call $drop)
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 4))
    (i32.const 1))
)
"""


def _segment_run(engine: Any, calls: list[tuple[str, list[int]]]) -> list[Any]:
    store = nanoproc.Store(engine)
    ex = nanoproc.Instance(store, nanoproc.Module(engine, SEGMENTS), []).exports(store)
    return [_outcome(store, ex[name], *args)[:2] for name, args in calls]


@pytest.mark.parametrize("switch_after", [1, 2, 3, 4])
def test_a_data_segment_dropped_before_the_switch_stays_dropped(switch_after: int) -> None:
    """The tiered wrong value of campaign case exc:20261269784736: the native code
    bound at the switch took passive segments from the module, so one dropped by
    interp code before the switch was whole again (memory.init ran instead of
    trapping)."""
    calls = [("init", [4]), ("drop", []), ("init", [0]), ("init", [4]), ("init", [4])]
    want = _segment_run(_engine("interp"), calls)
    assert want[-1] == ("trap", nanoproc.TrapCode.MEMORY_OUT_OF_BOUNDS)
    assert _segment_run(_engine("llvm"), calls) == want
    assert _segment_run(_engine("tiered", switch_after), calls) == want


@pytest.mark.parametrize("switch_after", [1, 2, 3])
def test_a_segment_dropped_by_native_code_is_dropped_for_interp_frames(switch_after: int) -> None:
    """Switch inside ``drop_then_init`` (k=2, 3): the callee drops the segment
    natively, the caller's interp frame then copies from it and must trap."""
    calls = [("drop_then_init", []), ("init", [1])]
    want = _segment_run(_engine("interp"), calls)
    assert want == [("trap", nanoproc.TrapCode.MEMORY_OUT_OF_BOUNDS)] * 2
    assert _segment_run(_engine("llvm"), calls) == want
    assert _segment_run(_engine("tiered", switch_after), calls) == want


def test_campaign_case_exc_20261269784736_agrees_on_every_tier(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The campaign case itself (legacy exceptions: wasmtime-py cannot run it, so the
    tiers are compared with each other), its switch inside a running call."""
    from nanoproc.fuzz.cases import engines, judge

    monkeypatch.setenv("NANOPROC_FUZZ_SIMD", "all")
    runs, _ = engines(["interp", "llvm", "tiered"], with_wasmtime=False)
    assert [r.name for r in runs] == ["interp", "llvm", "tiered"]
    verdict = judge("exc", 20261269784736, runs, None, shrink=False)
    assert verdict.status == "ok", verdict.detail
