"""How references look to native code, and the letters Python-side glue is keyed by.

Natively every reference is a pointer: null is null, a funcref is the address of
its FuncRecord, an exnref the address of a native exception object (see
:mod:`.exnheap`), and any other reference (externref, and the null-only GC types a
module may declare) is the address of the Python object itself. Whether a value is
a funcref is decided by its static type, so the two kinds never mix.

An object's address is only valid while the object lives: Python references keep
it alive (the caller's arguments, the table lists, the globals' keep-alive slots),
and whatever could lose its last Python reference while native frames might still
hold its address is *pinned* until the outermost call returns (see NativeStore).
"""

from __future__ import annotations

from ..syntax.module import Module
from ..syntax.types import EXN_HIERARCHY, FUNC_HIERARCHY, FuncType, RefType, ValType
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


def py_letter(t: ValType, module: Module | None = None) -> str:
    """``i I f F`` for numbers, ``r`` for funcrefs, ``e`` for exnrefs, ``x`` for other
    references: the code generator's letter (:func:`.irgen.types.letter`), references
    split."""
    if isinstance(t, RefType) and not is_funcref(t, module):
        return "e" if is_exnref(t) else "x"
    return letter(t)


def py_shape(ft: FuncType, module: Module | None = None) -> tuple[str, str]:
    return ("".join(py_letter(t, module) for t in ft.params),
            "".join(py_letter(t, module) for t in ft.results))  # fmt: skip
