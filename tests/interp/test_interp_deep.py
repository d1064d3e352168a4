"""Deep nesting on the interp tier (issues 10 and 20): code nested deeper than
CPython allows runs (the flat lowering, interp/flat.py), with wasmtime-py's results
and fuel, and is never refused at a call after side effects."""

from __future__ import annotations

import pytest
from interp_helpers import wat2wasm

import nanoproc
from conftest import spec_dir
from deep_cases import (
    FUEL,
    nanoproc_run,
    nested_blocks,
    random_deep,
    shapes,
    store_then_deep,
    wasmtime_run,
)
from nanoproc.internal.errors import UnsupportedFeature
from nanoproc.internal.interp import translate
from nanoproc.internal.interp.flat import FLAT_HEIGHTS
from nanoproc.internal.script import run_wast

SHAPES = shapes()


@pytest.mark.parametrize("text,calls", [(t, c) for _, t, c in SHAPES],
                         ids=[name for name, _, _ in SHAPES])
def test_deep_shapes_match_wasmtime(text: str, calls: list[tuple[int, ...]]) -> None:
    wasm = wat2wasm(text)
    assert nanoproc_run(wasm, calls, "interp", FUEL) == wasmtime_run(wasm, calls, FUEL)


def test_no_refusal_after_side_effects() -> None:
    wasm = wat2wasm(store_then_deep(10_000))
    config = nanoproc.Config()
    config.strategy = "interp"
    store = nanoproc.Store(nanoproc.Engine(config))
    inst = nanoproc.Instance(store, nanoproc.Module(store.engine, wasm), [])
    f = inst.exports(store)["f"]
    assert [f(store, 3), f(store, 0), f(store, 10_001)] == [0, 42, 42]
    assert inst.exports(store)["m"].read(store, 0, 1) == b"\x03"  # three stores, no refusal


def test_100000_nested_blocks() -> None:
    wasm = wat2wasm(nested_blocks(100_000))
    assert nanoproc_run(wasm, [(), ()], "interp") == [7, 7]


@pytest.mark.parametrize("force", [None, *FLAT_HEIGHTS])
def test_random_deep_nesting_matches_wasmtime(force: int | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Random nesting 60 deep (blocks, counted loops, ifs; br, br_if and br_table out
    with values) translated as it comes (the flat lowering where Python's limits
    require it), or with every function flat at each bound the translator tries."""
    monkeypatch.setattr(translate, "FORCE_FLAT", force)
    calls = [(a, b) for a in (0, 1, 0x1234567, 77) for b in (0, 5)]
    for seed in range(6):
        wasm = wat2wasm(random_deep(seed, 60))
        got = nanoproc_run(wasm, calls, "interp", FUEL)
        assert got == wasmtime_run(wasm, calls, FUEL), seed


CONTROL_SCRIPTS = ["block.wast", "br.wast", "br_if.wast", "br_table.wast", "loop.wast",
                   "if.wast", "labels.wast", "switch.wast", "return.wast", "unreachable.wast",
                   "fac.wast", "forward.wast", "unwind.wast", "stack.wast", "call.wast",
                   "local_tee.wast", "select.wast", "return_call.wast", "nop.wast",
                   "br_on_null.wast", "br_on_non_null.wast", "br_on_cast.wast",
                   "br_on_cast_fail.wast"]


def test_control_scripts_pass_with_every_function_flat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every function flat at bound 0 (every block a state of the dispatch loop)."""
    monkeypatch.setattr(translate, "FORCE_FLAT", 0)
    failures = []
    for script in CONTROL_SCRIPTS:
        result = run_wast(spec_dir() / script, nanoproc, strategy="interp", timeout=600.0)
        if result.failed:
            failures.append(f"{script}: {result.summary()} {result.failures[:3]}")
    assert not failures, "\n".join(failures)


def _nested_handlers(depth: int) -> str:
    """A store to memory, then ``depth`` nested try_tables (each with a block for its
    catch) around a value (before flat handlers, 10 or more could not be translated)."""
    inner = "(i32.const 7)"
    for i in range(depth):
        inner = f"(block $h{i} (result i32) (try_table (result i32) (catch $t $h{i}) {inner}))"
    return f'''(module (tag $t (param i32)) (memory (export "m") 1)
      (func (export "f") (result i32) (i32.store8 (i32.const 0) (i32.const 1)) {inner}))'''


@pytest.mark.parametrize("depth", [9, 30])
def test_deep_handlers_run_on_interp(depth: int) -> None:
    """Handlers nested deeper than Python's block limit run on interp (flat handlers,
    interp/flat_exc.py), with wasmtime-py's result."""
    wasm = wat2wasm(_nested_handlers(depth))
    assert nanoproc_run(wasm, [(), ()], "interp", FUEL) == wasmtime_run(wasm, [(), ()], FUEL)


def test_refusal_happens_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function the translator refuses (none is known: ``translate.REFUSE``, a test
    hook, stands for one too big for CPython's compiler) is refused at instantiation
    (interp; the store is untouched), every time; the tiered strategy runs it
    natively."""
    monkeypatch.setattr(translate, "REFUSE", frozenset({0}))
    wasm = wat2wasm(_nested_handlers(30))
    config = nanoproc.Config()
    config.strategy = "interp"
    engine = nanoproc.Engine(config)
    module = nanoproc.Module(engine, wasm)
    store = nanoproc.Store(engine)
    with pytest.raises(UnsupportedFeature, match="deeply nested control flow"):
        nanoproc.Instance(store, module, [])
    with pytest.raises(UnsupportedFeature, match="deeply nested control flow"):
        nanoproc.Instance(store, module, [])  # again: the same refusal
    from nanoproc.api.tiers import llvm_unavailable_reason

    if llvm_unavailable_reason() is None:
        config = nanoproc.Config()
        config.strategy = "tiered"
        engine = nanoproc.Engine(config)
        store = nanoproc.Store(engine)
        inst = nanoproc.Instance(store, nanoproc.Module(engine, wasm), [])
        assert inst.exports(store)["f"](store) == 7
        assert inst.exports(store)["m"].read(store, 0, 1) == b"\x01"
