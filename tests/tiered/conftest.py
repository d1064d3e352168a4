"""The tiered tests exercise the switch to native code with small modules, which the
tiered strategy would otherwise keep on the interp tier for good (see
nanoproc.internal.tiered.bounded): the policy is off here, except where
test_tiered_bounded.py turns it back on to test it."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _every_module_may_tier_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from nanoproc.internal.tiered import bounded

    monkeypatch.setattr(bounded, "ENABLED", False)
    monkeypatch.setenv("NANOPROC_TIER_BOUNDED", "0")  # for subprocesses
