"""Subtyping of component types (Explainer.md "Type checking"), with the error
wording of wasmparser (which the spec tests quote).

Value and function types must match exactly (as wasmparser and wasmtime require;
the spec leaves room for more); instance types may export more, component types may
import less and export more, core module types likewise. Resources compare by
identity; checking a component type first maps its imported resources to those
the other side supplies (:func:`open_instance_type`), the substitution that
instantiation also performs.
"""

from __future__ import annotations

from typing import Any

from ...syntax.types import FuncType, GlobalType, Limits, MemType, TableType
from .. import canon
from .types import (
    CompT,
    CoreEntity,
    DBorrow,
    DEnum,
    DFlags,
    DFuture,
    DList,
    DMap,
    DOption,
    DOwn,
    DPrim,
    DRecord,
    DResult,
    DStream,
    DTuple,
    DVariant,
    Entity,
    FuncT,
    InstT,
    ModT,
    Remap,
    RId,
    T,
    defined_desc,
)


class Mismatch(Exception):
    """A failed subtype check; ``str()`` is the message, outermost context first."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def context(self, ctx: str) -> Mismatch:
        return Mismatch(f"{ctx}\n{self.message}")

    def __str__(self) -> str:
        return self.message


def entity(a: Entity, b: Entity) -> None:
    """``a`` is a subtype of ``b``."""
    ka, kb = a.kind, b.kind
    if ka != kb:
        raise Mismatch(f"expected {b.desc()}, found {a.desc()}")
    if ka == "module":
        module_type(a.a, b.a)
    elif ka == "func":
        func_type(a.a.data, b.a.data)
    elif ka == "value":
        val_type(a.a, b.a)
    elif ka == "type":
        any_type(a.b, b.b)
    elif ka == "instance":
        instance_type(a.a.data, b.a.data)
    else:
        component_type(a.a.data, b.a.data)


def any_type(a: T, b: T) -> None:
    ka, kb = a.kind, b.kind
    if ka == "resource" and kb == "resource":
        if a.data is not b.data:
            raise Mismatch(f"resource types are not the same ({a.data!r} vs. {b.data!r})")
        return
    if ka != kb:
        found = {"resource": "resource", "defined": "defined type", "func": "func type",
                 "instance": "instance type", "component": "component type"}[ka]  # fmt: skip
        raise Mismatch(f"expected {b.desc()}, found {found}")
    if ka == "defined":
        defined(a.data, b.data)
    elif ka == "func":
        func_type(a.data, b.data)
    elif ka == "instance":
        instance_type(a.data, b.data)
    else:
        component_type(a.data, b.data)


def func_type(a: FuncT, b: FuncT) -> None:
    if a.is_async != b.is_async:
        ad = "async" if a.is_async else "sync"
        bd = "async" if b.is_async else "sync"
        raise Mismatch(f"expected {ad} function, found {bd} function")
    if len(a.params) != len(b.params):
        raise Mismatch(f"expected {len(b.params)} parameters, found {len(a.params)}")
    for (an, at), (bn, bt) in zip(a.params, b.params):
        if an != bn:
            raise Mismatch(f"expected parameter named `{bn}`, found `{an}`")
        try:
            val_type(at, bt)
        except Mismatch as e:
            raise e.context(f"type mismatch in function parameter `{an}`") from None
    if a.result is not None and b.result is not None:
        try:
            val_type(a.result, b.result)
        except Mismatch as e:
            raise e.context("type mismatch with result type") from None
    elif a.result is not None:
        raise Mismatch("expected a result, found none")
    elif b.result is not None:
        raise Mismatch("expected no result, found one")


def val_type(a: Any, b: Any) -> None:
    """Value types ``a`` and ``b`` (primitive names or defined T) match."""
    if isinstance(a, str) and isinstance(b, str):
        _prim(a, b)
        return
    if isinstance(a, str):
        bd = b.data
        if isinstance(bd, DPrim):
            _prim(a, bd.name)
            return
        raise Mismatch(f"expected {defined_desc(bd)}, found {a}")
    if isinstance(b, str):
        ad = a.data
        if isinstance(ad, DPrim):
            _prim(ad.name, b)
            return
        raise Mismatch(f"expected {b}, found {defined_desc(ad)}")
    defined(a.data, b.data)


def _prim(a: str, b: str) -> None:
    if a != b:
        raise Mismatch(f"expected primitive `{b}` found primitive `{a}`")


def _ctx(fn: Any, ctx: str, *args: Any) -> None:
    try:
        fn(*args)
    except Mismatch as e:
        raise e.context(ctx) from None


def defined(a: Any, b: Any) -> None:
    if a is b:
        return
    ta, tb = type(a), type(b)
    if ta is DPrim:
        if tb is DPrim:
            _prim(a.name, b.name)
            return
        raise Mismatch(f"expected {defined_desc(b)}, found {a.name}")
    if ta is not tb or (ta is DList and (a.length is None) != (b.length is None)):
        raise Mismatch(f"expected {defined_desc(b)}, found {defined_desc(a)}")
    if ta is DRecord:
        if len(a.fields) != len(b.fields):
            raise Mismatch(f"expected {len(b.fields)} fields, found {len(a.fields)}")
        for (an, at), (bn, bt) in zip(a.fields, b.fields):
            if an != bn:
                raise Mismatch(f"expected field name `{bn}`, found `{an}`")
            _ctx(val_type, f"type mismatch in record field `{an}`", at, bt)
    elif ta is DVariant:
        if len(a.cases) != len(b.cases):
            raise Mismatch(f"expected {len(b.cases)} cases, found {len(a.cases)}")
        for (an, at), (bn, bt) in zip(a.cases, b.cases):
            if an != bn:
                raise Mismatch(f"expected case named `{bn}`, found `{an}`")
            if at is not None and bt is not None:
                _ctx(val_type, f"type mismatch in variant case `{an}`", at, bt)
            elif at is None and bt is not None:
                raise Mismatch(f"expected case `{an}` to have a type, found none")
            elif at is not None and bt is None:
                raise Mismatch(f"expected case `{an}` to have no type")
    elif ta is DList:
        if a.length != b.length:
            raise Mismatch(f"expected fixed-length {b.length}, found size {a.length}")
        val_type(a.elem, b.elem)
    elif ta is DOption:
        val_type(a.type, b.type)
    elif ta is DMap:
        _ctx(val_type, "type mismatch in map key", a.key, b.key)
        _ctx(val_type, "type mismatch in map value", a.value, b.value)
    elif ta is DTuple:
        if len(a.types) != len(b.types):
            raise Mismatch(f"expected {len(b.types)} types, found {len(a.types)}")
        for i, (at, bt) in enumerate(zip(a.types, b.types)):
            _ctx(val_type, f"type mismatch in tuple field {i}", at, bt)
    elif ta in (DFlags, DEnum):
        if a.labels != b.labels:
            raise Mismatch(f"mismatch in {'flags' if ta is DFlags else 'enum'} elements")
    elif ta is DResult:
        _optional(a.ok, b.ok, "ok", "type mismatch in ok variant")
        _optional(a.err, b.err, "err", "type mismatch in err variant")
    elif ta in (DOwn, DBorrow):
        if a.res.data is not b.res.data:
            raise Mismatch("resource types are not the same")
    elif ta in (DStream, DFuture):
        what = "stream" if ta is DStream else "future"
        if a.type is not None and b.type is not None:
            _ctx(val_type, f"type mismatch in {what}", a.type, b.type)
        elif a.type is None and b.type is not None:
            raise Mismatch(f"expected {what} type, but found none")
        elif a.type is not None and b.type is None:
            raise Mismatch(f"expected {what} type to not be present")


def _optional(a: Any, b: Any, what: str, ctx: str) -> None:
    if a is not None and b is not None:
        _ctx(val_type, ctx, a, b)
    elif a is None and b is not None:
        raise Mismatch(f"expected {what} type, but found none")
    elif a is not None and b is None:
        raise Mismatch(f"expected {what} type to not be present")


def instance_type(a: InstT, b: InstT) -> None:
    pairs = []
    for name, bi in b.exports.items():
        ai = a.exports.get(name)
        if ai is None:
            raise Mismatch(f"missing expected export `{name}`")
        pairs.append((name, ai.ty, bi.ty))
    for name, at, bt in pairs:
        _ctx(entity, f"type mismatch in instance export `{name}`", at, bt)


def component_type(a: CompT, b: CompT) -> None:
    """``a`` can stand where a ``b`` is expected: ``b``'s imports satisfy ``a``'s,
    ``a``'s exports (with ``b``'s resources substituted) satisfy ``b``'s."""
    b_imports = {n: it.ty for n, it in b.imports.items()}
    mapping = open_instance_type(b_imports, a, "import")
    a_exports = {n: mapping.entity(it.ty) for n, it in a.exports.items()}
    open_instance_type(a_exports, b, "export")


