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
