"""Fixtures for the public API tests.

Most tests take the ``api`` fixture and run twice: against wasmtime-py (the
reference, installed as a test dependency) and against nanoproc. A test that
passes on wasmtime-py and fails on nanoproc is a compatibility bug. Tests of what
nanoproc adds or does differently use ``nanoproc`` directly.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


@pytest.fixture(params=["wasmtime", "nanoproc"])
def api(request: pytest.FixtureRequest) -> ModuleType:
    """The API under test: ``wasmtime`` or ``nanoproc``."""
    return importlib.import_module(request.param)