def open_instance_type(args: dict[str, Entity], b: CompT, kind: str) -> Remap:
    """Check that ``args`` satisfy ``b``'s imports (``kind`` = import) or exports;
    returns the substitution of ``b``'s imported (or defined) resources by those
    in ``args``, plus renamings of ``b``'s type imports to the types supplied."""
    entities = b.imports if kind == "import" else b.exports
    resources = b.imported_resources if kind == "import" else b.defined_resources
    names = list(entities)
    mapping = Remap()
    for rid, path in resources:
        name = names[path[0]]
        ty: Entity = entities[name].ty
        arg: Entity | None = args.get(name)
        ok = True
        for i in path[1:]:
            assert ty.kind == "instance"
            inst: InstT = ty.a.data
            ename = list(inst.exports)[i]
            ty = inst.exports[ename].ty
            if arg is None or arg.kind != "instance":
                ok = False
                break
            nxt = arg.a.data.exports.get(ename)
            arg = None if nxt is None else nxt.ty
        if ok and arg is not None and arg.kind == "type" and arg.a.kind == "resource":
            mapping.resources[rid] = arg.a.data
    checks = []
    for name, expected in entities.items():
        actual = args.get(name)
        if actual is None:
            raise Mismatch(f"missing {kind} named `{name}`")
        checks.append((name, actual, expected.ty))
    renames: dict[T, T] = {}
    for name, actual, want in checks:
        sub = Remap(mapping.resources)
        exp = sub.entity(want)
        try:
            entity(actual, exp)
        except Mismatch as e:
            raise e.context(f"type mismatch for {kind} `{name}`") from None
        _renamings(actual, exp, renames)
    mapping.types = renames
    return mapping


