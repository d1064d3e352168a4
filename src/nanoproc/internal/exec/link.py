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


def func_type_text(ft: Any) -> str:
    """A function type as wasmtime's messages spell it: ``(func (param i32) (result i64))``."""
    parts = ["func"]
    if ft.params:
        parts.append("(param " + " ".join(str(t) for t in ft.params) + ")")
    if ft.results:
        parts.append("(result " + " ".join(str(t) for t in ft.results) + ")")
    return "(" + " ".join(parts) + ")"


def _limits_text(lo: int, hi: int | None) -> str:
    return f"(min: {lo}, max: {'none' if hi is None else hi})"


def _memory_mismatch(want: MemType, have_l: Limits, pages: int, page_size: int) -> str | None:
    want_l = want.limits
    if have_l.addr64 != want_l.addr64:
        bits = {True: "64-bit", False: "32-bit"}
        return f"expected {bits[want_l.addr64]} memory, found {bits[have_l.addr64]} memory"
    if have_l.shared != want_l.shared:
        return ("expected shared memory, found non-shared memory" if want_l.shared
                else "expected non-shared memory, found shared memory")  # fmt: skip
    if page_size != want.page_size:
        return (f"expected a memory with a page size of {want.page_size}, but received a "
                f"memory with a page size of {page_size}")
    if not _limits_match(pages, have_l.max, want_l):
        return (f"expected memory limits {_limits_text(want_l.min, want_l.max)} doesn't "
                f"match provided memory limits {_limits_text(pages, have_l.max)}")
    return None


def check_import(module: CompiledModule, imp: Import, ext: Any) -> None:
    """Raise LinkError unless ``ext`` matches the import ``imp`` of ``module``; the
    message names what was expected and what was found, as wasmtime's does."""
    from .entities import FuncInst, GlobalInst, TableInst, TagInst
    from .memory import MemoryInst

    where = f"`{imp.module}::{imp.name}`"

    def fail(detail: str) -> LinkError:
        return LinkError(f"incompatible import type for {where}: {detail}")

    if imp.kind == "func":
        assert isinstance(ext, FuncInst) and isinstance(imp.desc, int)
        if not heap_subtype(ext.canon, module.canon(imp.desc)):
            want_f = module.module.functype(imp.desc)
            raise fail(f"types incompatible: expected type `{func_type_text(want_f)}`, "
                       f"found type `{func_type_text(ext.type)}`")
    elif imp.kind == "table":
        assert isinstance(ext, TableInst) and isinstance(imp.desc, TableType)
        want = close_table(imp.desc, module)
        have = ext.type
        if have.limits.addr64 != want.limits.addr64:
            bits = {True: "64-bit", False: "32-bit"}
            raise fail(f"table types incompatible: expected {bits[want.limits.addr64]} "
                       f"table, found {bits[have.limits.addr64]} table")
        if not (valtype_subtype(have.elem, want.elem) and valtype_subtype(want.elem, have.elem)):
            raise fail(f"table types incompatible: expected table of type `{imp.desc.elem}`, "
                       f"found table of type `{have.elem}`")
        if not _limits_match(len(ext.elems), have.limits.max, want.limits):
            raise fail(f"table types incompatible: expected table limits "
                       f"{_limits_text(want.limits.min, want.limits.max)} doesn't match "
                       f"provided table limits {_limits_text(len(ext.elems), have.limits.max)}")
    elif imp.kind == "memory":
        assert isinstance(ext, MemoryInst) and isinstance(imp.desc, MemType)
        detail = _memory_mismatch(imp.desc, ext.type.limits, ext.pages, ext.page_size)
        if detail is not None:
            raise fail(f"memory types incompatible: {detail}")
    elif imp.kind == "global":
        assert isinstance(ext, GlobalInst) and isinstance(imp.desc, GlobalType)
        want_g = close_global(imp.desc, module)
        have_g = ext.type
        if have_g.mutable != want_g.mutable:
            mut = {True: "mutable", False: "immutable"}
            raise fail(f"global types incompatible: expected {mut[want_g.mutable]} global, "
                       f"found {mut[have_g.mutable]} global")
        if have_g.mutable:
            ok = valtype_subtype(have_g.type, want_g.type) and valtype_subtype(
                want_g.type, have_g.type
            )
        else:
            ok = valtype_subtype(have_g.type, want_g.type)
        if not ok:
            raise fail(f"global types incompatible: expected global of type "
                       f"`{imp.desc.type}`, found global of type `{have_g.type}`")
    elif imp.kind == "tag":
        assert isinstance(ext, TagInst)
        typeidx = imp.desc.typeidx  # type: ignore[union-attr]
        c = module.canon(typeidx)
        if not (heap_subtype(ext.canon, c) and heap_subtype(c, ext.canon)):
            raise fail(f"tag types incompatible: expected tag of type "
                       f"`{func_type_text(module.module.functype(typeidx))}`, found tag of type "
                       f"`{func_type_text(ext.functype)}`")
    else:  # pragma: no cover - the decoder only produces the five kinds
        raise LinkError(f"unknown import kind {imp.kind}")
