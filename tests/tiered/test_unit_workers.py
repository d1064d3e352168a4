"""Per-function tier-up units compiled by compile worker processes (llvm/units.py's
``compile_unit_objects``, workers.py's ``unit`` task): the same object code as the
in-thread compile; a worker that fails is replaced by the in-thread compile; an exit
or Ctrl-C while a worker compiles a unit neither waits for it nor leaves a process
or a partial cache entry behind, and the next run makes the unit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: no tiered strategy")

from test_tiered_units import MIX  # noqa: E402

import nanoproc  # noqa: E402
from nanoproc.internal import workers  # noqa: E402
from nanoproc.internal.llvm import (
    cache,  # noqa: E402
    unitcode,  # noqa: E402
)
from nanoproc.internal.llvm import units as llvm_units  # noqa: E402
from nanoproc.internal.workers import ShuttingDown  # noqa: E402

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A sitecustomize for the worker processes only (they get NANOPROC_WORKER_NICE in
# their environment): ``UNIT_HOOK=sleep:S`` makes each unit partition's task sleep S
# seconds first, ``UNIT_HOOK=fail`` makes it fail.
HOOK = """
import os
if "NANOPROC_WORKER_NICE" in os.environ and os.environ.get("UNIT_HOOK"):
    from nanoproc.internal.llvm import unitcode
    _real = unitcode.partition_object
    def _hooked(*a, **k):
        how = os.environ["UNIT_HOOK"]
        if how == "fail":
            raise RuntimeError("unit task failed on purpose")
        import time
        time.sleep(float(how.split(":")[1]))
        return _real(*a, **k)
    unitcode.partition_object = _hooked
"""


def _hook_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hook"
    d.mkdir(exist_ok=True)
    (d / "sitecustomize.py").write_text(HOOK)
    return d


def _live_workers(marker: str) -> list[int]:
    """Worker processes (of any parent) whose environment mentions ``marker``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if b"nanoproc.internal.workers" not in (d / "cmdline").read_bytes():
                continue
            if marker.encode() in (d / "environ").read_bytes():
                found.append(int(d.name))
        except OSError:
            continue
    return found


def _cache_is_whole(root: Path) -> int:
    """No temporary file is left in the cache and every entry is intact; returns the
    number of entries."""
    leftovers = [p for p in root.rglob(".tmp-*")]
    assert not leftovers, leftovers
    entries = list(root.rglob("*.obj"))
    for p in entries:
        assert cache.decode(p.read_bytes(), p.stem) is not None, p
    return len(entries)


# MIX and a function nested deeper than LIGHT_DEPTH (LLVM's light pipeline: an object
# of its own in the unit)
DEEP = MIX[: MIX.rindex(")")] + (
    "  (func $deep (param i32) (result i32)" + " (block" * 600
    + " (br_if 0 (i32.eqz (local.get 0)))" + ")" * 600 + " (local.get 0))\n)\n")


def _mix_unit() -> tuple[Any, list[int], Any]:
    engine = nanoproc.Engine()
    module = nanoproc.Module(engine, DEEP)
    cm = module._compiled
    nimp = cm.num_imported_funcs
    funcs = list(range(nimp, nimp + len(cm.module.funcs)))
    return cm, funcs, engine.backend.llvm.options