def _renamings(actual: Entity, expected: Entity, out: dict[T, T]) -> None:
    """Type imports that were satisfied: the component's type use -> the one supplied."""
    if expected.kind == "type" and actual.kind == "type":
        out[expected.a] = actual.a
    elif expected.kind == "instance" and actual.kind == "instance":
        aexp = actual.a.data.exports
        for name, it in expected.a.data.exports.items():
            other = aexp.get(name)
            if other is not None:
                _renamings(other.ty, it.ty, out)


# ---------------------------------------------------------------- core types
def module_type(a: ModT, b: ModT) -> None:
    for key, at in a.imports.items():
        bt = b.imports.get(key)
        if bt is None:
            raise Mismatch(f"missing expected import `{key[0]}::{key[1]}`")
        _ctx(core_entity, f"type mismatch in import `{key[0]}::{key[1]}`", bt, at)
    for name, bt in b.exports.items():
        found = a.exports.get(name)
        if found is None:
            raise Mismatch(f"missing expected export `{name}`")
        _ctx(core_entity, f"type mismatch in export `{name}`", found, bt)


_CORE_DESC = {"func": "func", "table": "table", "memory": "memory", "global": "global", "tag": "tag"}


def core_entity(a: CoreEntity, b: CoreEntity) -> None:
    if a.kind != b.kind:
        raise Mismatch(f"expected {b.kind}, found {a.kind}")
    k = a.kind
    if k in ("func", "tag"):
        if a.t != b.t and not canon.is_subtype_canon(a.t, b.t):
            raise Mismatch(f"expected: {core_func_text(b.t)}\nfound:    {core_func_text(a.t)}")
    elif k == "table":
        table_type(a.t, b.t)
    elif k == "memory":
        memory_type(a.t, b.t)
    else:
        ga: GlobalType = a.t
        gb: GlobalType = b.t
        if ga.mutable != gb.mutable:
            raise Mismatch("global types differ in mutability")
        if ga.type != gb.type:
            raise Mismatch(f"expected global type {gb.type}, found {ga.type}")


def _limits_match(a: Limits, b: Limits) -> bool:
    if a.min < b.min:
        return False
    if b.max is None:
        return True
    return a.max is not None and a.max <= b.max


def table_type(a: TableType, b: TableType) -> None:
    if a.elem != b.elem:
        raise Mismatch(f"expected table element type {b.elem}, found {a.elem}")
    if a.limits.shared != b.limits.shared:
        raise Mismatch("mismatch in the shared flag for tables")
    if not _limits_match(a.limits, b.limits):
        raise Mismatch("mismatch in table limits")


def memory_type(a: MemType, b: MemType) -> None:
    la, lb = a.limits, b.limits
    if la.shared != lb.shared:
        raise Mismatch("mismatch in the shared flag for memories")
    if la.addr64 != lb.addr64:
        raise Mismatch("mismatch in index type used for memories")
    if a.page_size != b.page_size:
        raise Mismatch("mismatch in page size for memories")
    if not _limits_match(la, lb):
        raise Mismatch("mismatch in memory limits")


def core_func_text(cid: int) -> str:
    """A canonical function type in text: ``(func (param i32) (result i32))``."""
    ft = canon.definition(cid).comp
    parts = ["func"]
    if not isinstance(ft, FuncType):
        return f"(type {cid})"
    if ft.params:
        parts.append("(param " + " ".join(str(t) for t in ft.params) + ")")
    if ft.results:
        parts.append("(result " + " ".join(str(t) for t in ft.results) + ")")
    return "(" + " ".join(parts) + ")"


_ = (RId,)
