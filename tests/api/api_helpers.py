"""Helpers shared by the API tests."""

from __future__ import annotations

from types import ModuleType


def instantiate(api: ModuleType, wat: str, imports: list | None = None, store=None):
    """(instance, store) for module text ``wat``."""
    store = store if store is not None else api.Store()
    module = api.Module(store.engine, wat)
    return api.Instance(store, module, imports or []), store
