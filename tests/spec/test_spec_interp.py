"""The spec suite through nanoproc's public API on the interp tier: 0 failures per file.

One test per root .wast script, except the proposals the interp tier does not
cover yet (exceptions; see EXCLUDED). Commands the engine
reports as unsupported are skipped by the runner; each file's skips are shown as a
warning so they never pass unnoticed.

Scheduling for pytest-xdist (``-n 2`` / ``-n auto``), whose load scheduler hands out
runs of consecutive tests: the known heavy scripts are spread evenly through the
parameter list, and the ``spec_spread`` plugin spreads these tests through the whole
session's list, so they neither cluster on one worker nor pile up at the end.
"""

from __future__ import annotations

import warnings

import pytest

import nanoproc
from conftest import spec_dir, spec_files
from nanoproc.internal.script import run_wast

pytest_plugins = ["spec_spread"]

SIMD = ("simd_", "relaxed_", "i8x16_relaxed", "i16x8_relaxed", "i32x4_relaxed")
"""File-name prefixes of the SIMD and relaxed SIMD scripts (66 files)."""

EXCLUDED = ("tag", "throw", "try_table")
"""File-name prefixes of scripts this test does not run."""

TIMEOUT = 600.0
"""Seconds per script; a script still running then fails with the commands not run."""

SHOWN_FAILURES = 40


HEAVY = {
    "skip-stack-guard-page.wast": 8.2,
    "return_call_ref.wast": 4.8,
    "return_call.wast": 2.6,
    "br_table.wast": 0.8,
    "return_call_indirect.wast": 0.7,
}
"""Scripts that take far longer on the interp tier than their size suggests (deep
recursion, tail-call loops): seconds measured on one core; the rest take < 0.6s."""


def scripts() -> list[str]:
    """The scripts to run: heavy ones spread evenly through the list, the rest largest
    first. pytest-xdist hands each worker runs of consecutive tests, so heavy scripts
    side by side would land on the same worker."""
    files = [p for p in spec_files() if not p.name.startswith(EXCLUDED)]
    heavy = sorted((p for p in files if p.name in HEAVY), key=lambda p: -HEAVY[p.name])
    out = sorted((p for p in files if p.name not in HEAVY), key=lambda p: -p.stat().st_size)
    step = len(files) / max(1, len(heavy))
    for i, p in enumerate(heavy):
        out.insert(round(i * step), p)
    return [p.name for p in out] or ["(no spec suite)"]


@pytest.mark.parametrize("script", scripts())
def test_spec_interp(script: str) -> None:
    result = run_wast(spec_dir() / script, nanoproc, strategy="interp", timeout=TIMEOUT)
    if result.skipped:
        # A plain UserWarning: pytest-xdist's controller must be able to import the class.
        warnings.warn(UserWarning(f"skipped commands: {result.summary()}"), stacklevel=1)
    shown = [str(f) for f in result.failures[:SHOWN_FAILURES]]
    if len(result.failures) > SHOWN_FAILURES:
        shown.append(f"... and {len(result.failures) - SHOWN_FAILURES} more")
    assert result.failed == 0, result.summary() + "\n" + "\n".join(shown)


def test_exclusions_leave_the_core_suite() -> None:
    """The exclusion list must not swallow core scripts by accident."""
    names = set(scripts())
    for core in ("i32.wast", "f64.wast", "memory.wast", "call_indirect.wast", "table.wast",
                 "linking.wast", "br_table.wast", "return_call.wast", "select.wast"):
        assert core in names
    assert "simd_lane.wast" in names and "relaxed_madd_nmadd.wast" in names
    for excluded in ("throw_ref.wast", "tag.wast", "try_table.wast"):
        assert excluded not in names
    for gc in ("array_copy.wast", "type-rec.wast", "extern.wast", "i31.wast", "struct.wast",
               "ref_cast.wast", "br_on_cast_fail.wast", "type-subtyping.wast"):
        assert gc in names
