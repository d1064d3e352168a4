"""Every SIMD instruction on the llvm tier against wasmtime-py (see simd_cases), at -O0
and -O2 (the optimiser must not change a lane)."""

from __future__ import annotations

from typing import Any

import pytest
from llvm_helpers import compile_wasm, new_instance, wat2wasm

from nanoproc.internal.llvm.backend import LLVMBackend
from simd_cases import check_group, module_text, runners_for

pytest.importorskip("wasmtime")
pytest.importorskip("llvmlite")

GROUPS = 4


@pytest.fixture(scope="module", params=[0, 2], ids=["O0", "O2"])
def runners(request: Any) -> tuple[Any, Any]:
    data = wat2wasm(module_text())
    inst = new_instance(compile_wasm(data), backend=LLVMBackend(opt_level=request.param))
    return runners_for(inst, data)


@pytest.mark.parametrize("group", range(GROUPS))
def test_llvm_simd_against_wasmtime(runners: tuple[Any, Any], group: int) -> None:
    check_group(runners, group, GROUPS)
