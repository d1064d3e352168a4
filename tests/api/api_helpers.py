"""Shared by the API tests: the ``api`` fixture and helpers.

Most tests take the ``api`` fixture (``api_fixture``, imported into each test module) and run twice:
against wasmtime-py (the reference, installed as a test dependency) and against
nanoproc. A test that passes on wasmtime-py and fails on nanoproc is a
compatibility bug. Tests of what nanoproc adds or does differently use ``nanoproc``
directly. (No conftest.py here: it would shadow ``tests/conftest.py`` for modules
that import from it.)
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


@pytest.fixture(params=["wasmtime", "nanoproc"], name="api")
def api_fixture(request: pytest.FixtureRequest) -> ModuleType:
    """The API under test: ``wasmtime`` or ``nanoproc``."""
    return importlib.import_module(request.param)


def instantiate(api: ModuleType, wat: str, imports: list | None = None, store=None):
    """(instance, store) for module text ``wat``."""
    store = store if store is not None else api.Store()
    module = api.Module(store.engine, wat)
    return api.Instance(store, module, imports or []), store
