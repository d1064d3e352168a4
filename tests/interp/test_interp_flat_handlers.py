"""Exception handlers nested deeper than CPython allows, on the interp tier (issues 13
and 20): try_table and legacy try/catch/delegate/rethrow as regions of the flat
lowering's dispatch loop (interp/flat_exc.py), with the results, fuel, side effects
and backtraces of wasmtime-py (try_table) or the llvm tier (legacy instructions,
host functions throwing), call after call in one store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from handler_cases import calls, legacy_module, try_table_module

import nanoproc
from conftest import spec_dir
from nanoproc.internal.interp import translate
from nanoproc.internal.script import run_wast

FUEL = 10**8


class _Never(Exception):
    """wasmtime-py has no exception class of its own for Wasm exceptions."""


def _outcome(call: Any, store: Any, args: tuple[int, ...], thrown: type[BaseException],
             trap: type[BaseException]) -> Any:
    try:
        return call(store, *args)
    except thrown as e:
        return ("exn", [(f.func_index, f.module_offset) for f in e.frames])  # type: ignore[attr-defined]
    except trap as e:
        kind = "exn" if "thrown Wasm exception" in str(e) else "trap"
        return (kind, [(f.func_index, f.module_offset) for f in e.frames])  # type: ignore[attr-defined]


def wasmtime_runs(wasm: bytes, args: list[tuple[int, int]]) -> list[Any]:
    import wasmtime

    cfg = wasmtime.Config()
    cfg.consume_fuel = True
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    store.set_fuel(FUEL)
    ex = wasmtime.Instance(store, wasmtime.Module(engine, wasm), []).exports(store)
    out = []
    for a in args:
        r = _outcome(ex["f"], store, a, _Never, wasmtime.Trap)
        out.append((a, r, store.get_fuel(), ex["g"].value(store)))
    return out


def nanoproc_runs(wasm: bytes, args: list[tuple[int, int]], strategy: str,
                  host: bool = False, levels: int = 0) -> list[Any]:
    cfg = nanoproc.Config()
    cfg.strategy = strategy
    cfg.consume_fuel = True
    engine = nanoproc.Engine(cfg)
    store = nanoproc.Store(engine)
    store.set_fuel(FUEL)
    imports: list[Any] = []
    box: dict[str, Any] = {}
    if host:
        i32 = nanoproc.ValType.i32()
        tags = [nanoproc.Tag(store, nanoproc.TagType(nanoproc.FuncType([i32], [])))
                for _ in range(levels + 1)]

        def throw(k: int, v: int) -> None:
            if k >= 1000:  # call back into Wasm, which throws through this frame
                box["thrower"](store, k - 1000, v)
                return
            raise nanoproc.ThrownException(nanoproc.ExnRef(store, tags[k], [v + 9]))

        imports = [*tags, nanoproc.Func(store, nanoproc.FuncType([i32, i32], []), throw)]
    inst = nanoproc.Instance(store, nanoproc.Module(engine, wasm), imports)
    ex = inst.exports(store)
    box["thrower"] = ex["thrower"]
    out = []
    for a in args:
        r = _outcome(ex["f"], store, a, nanoproc.ThrownException, nanoproc.Trap)
        out.append((a, r, store.get_fuel(), ex["g"].value(store)))
    return out


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NANOPROC_LLVM_OPT", "0")


def _twice(args: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every call, then all of them again: each runs after traps and exceptions."""
    return args + args


