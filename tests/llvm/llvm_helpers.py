"""Helpers for the llvm tier's tests: build modules, instantiate them on either tier,
call exports the way the public API does, and compare the tiers.

Tests drive the tiers through the runtime core (decode, validate, instantiate with
a backend, call ``FuncInst.call``) so a failure points at the tier, not the API.
Modules are written in WAT and assembled with wasm-tools (cached per text).
"""

from __future__ import annotations

import functools
import os
import subprocess
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

from conftest import wasm_tools  # noqa: E402
from nanoproc.internal.binary import decode_module  # noqa: E402
from nanoproc.internal.exec.compiled import CompiledModule  # noqa: E402
from nanoproc.internal.exec.entities import FuncInst  # noqa: E402
from nanoproc.internal.exec.instance import ModuleInstance, instantiate  # noqa: E402
from nanoproc.internal.exec.store import StoreState  # noqa: E402
from nanoproc.internal.exec.trap import Trap  # noqa: E402
from nanoproc.internal.interp import InterpBackend  # noqa: E402
from nanoproc.internal.llvm.backend import LLVMBackend  # noqa: E402
from nanoproc.internal.syntax.types import FuncType  # noqa: E402
from nanoproc.internal.valid import validate_module  # noqa: E402

OPT = int(os.environ.get("NANOPROC_LLVM_TEST_OPT", "2"))
"""Optimisation level of the tests' backend (LLVM's optimiser is part of what is tested)."""

LLVM = LLVMBackend(opt_level=OPT)
INTERP = InterpBackend()


@functools.cache
def wat2wasm(text: str) -> bytes:
    return subprocess.run(
        [wasm_tools(), "parse", "-"], input=text.encode(), capture_output=True, check=True
    ).stdout


def compile_wasm(data: bytes) -> CompiledModule:
    module = decode_module(data)
    cm = CompiledModule(module, validate_module(module))
    cm.binary = data
    return cm


def compile_wat(text: str) -> CompiledModule:
    return compile_wasm(wat2wasm(text))


def new_instance(module: CompiledModule | str, imports: list[Any] | None = None,
                 store: StoreState | None = None, backend: Any = LLVM) -> ModuleInstance:
    if isinstance(module, str):
        module = compile_wat(module)
    try:
        return instantiate(store or StoreState(None), module, list(imports or []), backend)
    except BaseException as e:
        raise backend.convert_exception(e) from None


def call(inst: ModuleInstance, name: str, *args: Any, backend: Any = LLVM) -> Any:
    """Call an export the way the public API does (exceptions converted)."""
    fi = inst.exports[name]
    assert isinstance(fi, FuncInst)
    try:
        return fi.call(*args)
    except BaseException as e:
        raise backend.convert_exception(e) from None


def outcome(inst: ModuleInstance, name: str, *args: Any, backend: Any = LLVM) -> Any:
    """("ok", result) or ("trap", code name, message, frames) of a call."""
    try:
        return ("ok", call(inst, name, *args, backend=backend))
    except Trap as t:
        frames = [(f.func_index, f.module_offset) for f in t.frames]
        return ("trap", t.trap_code.name if t.trap_code else None, t.message, frames)


def host_func(ftype: FuncType, fn: Any, *, needs_caller: bool = False) -> FuncInst:
    """A host function as the API makes them (canonical type id from a 1-type module)."""
    params = " ".join(str(t) for t in ftype.params)
    results = " ".join(str(t) for t in ftype.results)
    cm = compile_wat(f"(module (type (func (param {params}) (result {results}))))")
    return FuncInst(ftype, cm.canon(0), fn, host=True, hostfn=fn, needs_caller=needs_caller)


def both(text: str, imports: Any = None) -> tuple[ModuleInstance, ModuleInstance]:
    """Instances of one module on the llvm and the interp tier (``imports``: a function
    returning fresh imports for a store, or None)."""
    cm = compile_wat(text)
    ours = new_instance(cm, imports() if imports else None, backend=LLVM)
    theirs = new_instance(cm, imports() if imports else None, backend=INTERP)
    return ours, theirs
