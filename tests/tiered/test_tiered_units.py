"""Per-function tier-up (internal/tiered/units.py): some functions native, the others
on the interp tier, calls both ways, and nothing observable changes at any install:
results, traps and their backtraces, Wasm exceptions, fuel, globals, memory, tables
and data segments are those of the interp tier alone.

The ``units_after`` hook (also the differential fuzzer's ``tiered-units`` engine)
makes given units after given numbers of calls of the instance's functions, so an
install happens inside a running call: outer frames stay interp, inner calls of
unit functions go native.
"""

from __future__ import annotations

import gc
import itertools
import random
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

from test_tiered_exceptions import REC  # noqa: E402
from test_tiered_switch import CHAIN  # noqa: E402

import nanoproc  # noqa: E402
from nanoproc.internal.tiered import units  # noqa: E402
from nanoproc.internal.tiered.backend import TieredBackend  # noqa: E402

# Functions 1.. (0 is the host import): a table of functions called indirectly and
# by reference, a funcref global, a passive data segment dropped by one function and
# read by another, memory growth, a host function calling back into Wasm.
MIX = """
(module
  (import "host" "cb" (func $cb (param i32) (result i32)))
  (type $ii (func (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $sq $inc $via_host $grow)
  (elem declare func $inc)
  (global $g (export "g") (mut i32) (i32.const 0))
  (global $fr (mut funcref) (ref.func $sq))
  (data $d "\\01\\02\\03\\04\\05\\06\\07\\08")
  (func $sq (type $ii)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.mul (local.get 0) (local.get 0)))
  (func $inc (type $ii)
    (if (i32.eq (local.get 0) (i32.const 13)) (then unreachable))
    (i32.add (local.get 0) (i32.const 1)))
  (func $via_host (type $ii)
    (call $cb (local.get 0)))
  (func $grow (type $ii)
    (drop (memory.grow (i32.const 0)))
    (i32.add (memory.size) (local.get 0)))
  (func $init (param i32) (result i32)
    ;; copies the segment to 64 (traps once it is dropped and n > 0)
    (memory.init $d (i32.const 64) (i32.const 0) (i32.and (local.get 0) (i32.const 7)))
    (i32.load8_u (i32.const 65)))
  (func $drop (export "drop")
    (data.drop $d))
  (func $pick (param i32) (result i32)
    (global.set $fr (table.get $t (i32.and (local.get 0) (i32.const 3))))
    (call_ref $ii (local.get 0) (ref.cast (ref $ii) (global.get $fr))))
  (func $step (export "step") (param i32) (result i32) (local i32 i32)
    (loop $l
      (local.set 2 (i32.add (local.get 2)
        (call_indirect $t (type $ii) (local.get 1) (i32.and (local.get 1) (i32.const 3)))))
      (local.set 2 (i32.add (local.get 2) (call $pick (local.get 1))))
      (local.set 2 (i32.add (local.get 2) (call_ref $ii (local.get 1) (ref.func $inc))))
      (i32.store (i32.mul (i32.and (local.get 1) (i32.const 15)) (i32.const 4)) (local.get 2))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (i32.add (local.get 2) (call $init (local.get 0))))
  (func (export "cb_target") (param i32) (result i32)
    (call $sq (i32.add (local.get 0) (i32.const 2))))
)
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty compile cache (on disk and in memory) for every test; no sampler
    (each test makes its units)."""
    from nanoproc.internal.llvm import cache

    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "0")


def _engine(strategy: str, schedule: list[tuple[int, list[int]]] | None = None) -> Any:
    config = nanoproc.Config()
    config.strategy = strategy
    config.consume_fuel = True
    engine = nanoproc.Engine(config)
    if schedule is not None:
        backend = engine.backend
        assert isinstance(backend, TieredBackend)
        backend.units_after = lambda module: [(n, list(fs)) for n, fs in schedule]
    return engine


def _hot_spin() -> tuple[Any, Any, Any, Any, Any]:
    """The tiered set-up the sampler tests share: a store with fuel to spare and HOT
    instantiated in it, as (engine, store, module, instance, its ``spin`` export)."""
    engine = _engine("tiered")
    store = nanoproc.Store(engine)
    store.set_fuel(1 << 60)
    module = nanoproc.Module(engine, HOT)
    inst = nanoproc.Instance(store, module, [])
    return engine, store, module, inst, inst.exports(store)["spin"]


def _outcome(store: Any, fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(store, *args))
    except nanoproc.Trap as e:
        return ("trap", e.trap_code, [(f.func_index, f.module_offset) for f in e.frames])


def _chain_tiering(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Any, Any]:
    """CHAIN instantiated on the tiered engine with per-function tier-up always on and
    fuel: ``(engine, store, module, instance)``."""
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    engine = _engine("tiered")
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    module = nanoproc.Module(engine, CHAIN)
    return engine, store, module, nanoproc.Instance(store, module, [])


