"""Refusing modules that use a proposal the engine's ``Config`` disabled.

nanoproc implements Wasm 3.0 as a whole, so every feature is on by default; a
``Config.wasm_simd = False`` (say) must still make such modules fail to compile,
as in wasmtime. The scan below runs only when something was disabled.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..internal.errors import WasmtimeError
from ..internal.syntax import types as T
from ..internal.syntax.module import Module

_INSTRUCTION_FEATURES = {
    "simd": "simd",
    "relaxed_simd": "relaxed_simd",
    "tail_call": "tail_call",
    "reference_types": "reference_types",
    "bulk_memory": "bulk_memory",
    "exceptions": "exceptions",
    "function_references": "function_references",
    "gc": "gc",
}
"""Config feature -> the ``Op.feature`` of the instructions it gates."""

GATED = frozenset(_INSTRUCTION_FEATURES) | {"multi_value", "multi_memory", "memory64",
                                            "custom_page_sizes"}  # fmt: skip


def _disabled_error(feature: str) -> WasmtimeError:
    return WasmtimeError(f"{feature.replace('_', ' ')} support is not enabled")


def check_features(module: Module, enabled: frozenset[str]) -> None:
    """Raise WasmtimeError if ``module`` uses a gated feature not in ``enabled``."""
    disabled = GATED - enabled
    if not disabled:
        return
    for feature in sorted(disabled):
        if _uses_structure(module, feature):
            raise _disabled_error(feature)
    op_features = {_INSTRUCTION_FEATURES[f] for f in disabled if f in _INSTRUCTION_FEATURES}
    if op_features:
        for op_feature in _instruction_features(module):
            if op_feature in op_features:
                raise _disabled_error(op_feature)


def _valtypes(module: Module) -> Iterable[T.ValType]:
    for st in module.deftypes:
        if isinstance(st.comp, T.FuncType):
            yield from st.comp.params
            yield from st.comp.results
    for f in module.funcs:
        for _, t in f.locals:
            yield t
    for g in module.global_types():
        yield g.type


def _limits(module: Module) -> Iterable[T.Limits]:
    for m in module.memory_types():
        yield m.limits
    for t in module.table_types():
        yield t.limits


def _uses_structure(module: Module, feature: str) -> bool:
    """Uses of ``feature`` outside instructions (types, memories, tags, ...)."""
    if feature == "multi_value":
        return any(
            isinstance(st.comp, T.FuncType) and len(st.comp.results) > 1
            for st in module.deftypes
        )
    if feature == "multi_memory":
        return len(module.memory_types()) > 1
    if feature == "memory64":
        return any(lim.addr64 for lim in _limits(module))
    if feature == "custom_page_sizes":
        return any(m.limits.page_size_log2 is not None for m in module.memory_types())
    if feature == "simd":
        return any(t == T.V128 for t in _valtypes(module))
    if feature == "exceptions":
        return bool(module.tag_types())
    if feature == "gc":
        return any(not isinstance(st.comp, T.FuncType) for st in module.deftypes)
    if feature == "bulk_memory":
        return any(d.mode == "passive" for d in module.datas)
    return False


def _instruction_features(module: Module) -> Iterable[str]:
    for f in module.funcs:
        for instr in f.instrs:
            yield instr[0].feature
    for g in module.globals:
        for instr in g.init:
            yield instr[0].feature
