"""Every SIMD instruction on the llvm tier against wasmtime-py (see simd_cases), at -O0
and -O2 (the optimiser must not change a lane)."""

from __future__ import annotations

from typing import Any

import pytest
from llvm_helpers import compile_wasm, new_instance, wat2wasm

from nanoproc.internal.llvm.backend import LLVMBackend
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
pytest.importorskip("llvmlite")

GROUPS = 4


@pytest.fixture(scope="module", params=[0, 2], ids=["O0", "O2"])
def runners(request: Any) -> tuple[Any, Any]:
    data = wat2wasm(module_text())
    inst = new_instance(compile_wasm(data), backend=LLVMBackend(opt_level=request.param))
    mem = inst.memories[0]
    funcs = [inst.exports[f"f{i}"] for i in range(len(cases()))]

    def ours(i: int, args: tuple[int, int, int, int]) -> int:
        write_inputs(mem.view, args)
        funcs[i].call()
        return read_result(mem.view, cases()[i][0])

    return ours, wasmtime_runner(data)


@pytest.mark.parametrize("group", range(GROUPS))
def test_llvm_simd_against_wasmtime(runners: tuple[Any, Any], group: int) -> None:
    ours, theirs = runners
    indices = list(range(group, len(cases()), GROUPS))
    failures = check_all(ours, theirs, indices, inputs(seed=group, count=60))
    assert not failures, f"{len(failures)} instructions differ:\n" + "\n".join(failures[:30])
