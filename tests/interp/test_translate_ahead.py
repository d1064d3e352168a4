"""Translation ahead (internal/interp/ahead.py): on a cold start of a big module a
worker process translates the callees of what this process translated; a call
takes the worker's translation instead of translating. Same results, traps and
backtraces as translating here; a worker that dies leaves the work here."""

from __future__ import annotations

import os
import signal
import time
from types import CodeType
from typing import Any

import pytest

import nanoproc
from nanoproc.internal import workers
from nanoproc.internal.interp import ahead as ahead_mod
from nanoproc.internal.interp import codecache
from nanoproc.internal.interp.packed import unpack
from nanoproc.internal.interp.translate import translate_function

WAT = """
(module
  (memory (export "mem") 1)
  (func $leaf (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 7)) (then unreachable))
    (i32.store (i32.const 0) (local.get 0))
    (i32.div_s (i32.const 100) (i32.sub (local.get 0) (i32.const 9))))
  (func $mid (param i32) (result i32)
    (local i32)
    (local.set 1 (call $leaf (local.get 0)))
    (i32.add (local.get 1) (call $other (local.get 0))))
  (func $other (param i32) (result i32)
    (f64.store (i32.const 8) (f64.const nan:0x4000000000001))
    (i32.mul (local.get 0) (i32.const 3)))
  (func $tail (param i32) (result i32) (return_call $mid (local.get 0)))
  (func $run (export "run") (param i32) (result i32) (call $tail (local.get 0)))
)
"""
RUN, TAIL, MID, OTHER, LEAF = 4, 3, 1, 2, 0