def _mix_run(engine: Any) -> list[Any]:
    store = nanoproc.Store(engine)
    store.set_fuel(10_000_000)
    module = nanoproc.Module(engine, MIX)
    holder: list[Any] = []

    def cb(caller: Any, x: int) -> int:
        return int(holder[0]["cb_target"](caller, x)) + 1

    ft = nanoproc.FuncType([nanoproc.ValType.i32()], [nanoproc.ValType.i32()])
    host = nanoproc.Func(store, ft, cb, access_caller=True)
    inst = nanoproc.Instance(store, module, [host])
    ex = inst.exports(store)
    holder.append(ex)
    out = []
    for k, n in enumerate((3, 5, 2, 9, 14, 6, 4, 16, 1)):
        if k == 5:
            ex["drop"](store)
        out.append((_outcome(store, ex["step"], n), store.get_fuel(), ex["g"].value(store),
                    bytes(ex["mem"].read(store, 0, 80))))
    return out


def _chain_run(engine: Any) -> list[Any]:
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, CHAIN), [])
    ex = inst.exports(store)
    out = []
    for n in (3, 5, 8, 12, 4, 9, 10):
        out.append((_outcome(store, ex["sum"], n), store.get_fuel(), ex["g"].value(store),
                    bytes(ex["mem"].read(store, 0, 64))))
    return out


def _rec_run(engine: Any) -> list[Any]:
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
            r = ("thrown", e.exn(store).field(store, 0),
                 [(f.func_index, f.module_offset) for f in e.frames])
        out.append((r, store.get_fuel(), ex["g"].value(store)))
    return out


def _schedules(funcs: list[int], seed: int, count: int) -> list[list[tuple[int, list[int]]]]:
    """Each function alone at the first call, everything at once at a few points,
    and ``count`` random schedules of one to three units."""
    rng = random.Random(seed)
    out = [[(1, [f])] for f in funcs] + [[(n, funcs)] for n in (1, 2, 7)]
    for _ in range(count):
        out.append([(rng.randint(1, 30), rng.sample(funcs, rng.randint(1, len(funcs))))
                    for _ in range(rng.randint(1, 3))])
    return out


@pytest.mark.parametrize(("name", "run", "funcs"), [
    ("mix", _mix_run, list(range(1, 10))),
    ("chain", _chain_run, [0, 1, 2]),
])
def test_units_change_nothing(name: str, run: Any, funcs: list[int]) -> None:
    """Results, traps with backtraces, fuel, globals and memory equal the interp
    tier's for every schedule: installs at the first call and inside running calls,
    unit functions calling interp ones and back, through tables, references, a
    host function and tail positions."""
    want = run(_engine("interp"))
    for schedule in _schedules(funcs, seed=len(name), count=8):
        assert run(_engine("tiered", schedule)) == want, schedule


def test_units_and_wasm_exceptions() -> None:
    """Exceptions thrown in native code caught by interp frames and back, uncaught
    ones with their payload and backtrace, as on the interp tier."""
    want = _rec_run(_engine("interp"))
    for schedule in ([(1, [0])], [(3, [0])], [(5, [0, 1])], [(1, [1, 2, 3])], [(8, [0]), (20, [2])]):
        assert _rec_run(_engine("tiered", schedule)) == want, schedule


def test_units_really_run_native_code() -> None:
    """After an install the unit's functions are native entries, the others interp
    code, and the instance's tier state keeps both."""
    from nanoproc.internal.interp.backend import InterpBackend

    engine = _engine("tiered", [(1, [2])])
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, CHAIN), [])
    assert _outcome(store, inst.exports(store)["sum"], 5) == _chain_run(_engine("interp"))[1][0]
    state = inst._inst.tier_state
    assert isinstance(state, units.PartialState)
    assert state.installed == 1
    assert set(state.native.codes) == {2}
    funcs = inst._inst.funcs
    assert InterpBackend.function_of(funcs[2].call.__code__) is None  # native entry


def test_unit_index_warm_start(tmp_path: Any) -> None:
    """Units compiled in one run are listed in the compile cache; a new engine (same
    cache) loads them without compiling and installs them."""
    from nanoproc.internal.llvm import units as llvm_units

    first = _engine("tiered", [(1, [1, 2])])
    assert _chain_run(first) == _chain_run(_engine("interp"))
    engine = _engine("tiered")
    module = nanoproc.Module(engine, CHAIN)
    art = module._compiled.artifacts["tiered"]
    assert units.unit_index(engine.backend, module._compiled) == [[1, 2]]
    compiled: list[Any] = []
    real = llvm_units.compile_unit_objects
    real_refs = llvm_units.outside_refs
    try:
        llvm_units.compile_unit_objects = lambda *a: compiled.append(a) or real(*a)  # type: ignore
        llvm_units.outside_refs = lambda *a: compiled.append(a) or real_refs(*a)  # type: ignore
        plan = units.Plan(engine.backend, art)
        art.plan = plan
        plan.warm()
    finally:
        llvm_units.compile_unit_objects = real  # type: ignore
        llvm_units.outside_refs = real_refs  # type: ignore
    # nothing compiled, no body decoded for the unit's outside references (cached)
    assert not compiled and [f for f, _ in plan.units] == [[1, 2]]
    cm = module._compiled
    assert plan.units[0][1].unit_refs == sorted(real_refs(cm, [1, 2])) == [0, 1]
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    inst = nanoproc.Instance(store, module, [])
    plan.offer(inst._inst)
    ex = inst.exports(store)
    assert _outcome(store, ex["sum"], 3) == _chain_run(_engine("interp"))[0][0]
    assert isinstance(inst._inst.tier_state, units.PartialState)


