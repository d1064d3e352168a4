"""Helpers for the interp tier's tests: the shared ones (core_helpers) bound to
InterpBackend, and signed views of integer results."""

from __future__ import annotations

from typing import Any

from core_helpers import call_on, compile_wasm, compile_wat, host_func, instance_on, wat2wasm
from nanoproc.internal.exec.compiled import CompiledModule
from nanoproc.internal.exec.instance import ModuleInstance
from nanoproc.internal.exec.store import StoreState
from nanoproc.internal.interp import InterpBackend

__all__ = ["BACKEND", "call", "compile_wasm", "compile_wat", "host_func", "new_instance",
           "signed32", "signed64", "wat2wasm"]

BACKEND = InterpBackend()


def new_instance(module: CompiledModule | str, imports: list[Any] | None = None,
                 store: StoreState | None = None) -> ModuleInstance:
    return instance_on(BACKEND, module, imports, store)


def call(inst: ModuleInstance, name: str, *args: Any) -> Any:
    """Call an export the way the public API does (exceptions converted)."""
    return call_on(BACKEND, inst, name, *args)


def signed32(v: int) -> int:
    return v - ((v & 0x8000_0000) << 1)


def signed64(v: int) -> int:
    return v - ((v & 0x8000_0000_0000_0000) << 1)
