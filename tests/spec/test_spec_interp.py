"""The spec suite through nanoproc's public API on the interp tier: 0 failures per file.

One test per root .wast script, except the proposals the interp tier does not
cover yet (SIMD, relaxed SIMD, GC, exceptions; see EXCLUDED). Commands the engine
reports as unsupported are skipped by the runner; each file's skips are shown as a
warning so they never pass unnoticed.

Scheduling: the heaviest scripts come first, so pytest-xdist's load scheduler hands
them out to different workers at the start instead of leaving them to cluster at
the end of the run (run with ``-n 2`` or ``-n auto``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import nanoproc
from conftest import spec_dir, spec_files
from nanoproc.internal.script import run_wast

EXCLUDED = (
    "simd_", "relaxed_", "i8x16_relaxed", "i16x8_relaxed", "i32x4_relaxed",
    "array", "struct", "i31", "ref_cast", "ref_test", "ref_eq", "br_on_cast",
    "type-", "binary-gc", "extern", "tag", "throw", "try_table",
)  # fmt: skip
"""File-name prefixes of scripts this test does not run."""

TIMEOUT = 600.0
"""Seconds per script; a script still running then fails with the commands not run."""

SHOWN_FAILURES = 40


class SkippedCommands(UserWarning):
    """Commands of a script skipped because the engine does not support their feature."""


def weight(path: Path) -> int:
    """Expected cost of a script: its size is a fair proxy (commands and modules)."""
    return path.stat().st_size


def scripts() -> list[str]:
    files = [p for p in spec_files() if not p.name.startswith(EXCLUDED)]
    files.sort(key=weight, reverse=True)
    return [p.name for p in files] or ["(no spec suite)"]


@pytest.mark.parametrize("script", scripts())
def test_spec_interp(script: str) -> None:
    result = run_wast(spec_dir() / script, nanoproc, strategy="interp", timeout=TIMEOUT)
    if result.skipped:
        warnings.warn(SkippedCommands(result.summary()), stacklevel=1)
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
    for excluded in ("simd_lane.wast", "array_copy.wast", "throw_ref.wast", "type-rec.wast",
                     "tag.wast", "extern.wast", "i31.wast", "try_table.wast"):
        assert excluded not in names