def _chain_calls(store: Any, inst: Any) -> list[Any]:
    ex = inst.exports(store)
    return [(_outcome(store, ex["sum"], n), store.get_fuel(), ex["g"].value(store),
             bytes(ex["mem"].read(store, 0, 64))) for n in (3, 5, 8, 12, 4, 9, 10)]


def test_warm_units_load_from_their_linked_images(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Any) -> None:
    """A warm start links each cached unit from its image entry (keyed by the unit's
    key): the unit's objects are neither read, hashed nor linked, and results, traps
    with their backtraces (stackmaps kept in the entry) and fuel equal the interp
    tier's. A damaged image entry is refused by its checksum, never run: the unit is
    linked again from its objects, and the entry rewritten."""
    from nanoproc.internal.llvm import cache, elflink, link
    from nanoproc.internal.llvm import units as llvm_units

    want = _chain_run(_engine("interp"))
    assert any(o[0][0] == "trap" for o in want)
    assert _chain_run(_engine("tiered", [(1, [0, 1])])) == want
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")

    def warm_run() -> tuple[list[Any], Any]:
        monkeypatch.setattr(cache, "_memory", {})
        engine = _engine("tiered")
        store = nanoproc.Store(engine)
        store.set_fuel(1_000_000)
        module = nanoproc.Module(engine, CHAIN)
        inst = nanoproc.Instance(store, module, [])
        plan = module._compiled.artifacts["tiered"].plan
        assert [f for f, _ in plan.units] == [[0, 1]]
        out = _chain_calls(store, inst)
        state = inst._inst.tier_state
        assert isinstance(state, units.PartialState) and set(state.native.codes) == {0, 1}
        return out, (module._compiled, engine.backend.llvm.options)

    def refuse(*a: Any) -> Any:
        raise AssertionError("a warm start read, hashed or linked a unit's objects")

    with monkeypatch.context() as m:
        m.setattr(llvm_units, "unit_objects", refuse)
        m.setattr(link, "image_key", refuse)
        m.setattr(elflink, "prelink", refuse)
        got, (cm, options) = warm_run()
    assert got == want
    key = llvm_units._image_key(cm, [0, 1], options, llvm_units.unit_shapes(cm, [0, 1]))
    path = next(p for p in (tmp_path / "cache").rglob("*.obj") if p.stem == key)
    good = path.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x40
    path.write_bytes(bytes(bad))
    assert llvm_units.cached_unit(cm, [0, 1], options) is None  # refused
    linked: list[int] = []
    real = elflink.prelink

    def counting(objs: list[bytes]) -> Any:
        linked.append(1)
        return real(objs)

    monkeypatch.setattr(elflink, "prelink", counting)
    assert warm_run()[0] == want
    assert linked == [1]  # linked again from the objects, the entry rewritten
    assert warm_run()[0] == want
    assert linked == [1]  # then from the entry
    assert path.read_bytes() == good


def test_warm_start_loads_units_at_the_first_instantiation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A module with per-function tier-up whose units are cached has them at its
    first Instance(), so its first call already runs native code."""
    assert _chain_run(_engine("tiered", [(1, [1, 2])])) == _chain_run(_engine("interp"))
    engine, store, module, inst = _chain_tiering(monkeypatch)
    assert [f for f, _ in module._compiled.artifacts["tiered"].plan.units] == [[1, 2]]
    assert _outcome(store, inst.exports(store)["sum"], 3) == _chain_run(_engine("interp"))[0][0]
    state = inst._inst.tier_state
    assert isinstance(state, units.PartialState) and set(state.native.codes) == {1, 2}


def test_warm_start_offers_each_unit_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm start loading several units gives each unit function one install stub
    at the first Instance() (offering every unbound unit again after each loaded
    unit was quadratic: ~92,000 stubs for CPython-for-WASI's 74 units), and the
    instance runs as on the interp tier."""
    want = _chain_run(_engine("interp"))
    assert _chain_run(_engine("tiered", [(1, [0]), (2, [1]), (3, [2])])) == want
    stubs: list[int] = []
    real = units._install_stub

    def counting(plan: Any, ref: Any, idx: int) -> Any:
        stubs.append(idx)
        return real(plan, ref, idx)

    monkeypatch.setattr(units, "_install_stub", counting)
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    engine = _engine("tiered")
    module = nanoproc.Module(engine, CHAIN)
    for k in (1, 2):
        store = nanoproc.Store(engine)
        store.set_fuel(1_000_000)
        inst = nanoproc.Instance(store, module, [])
        assert sorted(stubs) == sorted([0, 1, 2] * k)  # once each per instance
        assert _chain_calls(store, inst) == want
    assert [f for f, _ in module._compiled.artifacts["tiered"].plan.units] == [[0], [1], [2]]