@pytest.fixture(autouse=True)
def _cold(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NANOPROC_TRANSLATE_AHEAD", "1")  # (off by default)
    monkeypatch.delenv("NANOPROC_COMPILE_WORKERS", raising=False)
    monkeypatch.setattr(codecache, "MIN_CODE_BYTES", 0)  # this small module counts as big


def _engine(strategy: str) -> Any:
    config = nanoproc.Config()
    config.strategy = strategy
    return nanoproc.Engine(config)


def _observe(engine: Any, module: Any) -> tuple[list[Any], str, list[Any]]:
    store = nanoproc.Store(engine)
    ex = nanoproc.Instance(store, module, []).exports(store)
    results = [ex["run"](store, 3), ex["mem"].read(store, 0, 16)]
    with pytest.raises(nanoproc.Trap) as info:
        ex["run"](store, 7)
    frames = [(f.func_index, f.func_name, f.func_offset) for f in info.value.frames or []]
    return results, str(info.value), frames


def _expected() -> tuple[list[Any], str, list[Any]]:
    """What the interp tier alone observes (translating everything here; its
    translations kept out of the cache, which would make the next start warm)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NANOPROC_INTERP_CACHE", "0")
        engine = _engine("interp")
        return _observe(engine, nanoproc.Module(engine, WAT))


def _wait_ready(ah: Any, funcs: set[int], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not funcs <= set(ah.ready):
        assert not ah.dead, "the worker went away"
        assert time.monotonic() < deadline, f"worker did not translate {funcs}: {ah.stats}"
        time.sleep(0.01)


def _shape(code: CodeType) -> tuple[Any, ...]:
    """A code object without its file name (unique per translation)."""
    return (code.co_code, code.co_names, code.co_varnames, code.co_argcount,
            tuple(_shape(c) if isinstance(c, CodeType) else c for c in code.co_consts))


def _started() -> tuple[Any, Any, Any, Any]:
    """A tiered cold start of WAT with translation ahead on: (engine, module, its
    interp artifact, the artifact's ``ahead``)."""
    engine = _engine("tiered")
    module = nanoproc.Module(engine, WAT)
    art = module._compiled.artifacts["interp"]
    assert art.ahead is not None
    return engine, module, art, art.ahead


def test_the_worker_translates_what_is_called_next() -> None:
    expected = _expected()
    engine, module, art, ah = _started()
    options = engine.backend.interp.options
    art.translated(RUN, options)  # as its first call would: queues $tail
    _wait_ready(ah, {TAIL})
    art.translated(TAIL, options)  # the worker's: queues $mid
    _wait_ready(ah, {MID})
    art.translated(MID, options)
    _wait_ready(ah, {LEAF, OTHER})
    assert ah.stats["hit"] == 2 and ah.stats["here"] == 1  # $run itself
    assert _observe(engine, module) == expected
    assert ah.stats["hit"] == 4, ah.stats
    # the worker's code is the code translated here
    fresh = _engine("interp")
    here = nanoproc.Module(fresh, WAT)._compiled.artifacts["interp"]
    for f in (TAIL, MID, LEAF, OTHER):
        mine = translate_function(here, f, options)
        theirs = art.code[(f, options)]
        assert _shape(theirs.code) == _shape(mine.code)
        assert (theirs.body_code is None) == (mine.body_code is None)
        if mine.body_code is not None:
            assert _shape(theirs.body_code) == _shape(mine.body_code)
        assert (theirs.callees, theirs.line_pcs, theirs.tail_targets) \
            == (mine.callees, mine.line_pcs, mine.tail_targets)
    # and what the worker translated went to the translation cache: a second run
    # translates nothing and starts no worker
    codecache.close_all(art._caches)  # (as when the module is dropped)
    engine2 = _engine("tiered")
    module2 = nanoproc.Module(engine2, WAT)
    assert module2._compiled.artifacts["interp"].ahead is None
    assert _observe(engine2, module2) == expected


def test_a_function_in_hand_is_waited_for_and_a_queued_one_done_here() -> None:
    expected = _expected()
    engine, module, _, ah = _started()
    # Run at once: the worker may or may not be ahead; whatever it is, the results
    # are the same and every function is translated once (here or there).
    assert _observe(engine, module) == expected
    s = ah.stats
    assert s["hit"] + s["waited"] + s["here"] == 5, s


def test_a_dead_worker_leaves_the_work_here() -> None:
    expected = _expected()
    engine, module, art, ah = _started()
    deadline = time.monotonic() + 60
    while not workers.worker_pids():  # its worker has started
        assert time.monotonic() < deadline and not ah.dead
        time.sleep(0.01)
    for pid in workers.worker_pids():
        os.kill(pid, signal.SIGKILL)
    art.translated(RUN, engine.backend.interp.options)  # queues $tail: the worker is gone
    deadline = time.monotonic() + 60
    while not ah.dead:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert _observe(engine, module) == expected
    assert _observe(engine, module) == expected  # and again


@pytest.mark.parametrize("why", ["env", "no-workers", "interp-engine", "small"])
def test_when_it_does_not_apply(why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if why == "env":
        monkeypatch.delenv("NANOPROC_TRANSLATE_AHEAD")  # the default: off
    elif why == "no-workers":
        monkeypatch.setenv("NANOPROC_COMPILE_WORKERS", "0")
    elif why == "small":
        monkeypatch.setattr(codecache, "MIN_CODE_BYTES", 100_000)
    engine = _engine("interp" if why == "interp-engine" else "tiered")
    module = nanoproc.Module(engine, WAT)
    assert module._compiled.artifacts["interp"].ahead is None
    assert _observe(engine, module) == _expected()


def test_worker_side_matches_unpacking() -> None:
    """What the worker task returns unpacks as that function's translation."""
    engine = _engine("interp")
    module = nanoproc.Module(engine, WAT)
    wasm = module._compiled.binary
    prepared = ahead_mod.prepare(wasm)
    got, sorted_calls = ahead_mod.work(prepared, tuple(engine.backend.options), [MID, TAIL],
                                       [MID, TAIL, LEAF])
    # $mid calls $leaf and $other at its top level; $tail's return_call is sure too
    assert sorted_calls == [[(LEAF, 0), (OTHER, 0)], [(MID, 0)], []]
    art = module._compiled.artifacts["interp"]
    assert sorted(got) == [MID, TAIL]
    assert unpack(got[MID], art, TAIL) is None  # another function's: refused
    t = unpack(got[TAIL], art, TAIL)
    assert t is not None and t.body_code is not None  # tail-calling: its body too


CALLS_WAT = """
(module
  (func $a) (func $b) (func $d) (func $e) (func $g) (func $h)
  (func $c (param i32)
    call $a
    (block (br_if 0 (local.get 0)) call $b)
    call $d
    (if (local.get 0) (then (block (block (block call $e))) call $b))
    return
    call $g)
  (func $loop (param i32)
    (loop (call $h) (br_if 0 (local.get 0))) call $a))
"""


def test_calls_are_sorted_by_how_likely_they_run() -> None:
    engine = _engine("interp")
    wasm = nanoproc.Module(engine, CALLS_WAT)._compiled.binary
    art = ahead_mod.prepare(wasm)
    a, b, d, e, g, h = range(6)
    # top level before any branch: 0; the least block depth of a call otherwise
    # (capped); after a return at the top level: 1
    assert ahead_mod.calls(art, 6) == [(a, 0), (b, 1), (d, 0), (e, 3), (g, 1)]
    assert ahead_mod.calls(art, 7) == [(h, 1), (a, 0)]
