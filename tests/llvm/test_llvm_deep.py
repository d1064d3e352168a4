"""Deep nesting and big switches on the llvm tier (issues 10 and 20): they compile in
time linear in their size (the light pipeline, jit.compile_ir) and agree with
wasmtime-py, results and fuel."""

from __future__ import annotations

import pytest
from llvm_helpers import compile_wasm, wat2wasm

from deep_cases import (
    FUEL,
    many_nested_ifs,
    nanoproc_run,
    nested_blocks,
    random_deep,
    shapes,
    switch,
    wasmtime_run,
)
from nanoproc.internal.llvm.irgen.function import LIGHT, LIGHT_DEPTH, LIGHT_FANOUT
from nanoproc.internal.llvm.irgen.module import ModuleInfo, Partition, partition_text
from nanoproc.internal.llvm.jit import LIGHT_MARK

SHAPES = shapes() + [
    ("small switch", switch(300), [(0,), (299,), (300,)]),
]


@pytest.mark.parametrize("text,calls", [(t, c) for _, t, c in SHAPES],
                         ids=[name for name, _, _ in SHAPES])
def test_deep_shapes_match_wasmtime(text: str, calls: list[tuple[int, ...]]) -> None:
    wasm = wat2wasm(text)
    assert nanoproc_run(wasm, calls, "llvm", FUEL) == wasmtime_run(wasm, calls, FUEL)


def _ir(text: str) -> str:
    cm = compile_wasm(wat2wasm(text))
    info = ModuleInfo(cm.module, cm.func_types, 2)
    return partition_text(info, Partition(0, [0], False), "x86_64-unknown-linux-gnu", "")


def test_only_what_llvm_cannot_digest_is_light() -> None:
    assert LIGHT_MARK not in _ir(switch(LIGHT_FANOUT - 10)).split("\nattributes #")[0]
    assert LIGHT_MARK not in _ir(many_nested_ifs(LIGHT_DEPTH - 10)).split("\nattributes #")[0]
    for text in (switch(LIGHT_FANOUT + 10), many_nested_ifs(LIGHT_DEPTH + 10)):
        assert f") {LIGHT} {{" in _ir(text)


def test_100000_nested_blocks() -> None:
    wasm = wat2wasm(nested_blocks(100_000))
    assert nanoproc_run(wasm, [(), ()], "llvm") == [7, 7]


def test_random_deep_nesting_matches_wasmtime() -> None:
    calls = [(a, b) for a in (0, 1, 0x1234567, 77) for b in (0, 5)]
    for seed in range(4):
        wasm = wat2wasm(random_deep(seed, 60))
        assert nanoproc_run(wasm, calls, "llvm", FUEL) == wasmtime_run(wasm, calls, FUEL), seed
