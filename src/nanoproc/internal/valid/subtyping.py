"""Subtyping (matching) over canonical types.

All functions here take *canonical* types (concrete heap types are canonical ids, see
:mod:`.canon`), so they answer the same across modules: the validator, the linker
(import matching) and the run-time casts share them.

The validator's polymorphic operand stack adds a bottom value type :data:`BOT` and a
bottom heap type ``"bot"``; both are subtypes of everything of their sort.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..syntax.types import (
    ANY_HIERARCHY,
    EXN_HIERARCHY,
    EXTERN_HIERARCHY,
    FUNC_HIERARCHY,
    ArrayType,
    CompType,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    PackedType,
    RefType,
    StorageType,
    StructType,
)
from . import canon


class BottomType:
    """The bottom value type of unreachable code: a subtype of every value type."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "bot"

    __str__ = __repr__


BOT = BottomType()
BOT_HEAP = "bot"

# Abstract heap type -> the abstract heap types it is a subtype of (itself included).
_ABSTRACT_SUPERS: dict[str, frozenset[str]] = {
    "any": frozenset({"any"}),
    "eq": frozenset({"eq", "any"}),
    "i31": frozenset({"i31", "eq", "any"}),
    "struct": frozenset({"struct", "eq", "any"}),
    "array": frozenset({"array", "eq", "any"}),
    "none": frozenset(ANY_HIERARCHY),
    "func": frozenset({"func"}),
    "nofunc": frozenset(FUNC_HIERARCHY),
    "extern": frozenset({"extern"}),
    "noextern": frozenset(EXTERN_HIERARCHY),
    "exn": frozenset({"exn"}),
    "noexn": frozenset(EXN_HIERARCHY),
}
# Kind of a concrete type -> the abstract heap types above it.
_CONCRETE_SUPERS: dict[str, frozenset[str]] = {
    "func": frozenset({"func"}),
    "struct": frozenset({"struct", "eq", "any"}),
    "array": frozenset({"array", "eq", "any"}),
}
# Kind of a concrete type -> the abstract bottom below it.
_CONCRETE_BOTTOM = {"func": "nofunc", "struct": "none", "array": "none"}
_TOP = {h: hier[0] for hier in (ANY_HIERARCHY, FUNC_HIERARCHY, EXTERN_HIERARCHY, EXN_HIERARCHY)
        for h in hier}  # fmt: skip


def match_heap(a: HeapType, b: HeapType) -> bool:
    """``a <: b`` for canonical heap types."""
    if a == b:
        return True
    if isinstance(a, str):
        if a == BOT_HEAP:
            return True
        if isinstance(b, str):
            sup = _ABSTRACT_SUPERS.get(a)
            return sup is not None and b in sup
        return _CONCRETE_BOTTOM[canon.kind(b)] == a
    if isinstance(b, str):
        return b in _CONCRETE_SUPERS[canon.kind(a)]
    return canon.is_subtype_canon(a, b)


def match_valtype(a: object, b: object) -> bool:
    """``a <: b`` for canonical value types (``a`` may be :data:`BOT`)."""
    if a is b or a is BOT:
        return True
    if type(a) is RefType and type(b) is RefType:
        if a.nullable and not b.nullable:
            return False
        return match_heap(a.heap, b.heap)
    return a == b


def match_results(a: Sequence[object], b: Sequence[object]) -> bool:
    """Pointwise ``a <: b`` for result types of equal length."""
    return len(a) == len(b) and all(map(match_valtype, a, b))


def match_storage(a: StorageType, b: StorageType) -> bool:
    if isinstance(a, PackedType) or isinstance(b, PackedType):
        return a == b
    return match_valtype(a, b)


def match_field(a: FieldType, b: FieldType) -> bool:
    """Immutable fields are covariant; mutable ones must be equal."""
    if a.mutable != b.mutable:
        return False
    if a.mutable:
        return match_storage(a.storage, b.storage) and match_storage(b.storage, a.storage)
    return match_storage(a.storage, b.storage)


def match_comptype(a: CompType, b: CompType) -> bool:
    """``a <: b`` for canonical composite types (declared-supertype validity)."""
    if isinstance(a, FuncType) and isinstance(b, FuncType):
        return match_results(b.params, a.params) and match_results(a.results, b.results)
    if isinstance(a, StructType) and isinstance(b, StructType):
        return len(a.fields) >= len(b.fields) and all(map(match_field, a.fields, b.fields))
    if isinstance(a, ArrayType) and isinstance(b, ArrayType):
        return match_field(a.field, b.field)
    return False


def match_globaltype(a: GlobalType, b: GlobalType) -> bool:
    """``a <: b`` for canonical global types (import matching): mutable globals are
    invariant, immutable ones covariant."""
    if a.mutable != b.mutable:
        return False
    if a.mutable:
        return a.type == b.type
    return match_valtype(a.type, b.type)


def top_heap(h: HeapType) -> str:
    """The top of ``h``'s hierarchy: ``any``, ``func``, ``extern`` or ``exn``."""
    if isinstance(h, int):
        return "func" if canon.kind(h) == "func" else "any"
    return _TOP[h]


def diff_reftype(a: RefType, b: RefType) -> RefType:
    """``a \\ b``: what remains of ``a`` once a successful cast to ``b`` is excluded."""
    return RefType(a.nullable and not b.nullable, a.heap)
