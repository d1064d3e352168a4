"""Facts about canonical struct and array types that every tier's GC needs.

Canonical ids are process-wide (see :mod:`..valid.canon`), so these facts are
computed once per id and cached for the life of the process, as the registry is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..syntax.types import (
    F32,
    F64,
    I32,
    I64,
    V128,
    ArrayType,
    FieldType,
    PackedType,
    RefType,
    StorageType,
    StructType,
)
from ..valid import canon

MAX_ARRAY_LENGTH = 1 << 27
"""Longest array either tier allocates (longer ones trap "allocation too large"), so a
module cannot ask for gigabytes with one instruction; both tiers agree on it."""


def default_of(t: StorageType) -> Any:
    """The default value of a field (as the runtime represents it)."""
    if t is F32 or t is F64:
        return 0.0
    if isinstance(t, RefType):
        return None
    return 0


def packed_mask(t: StorageType) -> int:
    """The mask a stored value is cut to: 0xFF / 0xFFFF for i8 / i16, else 0 (none)."""
    if isinstance(t, PackedType):
        return (1 << t.bits) - 1
    return 0


@cache
def struct_fields(cid: int) -> tuple[FieldType, ...]:
    ct = canon.definition(cid).comp
    assert isinstance(ct, StructType), f"canonical type {cid} is not a struct"
    return ct.fields


@cache
def array_field(cid: int) -> FieldType:
    ct = canon.definition(cid).comp
    assert isinstance(ct, ArrayType), f"canonical type {cid} is not an array"
    return ct.field


@cache
def supers(cid: int) -> frozenset[int]:
    """``cid`` and every canonical type it is declared a subtype of."""
    out = {cid}
    p = canon.supertype(cid)
    while p is not None:
        out.add(p)
        p = canon.supertype(p)
    return frozenset(out)


def declares_gc_types(module: Any) -> bool:
    """Whether a compiled module declares struct or array types: only such a module's
    code can make or look into GC objects, so only it must run on the tier whose
    objects its store holds (the tiered strategy runs it on the llvm tier)."""
    got = module.artifacts.get("declares_gc_types")
    if got is None:
        from ..syntax.types import FuncType

        got = any(not isinstance(st.comp, FuncType) for st in module.module.deftypes)
        module.artifacts["declares_gc_types"] = got
    return bool(got)


def is_final(cid: int) -> bool:
    return canon.definition(cid).final


def storage_size(t: StorageType) -> int:
    """Bytes an element of this storage type takes in a packed byte layout."""
    if isinstance(t, PackedType):
        return t.bits // 8
    if t is I32 or t is F32:
        return 4
    if t is I64 or t is F64:
        return 8
    if t is V128:
        return 16
    return 8