@pytest.fixture()
def fresh_pools(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pools of this test only (workers started with its environment), killed after."""
    pools: dict[bool, workers.Pool] = {}
    monkeypatch.setattr(workers, "_pools", pools)
    yield pools
    for p in pools.values():
        for w in list(p._all):
            w.kill()


@pytest.fixture(autouse=True)
def _small_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty compile cache; units of several partitions even for small modules."""
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setattr(unitcode, "PART_SIZE", 12)


def test_a_worker_compiles_the_same_unit_as_this_thread(monkeypatch: pytest.MonkeyPatch,
                                                         fresh_pools: Any) -> None:
    """The unit's cache entry (objects of its partitions, a light function's alone,
    outside references) from a worker process is byte for byte the in-thread
    compile's (NANOPROC_COMPILE_WORKERS=0, where no process can start), and the
    whole unit's compiled at once (unitcode.unit_code); the worker did it."""
    monkeypatch.setenv("NANOPROC_LLVM_CACHE", "0")
    cm, funcs, options = _mix_unit()
    here: list[Any] = []
    real = llvm_units.partition_object
    monkeypatch.setattr(llvm_units, "partition_object", lambda *a: here.append(a) or real(*a))
    whole = unitcode.unit_code(cm.module, cm.func_types, funcs, options)
    assert len(unitcode.unit_parts(cm.module, cm.num_imported_funcs, funcs)) >= 4
    for background in (True, False):
        remote = llvm_units.compile_unit_objects(cm, funcs, options, background)
        assert not here, "compiled in this process although a worker could run"
        assert len(fresh_pools[background].pids()) == 1
        with monkeypatch.context() as m:
            m.setenv("NANOPROC_COMPILE_WORKERS", "0")
            local = llvm_units.compile_unit_objects(cm, funcs, options, background)
        assert len(here) == len(whole) - 1
        here.clear()
        assert remote == local == whole
        assert remote[-1].startswith(llvm_units.REFS)
    assert fresh_pools[True].nice == workers.BACKGROUND_NICE and fresh_pools[False].nice == 0


def test_a_unit_cut_short_keeps_its_finished_partitions(monkeypatch: pytest.MonkeyPatch,
                                                        fresh_pools: Any) -> None:
    """The interpreter exits after a unit's first partitions were compiled: those
    are in the cache, and the next compile of the unit does only the others; the
    entry is the whole compile's."""
    cm, funcs, options = _mix_unit()
    whole = unitcode.unit_code(cm.module, cm.func_types, funcs, options)
    real = workers.run_one
    calls: list[Any] = []

    def cut(*a: Any, **kw: Any) -> Any:
        calls.append(a[3][1])
        if len(calls) > 2:
            raise ShuttingDown()
        return real(*a, **kw)

    monkeypatch.setattr(workers, "run_one", cut)
    with pytest.raises(ShuttingDown):
        llvm_units.compile_unit_objects(cm, funcs, options)
    assert calls == [0, 1, 2]
    calls.clear()
    monkeypatch.setattr(workers, "run_one", lambda *a, **kw: calls.append(a[3][1]) or real(*a, **kw))
    monkeypatch.setattr(cache, "_memory", {})
    assert llvm_units.compile_unit_objects(cm, funcs, options) == whole
    assert calls == list(range(2, len(whole) - 1))


def test_a_failing_worker_leaves_the_unit_to_this_thread(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         fresh_pools: Any) -> None:
    """A worker that errs on a unit task: the unit is compiled in this thread (same
    code), the worker stays usable; repeated, the same again."""
    monkeypatch.setenv("PYTHONPATH", f"{_hook_dir(tmp_path)}{os.pathsep}{SRC}")
    monkeypatch.setenv("UNIT_HOOK", "fail")
    monkeypatch.setenv("NANOPROC_LLVM_CACHE", "0")  # every call compiles
    cm, funcs, options = _mix_unit()
    with monkeypatch.context() as m:
        m.setenv("NANOPROC_COMPILE_WORKERS", "0")
        want = llvm_units.compile_unit_objects(cm, funcs, options)
    for _ in range(2):
        assert llvm_units.compile_unit_objects(cm, funcs, options) == want
        assert len(fresh_pools[True].pids()) == 1


SCRIPT = """
import sys, threading, time
import nanoproc
from nanoproc.internal import workers
from nanoproc.internal.tiered import units
mode = sys.argv[1]
# "finish": no sampling round, so only a unit left unfinished by the last run is made
units.ROUND = 1e9 if mode == "finish" else 0.05
units.IDLE = False  # units of hot functions only (those are resumed)
submitted = threading.Event()
real_run = workers.Worker.run
def run(self, kind, *a):
    if kind == "unitpart":
        print("submitted", self.proc.pid, flush=True)
        submitted.set()
    return real_run(self, kind, *a)
workers.Worker.run = run
engine = nanoproc.Engine()
store = nanoproc.Store(engine)
module = nanoproc.Module(engine, '''(module
  (func $inner (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (call $inner (local.get 1)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $l (local.get 0)))
    (local.get 1)))''')
inst = nanoproc.Instance(store, module, [])
spin = inst.exports(store)["spin"]
plan = module._compiled.artifacts["tiered"].plan
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    assert spin(store, 20000) == 60000
    if mode == "exit" and submitted.is_set():
        time.sleep(0.5)  # the task is with the worker
        break
    if mode == "finish" and isinstance(inst._inst.tier_state, units.PartialState):
        break
print("main done", mode, len(plan.units), spin(store, 20000),
      len(units.unit_index(engine.backend, module._compiled, "pending")), flush=True)
"""


def _start(tmp_path: Path, mode: str, hook: str) -> subprocess.Popen[str]:
    script = tmp_path / "units_in_workers.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = dict(os.environ, NANOPROC_TIER_UNITS="always", NANOPROC_TIER_SAMPLE="1",
               NANOPROC_CACHE_DIR=str(tmp_path / "cache"), UNIT_HOOK=hook,
               PYTHONPATH=f"{_hook_dir(tmp_path)}{os.pathsep}{SRC}")
    env.pop("NANOPROC_COMPILE_WORKERS", None)
    return subprocess.Popen([sys.executable, str(script), mode], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _read_until(proc: subprocess.Popen[str], word: str) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while True:
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=60)
            raise AssertionError(f"no {word!r} in {lines}: {err[-2000:]}")
        lines.append(line)
        if line.startswith(word):
            return lines


