"""Helpers shared by the tiers' tests: modules from WAT, instances on a given backend,
calls made the way the public API makes them (exceptions converted by the backend).

Tests drive a tier through the runtime core (decode, validate, instantiate with a
backend, call ``FuncInst.call``) so a failure points at the tier, not the API.
Modules are written in WAT and assembled with wasm-tools (cached per text).
"""

from __future__ import annotations

import functools
import subprocess
from typing import Any

from conftest import wasm_tools
from nanoproc.internal.binary import decode_module
from nanoproc.internal.exec.compiled import CompiledModule
from nanoproc.internal.exec.entities import FuncInst
from nanoproc.internal.exec.instance import ModuleInstance, instantiate
from nanoproc.internal.exec.store import StoreState
from nanoproc.internal.syntax.types import FuncType
from nanoproc.internal.valid import validate_module


@functools.cache
def wat2wasm(text: str) -> bytes:
    return subprocess.run(
        [wasm_tools(), "parse", "-"], input=text.encode(), capture_output=True, check=True
    ).stdout


def compile_wasm(data: bytes) -> CompiledModule:
    module = decode_module(data)
    cm = CompiledModule(module, validate_module(module))
    cm.binary = data  # the llvm tier's cache key
    return cm


def compile_wat(text: str) -> CompiledModule:
    return compile_wasm(wat2wasm(text))


def instance_on(backend: Any, module: CompiledModule | str, imports: list[Any] | None = None,
                store: StoreState | None = None) -> ModuleInstance:
    if isinstance(module, str):
        module = compile_wat(module)
    try:
        return instantiate(store or StoreState(None), module, list(imports or []), backend)
    except BaseException as e:
        raise backend.convert_exception(e) from None


def call_on(backend: Any, inst: ModuleInstance, name: str, *args: Any) -> Any:
    """Call an export the way the public API does (exceptions converted)."""
    fi = inst.exports[name]
    assert isinstance(fi, FuncInst)
    try:
        return fi.call(*args)
    except BaseException as e:
        raise backend.convert_exception(e) from None


def host_func(ftype: FuncType, fn: Any, *, needs_caller: bool = False) -> FuncInst:
    """A host function as the API makes them (canonical type id from a 1-type module)."""
    params = " ".join(str(t) for t in ftype.params)
    results = " ".join(str(t) for t in ftype.results)
    cm = compile_wat(f"(module (type (func (param {params}) (result {results}))))")
    return FuncInst(ftype, cm.canon(0), fn, host=True, hostfn=fn, needs_caller=needs_caller)


def api_store(tier: str, *, max_wasm_stack: int | None = None) -> Any:
    """A public-API Store on an engine of ``tier`` (skips the test where llvm cannot run)."""
    import pytest

    import nanoproc
    from nanoproc.api.tiers import llvm_unavailable_reason

    if tier != "interp" and llvm_unavailable_reason() is not None:
        pytest.skip(str(llvm_unavailable_reason()))
    cfg = nanoproc.Config()
    cfg.strategy = tier
    if max_wasm_stack is not None:
        cfg.max_wasm_stack = max_wasm_stack
    return nanoproc.Store(nanoproc.Engine(cfg))


def api_instance(tier: str, wat: str, *, max_wasm_stack: int | None = None) -> tuple[Any, Any]:
    """``(store, exports)`` of ``wat`` instantiated with no imports (see api_store)."""
    import nanoproc

    store = api_store(tier, max_wasm_stack=max_wasm_stack)
    inst = nanoproc.Instance(store, nanoproc.Module(store.engine, wat), [])
    return store, inst.exports(store)
