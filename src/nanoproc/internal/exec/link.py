"""Import matching (spec "external types" and "matching", sections 3.2 and 4.5.3).

Runtime entities carry *closed* types: every concrete heap type is replaced by the
canonical identity of its type (from the validator's canonicalisation), so types
from different modules compare directly. ``close_*`` turn a module's types into
closed ones; ``check_import`` raises ``LinkError`` when an entity does not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import LinkError
from ..syntax.module import Import
from ..syntax.types import (
    GlobalType,
    Limits,
    MemType,
    RefType,
    TableType,
    ValType,
)
from ..valid.subtyping import match_heap, match_valtype

if TYPE_CHECKING:
    from .compiled import CompiledModule

def close_valtype(t: ValType, module: CompiledModule) -> ValType:
    """Replace concrete type indices by canonical identities."""
    if isinstance(t, RefType) and isinstance(t.heap, int):
        return RefType(t.nullable, module.canon(t.heap))
    return t


def close_table(t: TableType, module: CompiledModule) -> TableType:
    elem = close_valtype(t.elem, module)
    assert isinstance(elem, RefType)
    return TableType(elem, t.limits)


def close_global(t: GlobalType, module: CompiledModule) -> GlobalType:
    return GlobalType(close_valtype(t.type, module), t.mutable)


def heap_subtype(a: Any, b: Any) -> bool:
    """Closed heap type ``a`` <: ``b`` (the validator's canonical subtyping)."""
    return match_heap(a, b)


def valtype_subtype(a: ValType, b: ValType) -> bool:
    """Closed value type ``a`` <: ``b``."""
    return match_valtype(a, b)


def _limits_match(actual_min: int, actual_max: int | None, expected: Limits) -> bool:
    if actual_min < expected.min:
        return False
    if expected.max is None:
        return True
    return actual_max is not None and actual_max <= expected.max


def check_import(module: CompiledModule, imp: Import, ext: Any) -> None:
    """Raise LinkError unless ``ext`` matches the import ``imp`` of ``module``."""
    from .entities import FuncInst, GlobalInst, TableInst, TagInst
    from .memory import MemoryInst

    where = f"`{imp.module}::{imp.name}`"
    if imp.kind == "func":
        assert isinstance(ext, FuncInst) and isinstance(imp.desc, int)
        if not heap_subtype(ext.canon, module.canon(imp.desc)):
            raise LinkError(f"incompatible import type for {where}: function types do not match")
    elif imp.kind == "table":
        assert isinstance(ext, TableInst) and isinstance(imp.desc, TableType)
        want = close_table(imp.desc, module)
        have = ext.type
        ok = (
            have.limits.addr64 == want.limits.addr64
            and valtype_subtype(have.elem, want.elem)
            and valtype_subtype(want.elem, have.elem)
            and _limits_match(len(ext.elems), have.limits.max, want.limits)
        )
        if not ok:
            raise LinkError(f"incompatible import type for {where}: table types do not match")
    elif imp.kind == "memory":
        assert isinstance(ext, MemoryInst) and isinstance(imp.desc, MemType)
        want_l = imp.desc.limits
        have_l = ext.type.limits
        ok = (
            have_l.addr64 == want_l.addr64
            and ext.page_size == imp.desc.page_size
            and _limits_match(ext.pages, have_l.max, want_l)
        )
        if not ok:
            raise LinkError(f"incompatible import type for {where}: memory types do not match")
    elif imp.kind == "global":
        assert isinstance(ext, GlobalInst) and isinstance(imp.desc, GlobalType)
        want_g = close_global(imp.desc, module)
        have_g = ext.type
        if have_g.mutable != want_g.mutable:
            ok = False
        elif have_g.mutable:
            ok = valtype_subtype(have_g.type, want_g.type) and valtype_subtype(
                want_g.type, have_g.type
            )
        else:
            ok = valtype_subtype(have_g.type, want_g.type)
        if not ok:
            raise LinkError(f"incompatible import type for {where}: global types do not match")
    elif imp.kind == "tag":
        assert isinstance(ext, TagInst)
        typeidx = imp.desc.typeidx  # type: ignore[union-attr]
        c = module.canon(typeidx)
        if not (heap_subtype(ext.canon, c) and heap_subtype(c, ext.canon)):
            raise LinkError(f"incompatible import type for {where}: tag types do not match")
    else:  # pragma: no cover - the decoder only produces the five kinds
        raise LinkError(f"unknown import kind {imp.kind}")