@pytest.mark.parametrize("force", [None, 3, 0])
def test_deep_try_tables_match_wasmtime(force: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """24 nested try_tables (catch, catch_all, catch_ref) around 26 nested loops:
    throws from a callee and from the function at each level, a branch out to each
    level, a trap under all of them: results, fuel, the global's side effects and
    trap/exception frames as in wasmtime-py."""
    monkeypatch.setattr(translate, "FORCE_FLAT", force)
    wasm = nanoproc.wat2wasm(try_table_module(24, 26))
    args = _twice(calls(24, host=False))
    got = nanoproc_runs(wasm, args, "interp")
    want = wasmtime_runs(wasm, args)
    assert [g for g, w in zip(got, want) if g != w] == []
    outcomes = {str(r[1])[:4] for r in got}
    assert {"4000", "('ex", "('tr"} <= outcomes  # the calls do branch, throw and trap


def _llvm_or_skip() -> None:
    pytest.importorskip("llvmlite", reason="llvmlite is not installed")


@pytest.mark.parametrize("opt", ["0", "2"])
def test_llvm_exception_frames_match_wasmtime(opt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception that passes handlers which do not catch it, then leaves the call,
    reports the frames of its throw on the llvm tier as in wasmtime-py (it reported
    the last handler's offset: try_table_module(8, 3), f(1, 8) gave (1, 189), not
    (1, 732))."""
    _llvm_or_skip()
    pytest.importorskip("wasmtime", reason="wasmtime-py (the oracle) is not installed")
    monkeypatch.setenv("NANOPROC_LLVM_OPT", opt)
    wasm = nanoproc.wat2wasm(try_table_module(8, 3))
    args = _twice(calls(8, host=False))
    got = nanoproc_runs(wasm, args, "llvm")
    want = wasmtime_runs(wasm, args)
    assert [g for g, w in zip(got, want) if g != w] == []
    assert any(isinstance(r[1], tuple) and r[1][0] == "exn" for r in got)  # some calls throw out


@pytest.mark.parametrize("host", [False, True], ids=["callee", "host"])
def test_deep_legacy_handlers_match_llvm(host: bool) -> None:
    """30 nested legacy trys (catch, catch + rethrow, catch_all, delegate, catch and
    throw outward) around 22 nested loops, with exceptions from a callee, the
    function itself and (``host``) a host function, also one calling back into
    Wasm: as on the llvm tier (wasmtime has no legacy exceptions)."""
    _llvm_or_skip()
    wasm = nanoproc.wat2wasm(legacy_module(30, 22, host))
    args = _twice(calls(30, host))
    got = nanoproc_runs(wasm, args, "interp", host, 30)
    want = nanoproc_runs(wasm, args, "llvm", host, 30)
    assert [g for g, w in zip(got, want) if g != w] == []


def test_deep_try_tables_with_host_match_llvm() -> None:
    """The try_table nest with a host function throwing each level's tag, and one
    calling back into Wasm that throws through the host frame."""
    _llvm_or_skip()
    wasm = nanoproc.wat2wasm(try_table_module(22, 25, host=True))
    args = _twice(calls(22, host=True))
    got = nanoproc_runs(wasm, args, "interp", True, 22)
    want = nanoproc_runs(wasm, args, "llvm", True, 22)
    assert [g for g, w in zip(got, want) if g != w] == []


def test_deep_handlers_use_one_guarded_dispatch_loop() -> None:
    """The deep nest is translated with its handlers flat: one ``try`` around the
    dispatch loop, none per handler, and the module instantiates at once (nothing
    translated at Instance())."""
    from nanoproc.internal.interp.artifact import ModuleArtifact

    cfg = nanoproc.Config()
    cfg.strategy = "interp"
    engine = nanoproc.Engine(cfg)
    module = nanoproc.Module(engine, try_table_module(24, 26))
    store = nanoproc.Store(engine)
    inst = nanoproc.Instance(store, module, [])
    art = module._compiled.artifacts["interp"]
    assert isinstance(art, ModuleArtifact)
    assert not art.code  # lazily translated: no eager pass at instantiation
    assert inst.exports(store)["f"](store, 0, 0) == 7 + 2 + sum(range(1, 25)) + 26 + 2 * 1
    (code,) = art.code.values()
    source = code.source
    assert source.count("except Thrown as ex:") == 1
    assert source.count("try:") == 1


EXCEPTION_SCRIPTS = ("throw.wast", "throw_ref.wast", "try_table.wast", "tag.wast",
                     "legacy/throw.wast", "legacy/try_catch.wast", "legacy/try_delegate.wast",
                     "legacy/rethrow.wast")


@pytest.mark.parametrize("force", [0, 3])
def test_exception_scripts_pass_with_every_handler_flat(force: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec suite's exception scripts with every function flat (at bound 0 every
    handler is a region of the dispatch loop; at 3 the outer ones, lexical inside)."""
    monkeypatch.setattr(translate, "FORCE_FLAT", force)
    failures = []
    for script in EXCEPTION_SCRIPTS:
        result = run_wast(spec_dir() / script, nanoproc, strategy="interp", timeout=600.0)
        if result.failed or result.skipped or not result.passed:
            failures.append(f"{script}: {result.summary()} {result.failures[:3]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("seed", range(5000, 5032, 16))
def test_generated_exception_modules_with_every_handler_flat(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer's exception modules (every catch kind; legacy ones every third seed)
    with every function flat: as in wasmtime-py, and as on the llvm tier for the
    legacy ones (``NANOPROC_INTERP_FLAT=0 python -m nanoproc.fuzz --paths exc`` runs
    more)."""
    _llvm_or_skip()
    pytest.importorskip("wasmtime")
    from nanoproc.fuzz.cases import engines, judge

    monkeypatch.setattr(translate, "FORCE_FLAT", 0)
    runs, _ = engines(["interp", "llvm"])
    for s in range(seed, seed + 16):
        # not the llvm tier where wasmtime-py is the reference: interp is under test
        verdict = judge("exc", s, runs if s % 3 == 0 else runs[:2], None)
        assert verdict.status == "ok", f"exc:{s}: {verdict.detail}"
