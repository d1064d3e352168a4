"""The spec suite through nanoproc's public API on the llvm tier: 0 failures per file.

The same scripts as the interp tier's run (test_spec_interp.EXCLUDED leaves out the
proposals neither tier covers: exceptions). Scripts are
compiled at -O0 to keep CI fast; the scripts where LLVM's optimiser could change
results (NaN propagation, float folding, evaluation order, memory access patterns)
run a second time at -O2. Commands the engine reports as unsupported are skipped
by the runner and shown as a warning.
"""

from __future__ import annotations

import warnings

import pytest
from test_spec_interp import SHOWN_FAILURES, TIMEOUT, scripts

import nanoproc
from conftest import spec_dir
from nanoproc.internal.script import run_wast

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

OPTIMISED = (
    "float_exprs.wast", "float_misc.wast", "f32.wast", "f64.wast", "f32_bitwise.wast",
    "f64_bitwise.wast", "conversions.wast", "int_exprs.wast", "left-to-right.wast",
    "memory_redundancy.wast", "memory_redundancy64.wast", "address.wast", "address64.wast",
    "i32.wast", "i64.wast", "br_table.wast", "return_call.wast", "return_call_indirect.wast",
    "call_indirect.wast", "select.wast", "traps.wast", "memory_trap.wast",
    "struct.wast", "array.wast", "array_copy.wast", "i31.wast", "br_on_cast.wast",
    "ref_test.wast",
    "relaxed_madd_nmadd.wast", "relaxed_min_max.wast", "simd_conversions.wast",
    "simd_i32x4_trunc_sat_f32x4.wast", "simd_address.wast",
)  # fmt: skip
"""Scripts also run at -O2."""


def _run(script: str, opt: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOPROC_LLVM_OPT", str(opt))
    result = run_wast(spec_dir() / script, nanoproc, strategy="llvm", timeout=TIMEOUT)
    if result.skipped:
        # A plain UserWarning: pytest-xdist's controller must be able to import the class.
        warnings.warn(UserWarning(f"skipped commands: {result.summary()}"), stacklevel=2)
    shown = [str(f) for f in result.failures[:SHOWN_FAILURES]]
    if len(result.failures) > SHOWN_FAILURES:
        shown.append(f"... and {len(result.failures) - SHOWN_FAILURES} more")
    assert result.failed == 0, result.summary() + "\n" + "\n".join(shown)


@pytest.mark.parametrize("script", scripts())
def test_spec_llvm(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(script, 0, monkeypatch)


@pytest.mark.parametrize("script", OPTIMISED)
def test_spec_llvm_optimised(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(script, 2, monkeypatch)


def test_optimised_scripts_exist() -> None:
    names = set(scripts())
    if names == {"(no spec suite)"}:
        spec_dir()  # skips (or fails under NANOPROC_REQUIRE_SPEC) with the reason
    assert set(OPTIMISED) <= names
