"""Process-wide type canonicalisation (Wasm 3.0 iso-recursive type equivalence).

Two recursion groups are equivalent when they are structurally identical, with
references to types inside the group compared by position and references to types
outside it compared by canonical identity. Interning each group in one registry
turns that equivalence into integer equality, across every module of the process.

Every type definition gets a *canonical id* (a non-negative ``int``). A *canonical*
type is the same dataclass as a module-level one (:class:`RefType`, :class:`FuncType`,
...) in which every concrete heap type is a canonical id instead of a module's type
index; :func:`definition` returns the canonical :class:`SubType` of an id. Canonical
types compare across modules with ``==`` (equality) and the functions of
:mod:`.subtyping` (subtyping).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ..syntax.types import (
    ArrayType,
    CompType,
    FieldType,
    FuncType,
    RecType,
    RefType,
    StorageType,
    StructType,
    SubType,
    ValType,
)

_lock = threading.Lock()
_groups: dict[tuple[SubType, ...], int] = {}
"""Group key (internal references as negative positions) -> id of its first type."""
_defs: list[SubType] = []
"""Canonical id -> canonical definition."""
_kinds: list[str] = []
"""Canonical id -> ``func``, ``struct`` or ``array``."""
_parent: list[int] = []
"""Canonical id -> id of the declared supertype, or -1."""
_depth: list[int] = []
"""Canonical id -> length of its supertype chain."""

_KIND_OF = {FuncType: "func", StructType: "struct", ArrayType: "array"}


def map_valtype(t: ValType, f: Callable[[int], int]) -> ValType:
    """``t`` with every concrete heap type ``i`` replaced by ``f(i)``."""
    if isinstance(t, RefType) and isinstance(t.heap, int):
        return RefType(t.nullable, f(t.heap))
    return t


def _map_storage(t: StorageType, f: Callable[[int], int]) -> StorageType:
    if isinstance(t, RefType) and isinstance(t.heap, int):
        return RefType(t.nullable, f(t.heap))
    return t


def map_comptype(ct: CompType, f: Callable[[int], int]) -> CompType:
    """``ct`` with every concrete heap type ``i`` replaced by ``f(i)``."""
    if isinstance(ct, FuncType):
        return FuncType(
            tuple(map_valtype(t, f) for t in ct.params),
            tuple(map_valtype(t, f) for t in ct.results),
        )
    if isinstance(ct, StructType):
        return StructType(
            tuple(FieldType(_map_storage(fd.storage, f), fd.mutable) for fd in ct.fields)
        )
    return ArrayType(FieldType(_map_storage(ct.field.storage, f), ct.field.mutable))


def _map_subtype(st: SubType, f: Callable[[int], int]) -> SubType:
    return SubType(map_comptype(st.comp, f), st.final, tuple(f(s) for s in st.supers))


def canonicalize_group(rec: RecType, first: int, prior: Sequence[int]) -> tuple[int, ...]:
    """Canonical ids of the types of ``rec``.

    ``first`` is the module type index of the group's first type and ``prior[i]`` the
    canonical id of module type ``i`` for every ``i < first``. The caller (the
    validator) has checked that every type index in the group is below
    ``first + len(rec.subtypes)`` and that each type declares at most one supertype,
    with a smaller index; ValueError otherwise.
    """
    n = len(rec.subtypes)
    end = first + n

    def key_ref(i: int) -> int:
        if i >= end or i < 0:
            raise ValueError(f"type index {i} outside the recursion group's scope")
        return prior[i] if i < first else first - i - 1

    for k, st in enumerate(rec.subtypes):
        if len(st.supers) > 1 or any(s >= first + k for s in st.supers):
            raise ValueError("supertypes must be unique and declared earlier")
    key = tuple(_map_subtype(st, key_ref) for st in rec.subtypes)
    base = _intern(key)
    return tuple(range(base, base + n))


def _intern(key: tuple[SubType, ...]) -> int:
    """Canonical id of the first type of the group ``key`` (registered if new).

    In ``key`` a reference ``-k-1`` is the group's own ``k``-th type; any other is a
    canonical id.
    """
    with _lock:
        base = _groups.get(key)
        if base is None:
            base = len(_defs)
            for st in key:
                canon = _map_subtype(st, lambda i: base - i - 1 if i < 0 else i)
                gid = len(_defs)
                _defs.append(canon)
                _kinds.append(_KIND_OF[type(canon.comp)])
                sup = canon.supers[0] if canon.supers else -1
                assert sup < gid
                _parent.append(sup)
                _depth.append(_depth[sup] + 1 if sup >= 0 else 0)
            _groups[key] = base
    return base


def intern_canonical(st: SubType) -> int:
    """Canonical id of a lone type definition written in canonical ids (host types).

    The same as a module's ``(type ...)`` group of one with those references, so a
    host function of type ``(func (param i32))`` links against modules declaring it.
    """
    refs = list(st.supers)

    def note(i: int) -> int:
        refs.append(i)
        return i

    map_comptype(st.comp, note)
    if len(st.supers) > 1 or any(not 0 <= i < len(_defs) for i in refs):
        raise ValueError("a canonical type may only refer to registered canonical ids")
    return _intern((st,))


def definition(cid: int) -> SubType:
    """The canonical definition of canonical id ``cid``."""
    return _defs[cid]


def kind(cid: int) -> str:
    """``func``, ``struct`` or ``array``: the kind of composite type ``cid`` defines."""
    return _kinds[cid]


def supertype(cid: int) -> int | None:
    """The declared supertype of ``cid``, if any."""
    p = _parent[cid]
    return None if p < 0 else p


def is_subtype_canon(a: int, b: int) -> bool:
    """Whether canonical type ``a`` is a (reflexive, transitive) declared subtype of ``b``.

    Holds across modules: link-time import checks and run-time casts use it.
    """
    if a == b:
        return True
    depth, parent = _depth, _parent
    d = depth[b]
    if depth[a] <= d:
        return False
    while depth[a] > d:
        a = parent[a]
    return a == b


def count() -> int:
    """Number of canonical ids handed out so far.

    Host code registers a type written directly in canonical ids with
    ``canonicalize_group(group, count(), range(count()))``.
    """
    return len(_defs)
