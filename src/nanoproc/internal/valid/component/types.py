"""Component types as validation sees them (Explainer.md "Type checking").

Types are structural except resources, which are abstract and generative. Both
facts are modelled directly:

* :class:`RId` is a resource's identity: created when a resource type is defined,
  imported (``(sub resource)``) or exported abstractly, and when a component is
  instantiated (its defined resources become fresh). Two resource types are equal
  iff their RIds are the same object.
* :class:`T` is one *use* of a type, such as an entry of a type index space. Its
  ``data`` holds the structure (or the RId of a resource); distinct T objects may
  share data, which is how an ``(eq t)`` import or an export aliases a type
  (wasmparser's "alias ids"). Subtyping looks only at ``data``; whether a type has
  an externally visible name looks at the T itself, so the same structure can be
  named under one use and anonymous under another.

Substitution (:class:`Remap`) replaces RIds (imports supplied by ``with``, fresh
resources of an instantiation) and renames type uses; it rebuilds only what changes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count()


class RId:
    """A resource identity. Compared by identity only."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = next(_counter)

    def __repr__(self) -> str:
        return f"ResourceId({self.n})"


class T:
    """A type use: ``kind`` is ``resource`` (``data`` an RId), ``defined``, ``func``,
    ``instance`` or ``component``."""

    __slots__ = ("kind", "data", "__weakref__")

    def __init__(self, kind: str, data: Any) -> None:
        self.kind = kind
        self.data = data

    def alias(self) -> T:
        """A new use of the same type (wasmparser's ``with_unique``)."""
        return T(self.kind, self.data)

    def desc(self) -> str:
        return _ANY_DESC[self.kind]

    def __repr__(self) -> str:
        return f"T({self.kind}, {self.data!r})"


_ANY_DESC = {"resource": "resource", "defined": "defined type", "func": "func",
             "instance": "instance", "component": "component"}  # fmt: skip

VT = Any
"""A value type: a primitive name (``str``) or a ``T`` of kind ``defined``."""


# ---------------------------------------------------------------- defined value types
@dataclass(frozen=True, eq=False, slots=True)
class DPrim:
    name: str


@dataclass(frozen=True, eq=False, slots=True)
class DRecord:
    fields: tuple[tuple[str, VT], ...]


@dataclass(frozen=True, eq=False, slots=True)
class DVariant:
    cases: tuple[tuple[str, VT | None], ...]


@dataclass(frozen=True, eq=False, slots=True)
class DList:
    elem: VT
    length: int | None = None


@dataclass(frozen=True, eq=False, slots=True)
class DTuple:
    types: tuple[VT, ...]


@dataclass(frozen=True, eq=False, slots=True)
class DFlags:
    labels: tuple[str, ...]


@dataclass(frozen=True, eq=False, slots=True)
class DEnum:
    labels: tuple[str, ...]


@dataclass(frozen=True, eq=False, slots=True)
class DOption:
    type: VT


@dataclass(frozen=True, eq=False, slots=True)
class DResult:
    ok: VT | None
    err: VT | None


@dataclass(frozen=True, eq=False, slots=True)
class DOwn:
    res: T
    """A T of kind ``resource``."""


@dataclass(frozen=True, eq=False, slots=True)
class DBorrow:
    res: T


@dataclass(frozen=True, eq=False, slots=True)
class DStream:
    type: VT | None


@dataclass(frozen=True, eq=False, slots=True)
class DFuture:
    type: VT | None


@dataclass(frozen=True, eq=False, slots=True)
class DMap:
    key: VT
    value: VT


Defined = (DPrim | DRecord | DVariant | DList | DTuple | DFlags | DEnum | DOption | DResult
           | DOwn | DBorrow | DStream | DFuture | DMap)  # fmt: skip

_DEF_DESC = {DPrim: "primitive", DRecord: "record", DVariant: "variant", DList: "list",
             DTuple: "tuple", DFlags: "flags", DEnum: "enum", DOption: "option",
             DResult: "result", DOwn: "own", DBorrow: "borrow", DStream: "stream",
             DFuture: "future", DMap: "map"}  # fmt: skip


def defined_desc(d: Any) -> str:
    if isinstance(d, DList) and d.length is not None:
        return "list"
    return _DEF_DESC[type(d)]


def val_data(v: VT) -> Any:
    """The structure of a value type: a DPrim for primitives."""
    if isinstance(v, str):
        return _PRIMS.setdefault(v, DPrim(v))
    return v.data


_PRIMS: dict[str, DPrim] = {}


# ---------------------------------------------------------------- other types
@dataclass(frozen=True, eq=False, slots=True)
class FuncT:
    params: tuple[tuple[str, VT], ...]
    result: VT | None
    is_async: bool = False


@dataclass(eq=False, slots=True)
class Entity:
    """The type of an importable/exportable item (wasmparser ``ComponentEntityType``).

    ``kind``: ``module`` (``a`` a ModT), ``func``/``instance``/``component`` (``a`` a
    T), ``value`` (``a`` a VT), ``type`` (``a`` the T created for this item, ``b`` the
    T it refers to).
    """

    kind: str
    a: Any
    b: Any = None

    def desc(self) -> str:
        return "module" if self.kind == "module" else self.kind