def _pid_of(lines: list[str]) -> int:
    return int(next(x for x in lines if x.startswith("submitted")).split()[1])


def _gone(pid: int, marker: str) -> None:
    deadline = time.monotonic() + 10
    while pid in _live_workers(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pid not in _live_workers(marker), f"worker {pid} outlived its parent"


def _finish(tmp_path: Path) -> None:
    """The next run (no hook, no sampling round) makes the unit the last one left
    unfinished, in a worker, and runs it natively."""
    proc = _start(tmp_path, "finish", "")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    done = next(x for x in out.splitlines() if x.startswith("main done")).split()
    assert int(done[3]) >= 1 and done[4] == "60000", (out, err)
    assert done[5] == "0", "a unit made is no longer listed as unfinished"
    assert _cache_is_whole(tmp_path / "cache") >= 2
    assert not _live_workers(str(tmp_path))


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_exit_does_not_wait_for_a_unit_a_worker_compiles(tmp_path: Path) -> None:
    """A program ending while a worker compiles a unit (that would take 10 minutes)
    exits at once: the worker is killed, nothing of the unit reaches the cache but
    its listing as unfinished; the next run makes it first."""
    proc = _start(tmp_path, "exit", "sleep:600")
    start = time.monotonic()
    try:
        lines = _read_until(proc, "main done")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert time.monotonic() - start < 120
    assert proc.returncode == 0, err
    assert "main done exit 0 60000 1" in "".join(lines), lines  # listed as unfinished
    _gone(_pid_of(lines), str(tmp_path))
    _cache_is_whole(tmp_path / "cache")
    _finish(tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, signals")
def test_ctrl_c_while_a_worker_compiles_a_unit(tmp_path: Path) -> None:
    """Ctrl-C while a worker compiles a unit: KeyboardInterrupt in the program, which
    exits without waiting for the compile; the worker is gone, the cache whole; the
    next run makes the unit."""
    proc = _start(tmp_path, "spin", "sleep:600")
    try:
        lines = _read_until(proc, "submitted")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "KeyboardInterrupt" in err, err[-2000:]
    _gone(_pid_of(lines), str(tmp_path))
    _cache_is_whole(tmp_path / "cache")
    _finish(tmp_path)
