"""Every SIMD instruction on the interp tier against wasmtime-py (see simd_cases)."""

from __future__ import annotations

from typing import Any

import pytest
from interp_helpers import compile_wasm, new_instance, wat2wasm

from simd_cases import (
    cases,
    check_all,
    inputs,
    module_text,
    read_result,
    wasmtime_runner,
    write_inputs,
)

pytest.importorskip("wasmtime")

GROUPS = 8
"""Instructions are checked in this many groups (one test each, spread over workers)."""


@pytest.fixture(scope="module")
def runners() -> tuple[Any, Any]:
    data = wat2wasm(module_text())
    inst = new_instance(compile_wasm(data))
    mem = inst.memories[0]
    funcs = [inst.exports[f"f{i}"] for i in range(len(cases()))]

    def ours(i: int, args: tuple[int, int, int, int]) -> int:
        write_inputs(mem.view, args)
        funcs[i].call()
        return read_result(mem.view, cases()[i][0])

    return ours, wasmtime_runner(data)


@pytest.mark.parametrize("group", range(GROUPS))
def test_simd_against_wasmtime(runners: tuple[Any, Any], group: int) -> None:
    ours, theirs = runners
    indices = list(range(group, len(cases()), GROUPS))
    failures = check_all(ours, theirs, indices, inputs(seed=group, count=60))
    assert not failures, f"{len(failures)} instructions differ:\n" + "\n".join(failures[:30])
