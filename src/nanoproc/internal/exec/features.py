"""Which modules the execution tiers can run (both tiers share this rule).

SIMD and exception handling are not implemented in the tiers yet. A module whose
code uses their instructions, or that passes v128 values around, is refused at
instantiation with UnsupportedFeature, so it can never run with a wrong result.
Merely declaring tags is fine: without exception instructions such a module can
only ever see plain tag identities, which the runtime core handles.

The scan runs once per module (the artifact caches the answer).
"""

from __future__ import annotations

from ..syntax.module import Module
from ..syntax.types import V128, FuncType

_OP_FEATURE = {"simd": "simd", "relaxed_simd": "simd", "exceptions": "exceptions"}


def _has_v128(ft: FuncType) -> bool:
    return any(t is V128 for t in ft.params + ft.results)


def unsupported_feature(module: Module, have: frozenset[str] = frozenset()) -> str | None:
    """The first feature ``module`` needs that the tiers lack, or None (``have``: the
    features of this list a tier does run)."""
    if "simd" in have:
        return _unsupported_besides_simd(module, have)
    for st in module.deftypes:
        if isinstance(st.comp, FuncType) and _has_v128(st.comp):
            return "simd"
    if any(g.type is V128 for g in module.global_types()):
        return "simd"
    for func in module.funcs:
        if any(t is V128 for _, t in func.locals):
            return "simd"
        for ins in func.instrs:
            f = _OP_FEATURE.get(ins[0].feature)
            if f and f not in have:
                return f
            if ins[1:2] == (V128,):  # block type
                return "simd"
    return None


def _unsupported_besides_simd(module: Module, have: frozenset[str]) -> str | None:
    for func in module.funcs:
        for ins in func.instrs:
            f = _OP_FEATURE.get(ins[0].feature)
            if f and f not in have:
                return f
    return None