HOT = """
(module
  (func $inner (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (call $inner (local.get 1)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $l (local.get 0)))
    (local.get 1)))
"""


def test_warm_start_loads_no_llvm(tmp_path: Any) -> None:
    """A new process finding a module's units in the cache loads and runs them
    without loading LLVM (llvmlite.binding) or the IR generator: the keys of the
    units and of their glue are computed from this machine's recorded host key (as
    the whole-module path does), which equals LLVM's. (Both processes are new:
    this one's in-memory caches hold glue made for other tests' cache dirs.)"""
    import os
    import subprocess
    import sys
    import textwrap

    from nanoproc.internal.llvm import cache

    assert cache.reading_key("x", "y") == cache.cache_key("x", "y")
    script = tmp_path / "warm.py"
    script.write_text(textwrap.dedent("""
        import sys
        import nanoproc
        from test_tiered_switch import CHAIN
        config = nanoproc.Config()
        config.strategy = "tiered"
        config.consume_fuel = True
        engine = nanoproc.Engine(config)
        if sys.argv[1] == "cold":
            engine.backend.units_after = lambda module: [(1, [1, 2])]
        store = nanoproc.Store(engine)
        store.set_fuel(1_000_000)
        module = nanoproc.Module(engine, CHAIN)
        inst = nanoproc.Instance(store, module, [])
        print(inst.exports(store)["sum"](store, 5))
        print([f for f, _ in module._compiled.artifacts["tiered"].plan.units])
        print(sorted(inst._inst.tier_state.native.codes))
        print([m for m in ("llvmlite.binding", "nanoproc.internal.llvm.jit",
                           "nanoproc.internal.llvm.irgen.module") if m in sys.modules])
    """))
    env = dict(os.environ, NANOPROC_TIER_UNITS="always", NANOPROC_TIER_SAMPLE="0",
               NANOPROC_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    engine = _engine("interp")
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, CHAIN), [])
    want = str(inst.exports(store)["sum"](store, 5))
    for run in ("cold", "warm"):
        out = subprocess.run([sys.executable, str(script), run], env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[:3] == [want, "[[1, 2]]", "[1, 2]"], out.stdout
    assert lines[3] == "[]", out.stdout  # the warm process


def test_sampler_finds_the_hot_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """With sampling on, a module spending its time in one loop gets that function
    compiled and installed while it runs, and results stay those of interp."""
    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "1")
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    monkeypatch.setattr(units, "ROUND", 0.3)
    monkeypatch.setattr(units, "IDLE", False)  # every unit is of hot functions
    engine, store, module, inst, spin = _hot_spin()
    plan = module._compiled.artifacts["tiered"].plan
    made: list[Any] = []
    real = plan.make_unit
    plan.make_unit = lambda funcs, *a, **kw: made.append(kw) or real(funcs, *a, **kw)  # type: ignore[method-assign]
    deadline = time.monotonic() + 120
    while not plan.units and time.monotonic() < deadline:
        assert spin(store, 20_000) == 60_000
    assert plan.units, "the sampler made no unit in 120 s"
    assert made[0]["background"] is False  # hot: not left to a niced worker
    assert 0 in plan.native or 1 in plan.native
    # the unit is listed before the compile thread offers it to the instances: the
    # install happens at a call after that offer
    while (not isinstance(inst._inst.tier_state, units.PartialState)
           and time.monotonic() < deadline):
        assert spin(store, 20_000) == 60_000
    for _ in range(3):
        assert spin(store, 20_000) == 60_000
    assert isinstance(inst._inst.tier_state, units.PartialState)


def test_sampler_backs_off_while_no_interp_code_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """While its samples find no interp code running, the sampler wakes less and less
    often (each sample then counts for the time it stands for), down to one sample
    per QUIET_INTERVAL; at the first sample that finds interp code it samples every
    INTERVAL again. (Waking every 5 ms slowed a program running native code up to
    2x on a loaded machine.)"""
    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "1")
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    monkeypatch.setattr(units, "INTERVAL", 0.005)
    monkeypatch.setattr(units, "QUIET_INTERVAL", 0.08)
    monkeypatch.setattr(units.Plan, "choose_ordered", lambda self: [])  # no unit: stays interp
    # No round makes anything either (a pending set resumed or an idle unit would make
    # `spin` native, and a round with work resets the interval mid-way: flaky under load).
    monkeypatch.setattr(units, "round_work", lambda plan: None)
    seen: list[tuple[float, bool]] = []
    real = units.Sampler.sample

    def recording(self: Any, weight: float = 1.0) -> bool:
        found = real(self, weight)
        seen.append((weight, found))
        return found

    monkeypatch.setattr(units.Sampler, "sample", recording)
    engine, store, module, inst, spin = _hot_spin()
    deadline = time.monotonic() + 60
    while not any(w == 16 for w, _ in seen) and time.monotonic() < deadline:
        time.sleep(0.1)  # nothing runs
    weights = [w for w, _ in seen]
    assert weights == sorted(weights) and set(weights) <= {1, 2, 4, 8, 16} and len(weights) < 40
    assert not any(found for _, found in seen)
    plan = module._compiled.artifacts["tiered"].plan
    seen.clear()
    while sum(found for _, found in seen) < 3 and time.monotonic() < deadline:
        assert spin(store, 20_000) == 60_000  # interp code runs
    hits = [k for k, (_, found) in enumerate(seen) if found]
    assert len(hits) >= 3
    assert all(seen[k + 1][0] == 1 for k in hits if k + 1 < len(seen))
    assert sum(plan.heat.values()) + sum(plan.samples.values()) > 0