@dataclass(eq=False, slots=True)
class Item:
    """An import or export: its entity type and (type-irrelevant) attributes."""

    ty: Entity
    implements: str | None = None
    version_suffix: str | None = None
    external_id: str | None = None


@dataclass(eq=False, slots=True)
class InstT:
    exports: dict[str, Item] = field(default_factory=dict)
    defined_resources: list[RId] = field(default_factory=list)
    explicit_resources: dict[RId, list[int]] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class CompT:
    imports: dict[str, Item] = field(default_factory=dict)
    exports: dict[str, Item] = field(default_factory=dict)
    imported_resources: list[tuple[RId, list[int]]] = field(default_factory=list)
    defined_resources: list[tuple[RId, list[int]]] = field(default_factory=list)
    explicit_resources: dict[RId, list[int]] = field(default_factory=dict)


# ---------------------------------------------------------------- core types
@dataclass(frozen=True, slots=True)
class CoreEntity:
    """A core extern type: ``kind`` func/table/memory/global/tag; ``t`` a canonical
    function type id (func, tag) or the canonical table/memory/global type."""

    kind: str
    t: Any


@dataclass(eq=False, slots=True)
class ModT:
    imports: dict[tuple[str, str], CoreEntity] = field(default_factory=dict)
    exports: dict[str, CoreEntity] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class CoreInstT:
    exports: dict[str, CoreEntity] = field(default_factory=dict)


# ---------------------------------------------------------------- free variables
def free_vars_entity(e: Entity, out: set[RId]) -> None:
    k = e.kind
    if k == "func":
        free_vars_func(e.a.data, out)
    elif k == "instance":
        free_vars_inst(e.a.data, out)
    elif k == "component":
        free_vars_comp(e.a.data, out)
    elif k == "type":
        free_vars_t(e.a, out)
    elif k == "value":
        free_vars_vt(e.a, out)


def free_vars_t(t: T, out: set[RId]) -> None:
    k = t.kind
    if k == "resource":
        out.add(t.data)
    elif k == "defined":
        free_vars_def(t.data, out)
    elif k == "func":
        free_vars_func(t.data, out)
    elif k == "instance":
        free_vars_inst(t.data, out)
    else:
        free_vars_comp(t.data, out)


def free_vars_vt(v: VT, out: set[RId]) -> None:
    if not isinstance(v, str):
        free_vars_def(v.data, out)


def free_vars_def(d: Any, out: set[RId]) -> None:
    for child in def_children(d):
        free_vars_vt(child, out)
    if isinstance(d, (DOwn, DBorrow)):
        out.add(d.res.data)


def def_children(d: Any) -> list[VT]:
    """The value types directly inside a defined type."""
    if isinstance(d, DRecord):
        return [t for _, t in d.fields]
    if isinstance(d, DVariant):
        return [t for _, t in d.cases if t is not None]
    if isinstance(d, (DList,)):
        return [d.elem]
    if isinstance(d, DTuple):
        return list(d.types)
    if isinstance(d, DOption):
        return [d.type]
    if isinstance(d, DResult):
        return [t for t in (d.ok, d.err) if t is not None]
    if isinstance(d, (DStream, DFuture)):
        return [] if d.type is None else [d.type]
    if isinstance(d, DMap):
        return [d.key, d.value]
    return []


def free_vars_func(f: FuncT, out: set[RId]) -> None:
    for _, t in f.params:
        free_vars_vt(t, out)
    if f.result is not None:
        free_vars_vt(f.result, out)


def free_vars_inst(i: InstT, out: set[RId]) -> None:
    inner: set[RId] = set()
    for item in i.exports.values():
        free_vars_entity(item.ty, inner)
    inner.difference_update(i.defined_resources)
    out |= inner


def free_vars_comp(c: CompT, out: set[RId]) -> None:
    inner: set[RId] = set()
    for item in itertools.chain(c.imports.values(), c.exports.values()):
        free_vars_entity(item.ty, inner)
    for rid, _ in itertools.chain(c.imported_resources, c.defined_resources):
        inner.discard(rid)
    out |= inner


def contains_borrow(v: VT) -> bool:
    if isinstance(v, str):
        return False
    d = v.data
    if isinstance(d, DBorrow):
        return True
    return any(contains_borrow(c) for c in def_children(d))


