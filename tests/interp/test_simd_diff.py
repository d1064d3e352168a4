"""Every SIMD instruction on the interp tier against wasmtime-py (see simd_cases)."""

from __future__ import annotations

from typing import Any

import pytest
from interp_helpers import compile_wasm, new_instance, wat2wasm

from simd_cases import check_group, module_text, runners_for

pytest.importorskip("wasmtime")

GROUPS = 8
"""Instructions are checked in this many groups (one test each, spread over workers)."""


@pytest.fixture(scope="module")
def runners() -> tuple[Any, Any]:
    data = wat2wasm(module_text())
    inst = new_instance(compile_wasm(data))
    return runners_for(inst, data)


@pytest.mark.parametrize("group", range(GROUPS))
def test_simd_against_wasmtime(runners: tuple[Any, Any], group: int) -> None:
    check_group(runners, group, GROUPS)