def test_sampler_does_not_count_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread inside the interp tier's translation (a callee translated at its
    first call) is not running its caller's interp code: a sample there counts for
    nobody (counted, the callers of whatever a program's start translates looked
    hot). The same sample with the check off counts for the caller."""
    from nanoproc.internal.interp import translate

    monkeypatch.setenv("NANOPROC_TIER_SAMPLE", "0")  # no sampler thread: samples by hand
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    entered = threading.Event()
    release = threading.Event()
    real = translate.translate_function

    def slow(art: Any, funcidx: int, options: Any) -> Any:
        if funcidx == 0:  # $inner, translated at spin's first call of it
            entered.set()
            assert release.wait(60)
        return real(art, funcidx, options)

    monkeypatch.setattr(translate, "translate_function", slow)
    engine, store, module, inst, spin = _hot_spin()
    plan = module._compiled.artifacts["tiered"].plan
    assert plan is not None
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(spin(store, 5)))
    t.start()
    try:
        assert entered.wait(60)
        sampler = units.Sampler(engine.backend)
        sampler.plans[id(module._compiled.module)] = plan
        for _ in range(5):
            assert sampler.sample()  # the program is busy...
        assert not plan.samples  # ...but no function's interp code ran
        assert plan.translating == 5
        plan.heat.clear()
        assert plan.choose() == []  # starting up: no idle round's unit
        sampler.translating = frozenset()  # the check off: spin (function 1) counted
        assert sampler.sample()
        assert dict(plan.samples) == {1: 1.0}
    finally:
        release.set()
        t.join(60)
    assert out == [15]


def test_auto_mode_is_for_big_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """``auto`` gives per-function tier-up to modules over the whole-module compile's
    size cap and the whole-module switch to the others; ``never`` turns it off."""
    from nanoproc.internal.tiered import backend as tb

    monkeypatch.setenv("NANOPROC_TIER_UNITS", "auto")
    engine = _engine("tiered")
    art = nanoproc.Module(engine, CHAIN)._compiled.artifacts["tiered"]
    assert not art.uses_units()
    monkeypatch.setattr(tb, "MAX_BACKGROUND_CODE", 10)
    assert art.uses_units()
    monkeypatch.setenv("NANOPROC_TIER_UNITS", "never")
    assert not art.uses_units()


def test_store_with_units_is_freed_without_the_gc() -> None:
    """Dropping a store whose instance has units frees it by reference counting."""
    engine = _engine("tiered", [(1, [0, 1])])
    module = nanoproc.Module(engine, CHAIN)

    def use() -> Any:
        store = nanoproc.Store(engine)
        store.set_fuel(1_000_000)
        inst = nanoproc.Instance(store, module, [])
        assert _outcome(store, inst.exports(store)["sum"], 3)[0] == "ok"
        assert isinstance(inst._inst.tier_state, units.PartialState)
        return weakref.ref(inst._inst), weakref.ref(store)

    use()  # warm up: translation, the unit
    gc.collect()
    gc.disable()
    try:
        refs = use()
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()


def test_units_repeat_after_failures() -> None:
    """Calls repeated after traps (in native and interp frames) give the same
    outcomes as the first time, as on interp."""
    want = _chain_run(_engine("interp"))
    for fs in itertools.chain([[0]], [[0, 1]], [[1, 2]]):
        got = _chain_run(_engine("tiered", [(4, fs)]))
        assert got == want


def test_epoch_deadline_in_unit_code() -> None:
    """An epoch deadline that is due stops native unit code called from interp code
    (and interp code called from native code) with the trap and frames of interp."""
    wat = """
    (module
      (import "host" "tick" (func $tick))
      (func $spin (param i32) (result i32) (local i32)
        (loop $l
          (if (i32.eq (local.get 1) (i32.const 50)) (then (call $tick)))
          (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
        (local.get 1))
      (func $outer (export "outer") (param i32) (result i32)
        (call $spin (local.get 0))))
    """

    def run(strategy: str, schedule: Any = None) -> list[Any]:
        config = nanoproc.Config()
        config.strategy = strategy
        config.epoch_interruption = True
        engine = nanoproc.Engine(config)
        if schedule is not None:
            engine.backend.units_after = lambda module: schedule
        store = nanoproc.Store(engine)
        store.set_epoch_deadline(1)
        tick = nanoproc.Func(store, nanoproc.FuncType([], []), engine.increment_epoch)
        inst = nanoproc.Instance(store, nanoproc.Module(engine, wat), [tick])
        outer = inst.exports(store)["outer"]
        out = []
        for n in (10, 40, 100, 30):
            out.append(_outcome(store, outer, n))
            store.set_epoch_deadline(1)
        return out

    want = run("interp")
    assert want[2][0] == "trap"
    for schedule in ([(1, [1])], [(1, [2])], [(2, [1, 2])], [(3, [1])]):
        assert run("tiered", schedule) == want, schedule


def _deep_handlers(tries: int = 5, loops: int = 25) -> str:
    """Handlers nested around more nested loops than Python allows (the interp tier
    refused such functions at instantiation until its handlers became flat, see
    interp/flat_exc.py; now ``interp.translate.REFUSE`` makes it refuse $deep)."""
    body = "(local.set 1 (i32.add (local.get 1) (i32.const 1)))"
    for i in range(loops):
        body = f"(loop $l{i} {body} (br_if $l{i} (i32.lt_u (local.get 1) (i32.const {i + 2}))))"
    for i in range(tries):
        body = f"(block $b{i} (try_table (catch $e $b{i}) {body}))"
    return f"""
    (module
      (tag $e)
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $deep (param i32) (result i32) (local i32)
        {body}
        (if (local.get 0) (then (throw $e)))
        (local.get 1))
      (func $count (param i32) (result i32)
        (global.set $g (i32.add (global.get $g) (local.get 0)))
        (global.get $g))
      (func (export "outer") (param i32) (result i32)
        (i32.add (call $deep (local.get 0)) (call $count (i32.const 3)))))
    """


def test_functions_interp_cannot_translate_are_native_from_the_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With per-function tier-up, a module whose function the interp tier refuses is
    instantiated at once: that function is compiled as a unit (the rest stays interp),
    not the whole module; outcomes and fuel equal the llvm tier's. The 5-try/25-loop
    function runs on interp since handlers are flat; a refusal is made by the
    translator's test hook (no real function is refused any more)."""
    from nanoproc.internal.interp import translate

    monkeypatch.setenv("NANOPROC_TIER_UNITS", "always")
    wat = _deep_handlers()

    def run(strategy: str) -> tuple[list[Any], Any]:
        engine = _engine(strategy)
        store = nanoproc.Store(engine)
        store.set_fuel(1_000_000)
        module = nanoproc.Module(engine, wat)
        inst = nanoproc.Instance(store, module, [])
        outer = inst.exports(store)["outer"]
        out = []
        for n in (0, 1, 0):
            try:
                r: Any = ("ok", outer(store, n))
            except nanoproc.ThrownException as e:
                r = ("thrown", [(f.func_index, f.module_offset) for f in e.frames])
            out.append((r, store.get_fuel(), inst.exports(store)["g"].value(store)))
        return out, (store, inst)

    interp, _ = run("interp")
    monkeypatch.setattr(translate, "REFUSE", frozenset({0}))  # $deep
    with pytest.raises(nanoproc.WasmtimeError, match="nested"):
        run("interp")
    got, (_store, inst) = run("tiered")  # first: the llvm run caches the whole module
    want, _ = run("llvm")
    assert got == want == interp
    state = inst._inst.tier_state
    assert isinstance(state, units.PartialState)
    assert set(state.native.codes) == {0}  # $deep alone; $count runs on interp
    engine = _engine("tiered")
    assert engine.backend.llvm is not None
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    module = nanoproc.Module(engine, wat)
    art = module._compiled.artifacts["tiered"]
    art.ready = lambda: False  # as if the whole module were not cached: the unit is
    for _ in range(2):
        inst2 = nanoproc.Instance(store, module, [])
        assert inst2.exports(store)["outer"](store, 0) == want[0][0][1]
        assert isinstance(inst2._inst.tier_state, units.PartialState)
    assert len(art.plan.units) == 1


def test_calls_from_native_code_make_a_function_hot() -> None:
    """Calls from a unit into a function still on the interp tier are counted (the
    sampler never sees what such a crossing costs) and make it hot."""
    engine = _engine("tiered", [(1, [2])])  # $sum native, $mid and $leaf interp
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    module = nanoproc.Module(engine, CHAIN)
    inst = nanoproc.Instance(store, module, [])
    istore = nanoproc.Store(_engine("interp"))
    istore.set_fuel(1_000_000)
    want = nanoproc.Instance(istore, nanoproc.Module(istore.engine, CHAIN), []).exports(
        istore)["sum"](istore, 7)
    sum_ = inst.exports(store)["sum"]
    calls = int(units.MIN_HITS * units.CROSSINGS_PER_SAMPLE / 7) + 1
    for _ in range(calls):
        assert sum_(store, 7) == want
    plan = module._compiled.artifacts["tiered"].plan
    assert plan.crossings[1] >= 7 * calls - 7
    assert 0 not in plan.crossings  # $leaf is called by interp code only
    assert plan.choose() == [0, 1]  # $mid, and its small callee $leaf
    assert not plan.crossings


def test_idle_rounds_compile_what_the_program_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    """A round with nothing hot takes the functions the program ran on the interp
    tier (with ``NANOPROC_TIER_IDLE`` off: nothing)."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    plan = module._compiled.artifacts["tiered"].plan
    assert plan.choose() == []  # nothing ran
    inst.exports(store)["sum"](store, 3)
    monkeypatch.setattr(units, "IDLE", False)
    assert plan.choose() == []
    monkeypatch.setattr(units, "IDLE", True)
    assert plan.choose() == [0, 1, 2]
    assert plan.idle  # its unit goes to a niced worker
    plan.samples[1] = units.MIN_HITS  # a hot function comes first, alone with its callee
    assert plan.choose() == [0, 1]
    assert not plan.idle  # a worker at the program's priority


def test_a_refused_unit_leaves_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit the llvm tier refuses after others were made keeps its functions on
    the interp tier (never chosen again) and tier-up goes on; a refusal before any
    unit stops it (the tier cannot run the module)."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    plan = module._compiled.artifacts["tiered"].plan
    llvm = engine.backend.llvm
    real = llvm.compile_unit

    def refuse(cm: Any, funcs: list[int], cached_only: bool = False, **kw: Any) -> Any:
        if 1 in funcs:
            raise nanoproc.WasmtimeError("refused")
        return real(cm, funcs, cached_only, **kw)

    monkeypatch.setattr(llvm, "compile_unit", refuse)
    assert not plan.make_unit([1])
    assert plan.failed is not None and not plan.refused
    plan.failed = None
    assert plan.make_unit([2])
    assert not plan.make_unit([0, 1])
    assert plan.failed is None and plan.refused == {0, 1} and plan.native == {2}
    plan.samples[1] = plan.samples[0] = units.MIN_HITS
    assert plan.choose() == []
    want = _chain_run(_engine("interp"))[0][0]
    assert _outcome(store, inst.exports(store)["sum"], 3) == want


def test_making_a_unit_makes_the_host_thunks_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first unit of a module brings the host thunks of all its function types
    (made on the compiling thread: on the store's thread a thunk compile would wait
    for LLVM's lock while another unit compiles)."""
    from nanoproc.internal.llvm import hostcall
    from nanoproc.internal.llvm.irgen.types import shape_of

    monkeypatch.setattr(hostcall, "THUNKS", {})

    engine = _engine("tiered", [(1, [2])])
    module = nanoproc.Module(engine, MIX)
    shapes = {shape_of(t) for t in module._compiled.func_types}
    store = nanoproc.Store(engine)
    store.set_fuel(1_000_000)
    ft = nanoproc.FuncType([nanoproc.ValType.i32()], [nanoproc.ValType.i32()])
    host = nanoproc.Func(store, ft, lambda x: x)
    inst = nanoproc.Instance(store, module, [host])
    inst.exports(store)["step"](store, 3)
    assert module._compiled.artifacts["tiered"].plan.units
    assert shapes <= set(hostcall.THUNKS)


def test_exit_waits_for_the_unit_being_compiled(tmp_path: Any) -> None:
    """Where no worker process can be had (the unit is compiled in this process), a
    program ending while the sampler's thread makes a unit waits for it at exit
    (the interpreter's teardown would free LLVM objects the compile still uses:
    LLVM then aborts the process) and starts no other. (With workers the exit
    does not wait: tests/tiered/test_unit_workers.py.)"""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "ends_mid_compile.py"
    script.write_text(textwrap.dedent("""
        import threading, time
        import nanoproc
        from nanoproc.internal.tiered import units
        units.ROUND = 0.05
        entered = threading.Event()
        real = units.Plan.make_unit
        def slow(self, funcs, cached_only=False, **kw):
            entered.set()
            time.sleep(1.0)
            ok = real(self, funcs, cached_only, **kw)
            print("unit made", ok, flush=True)
            return ok
        units.Plan.make_unit = slow
        engine = nanoproc.Engine()
        store = nanoproc.Store(engine)
        module = nanoproc.Module(engine, '''(module (func (export "spin") (param i32)
          (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))''')
        spin = nanoproc.Instance(store, module, []).exports(store)["spin"]
        while not entered.is_set():
            spin(store, 20000)
        print("main done", flush=True)
    """))
    env = dict(__import__("os").environ, NANOPROC_TIER_UNITS="always",
               NANOPROC_TIER_SAMPLE="1", NANOPROC_CACHE_DIR=str(tmp_path / "cache"),
               NANOPROC_COMPILE_WORKERS="0")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["main", "done", "unit", "made", "True"], out.stdout


def test_idle_units_are_smaller(monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle round's unit keeps to ``IDLE_BUDGET`` instructions (its first function
    comes whatever its size), a hot round's to ``BUDGET``."""
    engine, store, module, inst = _chain_tiering(monkeypatch)
    inst.exports(store)["sum"](store, 3)
    plan = module._compiled.artifacts["tiered"].plan
    monkeypatch.setattr(units, "IDLE_BUDGET", 1)
    assert plan.choose() == [2]  # the first used ($sum) alone, its callee did not fit
    plan.native.add(2)
    assert plan.choose() == [1]
    plan.native.clear()
    plan.samples.update({2: units.MIN_HITS, 1: units.MIN_HITS, 0: units.MIN_HITS})
    assert plan.choose() == [0, 1, 2]  # a hot round: BUDGET


def _wide_table(n: int) -> str:
    """A table of ``n`` functions of two signatures (one traps on 13), then a function
    calling each of them through call_indirect and reading it with table.get."""
    funcs = []
    for i in range(n):
        if i % 2:
            funcs.append(f"(func $f{i} (type $ii) (i32.add (local.get 0) (i32.const {i})))")
        else:
            funcs.append(f"(func $f{i} (type $iii) (if (i32.eq (local.get 0) (i32.const 13))"
                         f" (then unreachable)) (i32.mul (local.get 1) (i32.const {i})))")
    names = " ".join(f"$f{i}" for i in range(n))
    return f"""
(module
  (type $ii (func (param i32) (result i32)))
  (type $iii (func (param i32 i32) (result i32)))
  (table $t {n + 1} funcref)
  (elem (table $t) (i32.const 0) func {names} $all)
  {' '.join(funcs)}
  (func $all (export "all") (param i32) (result i32) (local i32 i32)
    (loop $l
      (if (i32.and (local.get 1) (i32.const 1))
        (then (local.set 2 (i32.add (local.get 2)
          (call_indirect $t (type $ii) (local.get 0) (local.get 1)))))
        (else (local.set 2 (i32.add (local.get 2)
          (call_indirect $t (type $iii) (local.get 0) (local.get 1) (local.get 1))))))
      (local.set 2 (i32.add (local.get 2)
        (ref.is_null (table.get $t (local.get 1)))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (i32.const {n}))))
    (local.get 2))
)
"""


@pytest.mark.parametrize("n", [60, 150])
def test_table_records_share_a_callback_per_signature(n: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance's table entries of functions still on the interp tier get host
    records whose callbacks are the functions themselves, calling one callback per
    signature (no Python object per entry: CPython's table has 47,000), called through
    call_indirect from native code with results, traps and fuel as on interp, and
    again after a trap; the native function's own entry has no host record. (150
    entries: made by ``hostcall._one_instance``'s maps; 60: by the loop.)"""
    import ctypes
    from types import MethodType

    from nanoproc.internal.llvm import abi, hostcall

    assert 60 < hostcall.QUICK_MIN <= 150
    quick: list[bool] = []
    one_instance = hostcall._one_instance

    def spy(*args: Any) -> Any:
        got = one_instance(*args)
        quick.append(got is not None)
        return got

    monkeypatch.setattr(hostcall, "_one_instance", spy)
    wat = _wide_table(n)

    def run(engine: Any) -> tuple[list[Any], Any]:
        store = nanoproc.Store(engine)
        store.set_fuel(1_000_000)
        inst = nanoproc.Instance(store, nanoproc.Module(engine, wat), [])
        f = inst.exports(store)["all"]
        out = [(_outcome(store, f, x), store.get_fuel()) for x in (3, 13, 5, 13, 2)]
        return out, (store, inst)

    want, _ = run(_engine("interp"))
    got, (store, inst) = run(_engine("tiered", [(1, [n])]))  # $all native
    assert got == want
    ns = store._state.tier_state
    funcs = inst._inst.funcs
    state = inst._inst.tier_state
    assert isinstance(state, units.PartialState) and set(state.native.codes) == {n}
    # one callback per signature (made at its first call: then each function
    # called holds the made one)
    shared = [cb for cbs in ns.host_makers.values() if isinstance(cbs, dict)
              for cb in cbs.values()]
    assert len(shared) == 2 and all(cb.real is not None for cb in shared)
    called = 0
    for fi in funcs[:n]:
        rec = ns.records[fi]
        hctx = ctypes.c_uint64.from_address(rec + abi.REC_CTX).value
        cb = ctypes.cast(ctypes.c_uint64.from_address(hctx + abi.HOST_CALLBACK).value,
                         ctypes.py_object).value
        assert cb is fi and not isinstance(fi.native_cb, MethodType)
        assert any(fi.native_cb in (s, s.real) for s in shared)
        called += any(fi.native_cb is s.real for s in shared)
    assert called == n  # each was called: it holds its signature's made callback
    assert list(ns.records).count(funcs[n]) == 1
    assert len(ns.func_at) == n + 1  # the native function never had a host record
    assert any(quick) == (n >= hostcall.QUICK_MIN)
