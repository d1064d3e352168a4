"""Which modules the execution tiers can run (both tiers share this rule).

Exception handling is not implemented in every tier yet (SIMD and GC run in both;
a tier lists what it runs as ``have``). A module whose code uses instructions of a
feature its tier lacks is refused at instantiation with UnsupportedFeature, so it
can never run with a wrong result. Merely declaring tags is fine: without exception
instructions such a module can only ever see plain tag identities, which the
runtime core handles.

The scan runs once per module (the artifact caches the answer).
"""

from __future__ import annotations

from ..syntax.module import Module

_OP_FEATURE = {"exceptions": "exceptions"}


def unsupported_feature(module: Module, have: frozenset[str] = frozenset()) -> str | None:
    """The first feature ``module`` needs that the tiers lack, or None (``have``: the
    features of this list a tier does run)."""
    if have.issuperset(_OP_FEATURE.values()):
        return None  # nothing to look for (the scan would decode every body)
    for func in module.funcs:
        for ins in func.instrs:
            f = _OP_FEATURE.get(ins[0].feature)
            if f and f not in have:
                return f
    return None
