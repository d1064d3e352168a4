"""How references look to native code, and the letters Python-side glue is keyed by.

Natively every reference is a pointer: null is null, a funcref is the address of
its FuncRecord, an exnref the address of a native exception object (see
:mod:`.exnheap`), a GC reference a tagged word (see gcheap: an i31, a native
object's address, or a host object's address with bit 1 set), and any other
reference (externref) the address of the Python object itself (or a tagged GC
reference, after ``extern.convert_any``). Which kind a value is follows from its
static type, so the kinds never mix.

An object's address is only valid while the object lives: Python references keep
it alive (the caller's arguments, the table lists, the globals' keep-alive slots),
and whatever could lose its last Python reference while native frames might still
hold its address is *pinned* until the outermost call returns (see NativeStore).
"""

from __future__ import annotations

from ..syntax.module import Module
from ..syntax.types import (
    ANY_HIERARCHY,
    EXN_HIERARCHY,
    FUNC_HIERARCHY,
    FuncType,
    RefType,
    ValType,
)
from .irgen.types import letter


def is_funcref(t: RefType, module: Module | None = None) -> bool:
    """Whether values of ``t`` are funcrefs. ``module`` resolves a type index; without
    it a concrete heap type is a canonical id (a runtime entity's closed type)."""
    heap = t.heap
    if isinstance(heap, str):
        return heap in FUNC_HIERARCHY
    if module is not None:
        return isinstance(module.deftypes[heap].comp, FuncType)
    from ..valid import canon_kind

    return bool(canon_kind(heap) == "func")


def is_exnref(t: RefType) -> bool:
    """Whether values of ``t`` are exnrefs (native exception objects, see exnheap)."""
    return t.heap in EXN_HIERARCHY


def is_anyref(t: RefType, module: Module | None = None) -> bool:
    """Whether values of ``t`` are in the ``any`` hierarchy (GC references)."""
    heap = t.heap
    if isinstance(heap, str):
        return heap in ANY_HIERARCHY
    if module is not None:
        return not isinstance(module.deftypes[heap].comp, FuncType)
    from ..valid import canon_kind

    return bool(canon_kind(heap) != "func")


def py_letter(t: ValType, module: Module | None = None) -> str:
    """``i I f F`` for numbers, ``r`` for funcrefs, ``e`` for exnrefs, ``a`` for GC
    references (the any hierarchy), ``x`` for other references: the code generator's
    letter (:func:`.irgen.types.letter`), references split."""
    if isinstance(t, RefType) and not is_funcref(t, module):
        if is_exnref(t):
            return "e"
        return "a" if is_anyref(t, module) else "x"
    return letter(t)


def py_shape(ft: FuncType, module: Module | None = None) -> tuple[str, str]:
    return ("".join(py_letter(t, module) for t in ft.params),
            "".join(py_letter(t, module) for t in ft.results))  # fmt: skip
