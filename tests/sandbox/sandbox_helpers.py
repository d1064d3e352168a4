"""Shared by the sandbox tests: the execution tiers, engines with metering, and
wasmtime-py as the reference.

Every test that runs Wasm takes the ``tier`` fixture and runs once per tier. The
llvm tier is skipped, with the reason, only while ``nanoproc.internal.llvm`` cannot
run modules at all; a tier that runs modules but lacks fuel metering or epoch checks
fails these tests (docs/fuel.md says what it has to do).
"""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc
from nanoproc.api.tiers import llvm_unavailable_reason

TIERS = ["interp", "llvm"]


@pytest.fixture(params=TIERS, name="tier")
def tier_fixture(request: pytest.FixtureRequest) -> str:
    """An execution tier that can run modules here."""
    tier = str(request.param)
    if tier == "llvm":
        reason = llvm_unavailable_reason()
        if reason is not None:
            pytest.skip(f"llvm tier cannot run modules yet: {reason}")
    return tier


def engine(tier: str, **settings: Any) -> nanoproc.Engine:
    """An engine of ``tier`` with Config attributes ``settings``."""
    config = nanoproc.Config()
    config.strategy = tier
    for key, value in settings.items():
        setattr(config, key, value)
    return nanoproc.Engine(config)


def instance(eng: Any, wat: str | bytes, imports: list[Any] | None = None,
             fuel: int | None = None, api: Any = nanoproc) -> tuple[Any, Any]:
    """(store, instance) of ``wat`` in a new store of ``eng`` (``fuel`` set after
    instantiation, so instantiation costs do not count)."""
    store = api.Store(eng)
    if fuel is not None:
        store.set_fuel(10**9)
    inst = api.Instance(store, api.Module(eng, wat), imports or [])
    if fuel is not None:
        store.set_fuel(fuel)
    return store, inst


def wasmtime_engine(**settings: Any) -> Any:
    wasmtime = pytest.importorskip("wasmtime")
    config = wasmtime.Config()
    for key, value in settings.items():
        setattr(config, key, value)
    return wasmtime.Engine(config)


def outcome(api: Any, store: Any, func: Any, *args: Any) -> Any:
    """The result of a call, or ``("trap", code name)``."""
    try:
        return func(store, *args)
    except api.Trap as e:
        return ("trap", e.trap_code.name if e.trap_code else str(e))
