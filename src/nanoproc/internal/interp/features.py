"""Which modules the interp tier can run.

SIMD, GC and exception handling are not implemented in this tier yet. A module
that uses them is refused at instantiation with UnsupportedFeature, so it can never
run with a wrong result. The scan runs once per module (the artifact caches it).
"""

from __future__ import annotations

from ..syntax.module import Module
from ..syntax.types import (
    ANY_HIERARCHY,
    EXN_HIERARCHY,
    V128,
    ArrayType,
    FuncType,
    RefType,
    StructType,
    ValType,
)

_GC_HEAPS = frozenset(ANY_HIERARCHY)
_EXN_HEAPS = frozenset(EXN_HIERARCHY)
_OP_FEATURE = {"simd": "simd", "relaxed_simd": "simd", "gc": "gc", "exceptions": "exceptions"}


def _valtype_feature(t: ValType) -> str | None:
    if t is V128:
        return "simd"
    if isinstance(t, RefType) and isinstance(t.heap, str):
        if t.heap in _GC_HEAPS:
            return "gc"
        if t.heap in _EXN_HEAPS:
            return "exceptions"
    return None


def _functype_feature(ft: FuncType) -> str | None:
    for t in ft.params + ft.results:
        f = _valtype_feature(t)
        if f:
            return f
    return None


def unsupported_feature(module: Module) -> str | None:
    """The first feature ``module`` needs that the interp tier lacks, or None."""
    for st in module.deftypes:
        comp = st.comp
        if isinstance(comp, (StructType, ArrayType)):
            return "gc"
        f = _functype_feature(comp)
        if f:
            return f
    if module.tags or any(i.kind == "tag" for i in module.imports):
        return "exceptions"
    for g in module.global_types():
        f = _valtype_feature(g.type)
        if f:
            return f
    for t in module.table_types():
        f = _valtype_feature(t.elem)
        if f:
            return f
    for e in module.elems:
        f = _valtype_feature(e.type)
        if f:
            return f
    for func in module.funcs:
        for _, t in func.locals:
            f = _valtype_feature(t)
            if f:
                return f
        for ins in func.instrs:
            f = _OP_FEATURE.get(ins[0].feature)
            if f:
                return f
            for imm in ins[1:]:
                if isinstance(imm, RefType) or imm is V128:
                    f = _valtype_feature(imm)
                    if f:
                        return f
                elif isinstance(imm, str) and imm in _GC_HEAPS:
                    return "gc"
                elif isinstance(imm, str) and imm in _EXN_HEAPS:
                    return "exceptions"
                elif isinstance(imm, tuple):
                    for x in imm:
                        if isinstance(x, (RefType,)) or x is V128:
                            f = _valtype_feature(x)
                            if f:
                                return f
    return None