# ---------------------------------------------------------------- substitution
class Remap:
    """A substitution: ``resources`` maps RIds; ``types`` maps type uses (filled as
    types are rebuilt, and by the renamings of an instantiation's type imports)."""

    __slots__ = ("resources", "types")

    def __init__(self, resources: dict[RId, RId] | None = None) -> None:
        self.resources: dict[RId, RId] = resources or {}
        self.types: dict[T, T] = {}

    def t(self, t: T) -> T:
        """``t`` after substitution (``t`` itself when nothing changes)."""
        got = self.types.get(t)
        if got is not None:
            return got
        k = t.kind
        if k == "resource":
            new_rid = self.resources.get(t.data)
            if new_rid is None:
                return t
            new = T("resource", new_rid)
            self.types[t] = new
            return new
        data = t.data
        if k == "defined":
            nd = self.defined(data)
        elif k == "func":
            nd = self.func(data)
        elif k == "instance":
            nd = self.inst(data)
        else:
            nd = self.comp(data)
        new = t if nd is data else T(k, nd)
        self.types[t] = new
        return new

    def vt(self, v: VT) -> VT:
        return v if isinstance(v, str) else self.t(v)

    def _ovt(self, v: VT | None) -> VT | None:
        return None if v is None else self.vt(v)

    def defined(self, d: Any) -> Any:
        if isinstance(d, (DPrim, DFlags, DEnum)):
            return d
        if isinstance(d, DRecord):
            fields = tuple((n, self.vt(t)) for n, t in d.fields)
            same = all(a[1] is b[1] for a, b in zip(fields, d.fields))
            return d if same else DRecord(fields)
        if isinstance(d, DVariant):
            cases = tuple((n, self._ovt(t)) for n, t in d.cases)
            same = all(a[1] is b[1] for a, b in zip(cases, d.cases))
            return d if same else DVariant(cases)
        if isinstance(d, DList):
            e = self.vt(d.elem)
            return d if e is d.elem else DList(e, d.length)
        if isinstance(d, DTuple):
            ts = tuple(self.vt(t) for t in d.types)
            return d if all(a is b for a, b in zip(ts, d.types)) else DTuple(ts)
        if isinstance(d, DOption):
            e = self.vt(d.type)
            return d if e is d.type else DOption(e)
        if isinstance(d, DResult):
            ok, err = self._ovt(d.ok), self._ovt(d.err)
            return d if ok is d.ok and err is d.err else DResult(ok, err)
        if isinstance(d, DOwn):
            r = self.t(d.res)
            return d if r is d.res else DOwn(r)
        if isinstance(d, DBorrow):
            r = self.t(d.res)
            return d if r is d.res else DBorrow(r)
        if isinstance(d, DStream):
            e = self._ovt(d.type)
            return d if e is d.type else DStream(e)
        if isinstance(d, DFuture):
            e = self._ovt(d.type)
            return d if e is d.type else DFuture(e)
        if isinstance(d, DMap):
            k, v = self.vt(d.key), self.vt(d.value)
            return d if k is d.key and v is d.value else DMap(k, v)
        raise AssertionError(d)

    def func(self, f: FuncT) -> FuncT:
        params = tuple((n, self.vt(t)) for n, t in f.params)
        result = self._ovt(f.result)
        same = result is f.result and all(a[1] is b[1] for a, b in zip(params, f.params))
        return f if same else FuncT(params, result, f.is_async)

    def entity(self, e: Entity) -> Entity:
        k = e.kind
        if k == "module":
            return e
        if k == "value":
            v = self.vt(e.a)
            return e if v is e.a else Entity("value", v)
        if k == "type":
            ref = self.t(e.b)
            created = ref if e.a is e.b else self.t(e.a)
            return e if ref is e.b and created is e.a else Entity("type", created, ref)
        a = self.t(e.a)
        return e if a is e.a else Entity(k, a)

    def items(self, items: dict[str, Item]) -> tuple[dict[str, Item], bool]:
        out: dict[str, Item] = {}
        changed = False
        for name, it in items.items():
            e = self.entity(it.ty)
            if e is not it.ty:
                changed = True
                it = Item(e, it.implements, it.version_suffix, it.external_id)
            out[name] = it
        return out, changed

    def _rids(self, rids: dict[RId, list[int]]) -> tuple[dict[RId, list[int]], bool]:
        changed = False
        out: dict[RId, list[int]] = {}
        for rid, path in rids.items():
            new = self.resources.get(rid, rid)
            changed |= new is not rid
            out[new] = path
        return out, changed

    def inst(self, i: InstT) -> InstT:
        exports, changed = self.items(i.exports)
        defined = [self.resources.get(r, r) for r in i.defined_resources]
        changed |= any(a is not b for a, b in zip(defined, i.defined_resources))
        explicit, ch2 = self._rids(i.explicit_resources)
        if not (changed or ch2):
            return i
        return InstT(exports, defined, explicit)

    def comp(self, c: CompT) -> CompT:
        imports, ch1 = self.items(c.imports)
        exports, ch2 = self.items(c.exports)
        imported = [(self.resources.get(r, r), p) for r, p in c.imported_resources]
        defined = [(self.resources.get(r, r), p) for r, p in c.defined_resources]
        ch3 = any(a[0] is not b[0] for a, b in zip(imported + defined,
                                                    c.imported_resources + c.defined_resources))  # fmt: skip
        explicit, ch4 = self._rids(c.explicit_resources)
        if not (ch1 or ch2 or ch3 or ch4):
            return c
        return CompT(imports, exports, imported, defined, explicit)
