"""Helpers for the llvm tier's tests: the shared ones (core_helpers) bound to the llvm
backend, trap outcomes with frames, and instances of one module on both tiers."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

from core_helpers import (  # noqa: E402
    call_on,
    compile_wasm,
    compile_wat,
    host_func,
    instance_on,
    wat2wasm,
)
from nanoproc.internal.exec.compiled import CompiledModule  # noqa: E402
from nanoproc.internal.exec.instance import ModuleInstance  # noqa: E402
from nanoproc.internal.exec.store import StoreState  # noqa: E402
from nanoproc.internal.exec.trap import Trap  # noqa: E402
from nanoproc.internal.interp import InterpBackend  # noqa: E402
from nanoproc.internal.llvm.backend import LLVMBackend  # noqa: E402

__all__ = ["INTERP", "LLVM", "OPT", "both", "call", "compile_wasm", "compile_wat", "host_func",
           "new_instance", "outcome", "wat2wasm"]

OPT = int(os.environ.get("NANOPROC_LLVM_TEST_OPT", "2"))
"""Optimisation level of the tests' backend (LLVM's optimiser is part of what is tested)."""

LLVM = LLVMBackend(opt_level=OPT)
INTERP = InterpBackend()


def new_instance(module: CompiledModule | str, imports: list[Any] | None = None,
                 store: StoreState | None = None, backend: Any = LLVM) -> ModuleInstance:
    return instance_on(backend, module, imports, store)


def call(inst: ModuleInstance, name: str, *args: Any, backend: Any = LLVM) -> Any:
    """Call an export the way the public API does (exceptions converted)."""
    return call_on(backend, inst, name, *args)


def outcome(inst: ModuleInstance, name: str, *args: Any, backend: Any = LLVM) -> Any:
    """("ok", result) or ("trap", code name, message, frames) of a call."""
    try:
        return ("ok", call(inst, name, *args, backend=backend))
    except Trap as t:
        frames = [(f.func_index, f.module_offset) for f in t.frames]
        return ("trap", t.trap_code.name if t.trap_code else None, t.message, frames)


def both(text: str, imports: Any = None) -> tuple[ModuleInstance, ModuleInstance]:
    """Instances of one module on the llvm and the interp tier (``imports``: a function
    returning fresh imports for a store, or None)."""
    cm = compile_wat(text)
    ours = new_instance(cm, imports() if imports else None, backend=LLVM)
    theirs = new_instance(cm, imports() if imports else None, backend=INTERP)
    return ours, theirs
