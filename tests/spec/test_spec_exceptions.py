"""The spec suite's exception-handling scripts on every tier that runs them: all
commands pass and none is skipped.

The root scripts (tag, throw, throw_ref, try_table) are excluded from the general
per-tier runs (test_spec_interp.EXCLUDED) and run here instead, with the legacy
instructions' scripts of ``legacy/`` (try/catch/catch_all/delegate/rethrow) and the
exception commands of instance.wast.
"""

from __future__ import annotations

import pytest

import nanoproc
from conftest import spec_dir
from nanoproc.internal.script import run_wast

SCRIPTS = (
    "tag.wast", "throw.wast", "throw_ref.wast", "try_table.wast", "instance.wast",
    "legacy/throw.wast", "legacy/try_catch.wast", "legacy/try_delegate.wast",
    "legacy/rethrow.wast",
)  # fmt: skip

TIERS = ("interp", "llvm", "llvm-O2")
"""Tiers that run exceptions (the llvm tier at -O0, and at -O2: LLVM must keep the
values a handler reads right across the setjmp of a try region)."""


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("script", SCRIPTS)
def test_spec_exceptions(script: str, tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    strategy, _, opt = tier.partition("-O")
    if strategy == "llvm":
        pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    monkeypatch.setenv("NANOPROC_LLVM_OPT", opt or "0")
    path = spec_dir() / script
    result = run_wast(path, nanoproc, strategy=strategy, timeout=300.0)
    shown = "\n".join(str(f) for f in result.failures[:20])
    assert result.failed == 0 and not result.skipped, result.summary() + "\n" + shown
    assert result.passed > 0
