"""Composing components: ``plug`` wires a *socket* component's imports to the exports
of *plug* components of the same names (what ``wac plug`` does), producing one
component.

The result embeds every component unchanged as a nested component, instantiates
the plugs, then the socket with the plugs' exports for the imports they satisfy,
and re-exports the socket's exports. Imports nobody satisfies become the result's
imports: their declarations (with the type definitions they use) are copied from
the components that have them, with indices renumbered; an import several
components share is imported once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .binary.component_decode import decode_component
from .binary.component_encode import encode_component
from .errors import WasmtimeError
from .syntax import component as C
from .valid.component import validate_component

_SORT_OF_DESC = {"core module": "core module", "func": "func", "component": "component",
                 "instance": "instance", "type": "type", "value": "value"}  # fmt: skip
_SECTION = {C.TypeDef: C.SECTION_TYPE, C.CoreTypeDef: C.SECTION_CORE_TYPE,
            C.ImportDef: C.SECTION_IMPORT, C.ExportAlias: C.SECTION_ALIAS,
            C.OuterAlias: C.SECTION_ALIAS, C.ComponentDef: C.SECTION_COMPONENT,
            C.Instantiate: C.SECTION_INSTANCE, C.ExportDef: C.SECTION_EXPORT}  # fmt: skip


class ComposeError(WasmtimeError):
    """The components cannot be composed as asked."""


class _Builder:
    """The composed component under construction, counting its index spaces."""

    def __init__(self) -> None:
        self.comp = C.Component()
        self.counts: dict[str, int] = {}
        self.imported: dict[str, tuple[str, int]] = {}
        """Import name -> (sort, index in the result)."""

    def add(self, item: Any, sort: str | None) -> int:
        self.comp.add(_SECTION[type(item)], item)
        if sort is None:
            return -1
        n = self.counts.get(sort, 0)
        self.counts[sort] = n + 1
        return n


def plug(socket: bytes, plugs: list[bytes]) -> bytes:
    """The binary of ``socket`` with its imports plugged by ``plugs``' exports."""
    sock = decode_component(socket)
    sinfo = validate_component(sock)
    pl = []
    for data in plugs:
        p = decode_component(data)
        pl.append((p, validate_component(p)))
    matches: dict[str, int] = {}
    for name in sinfo.type.imports:
        for i, (_, pinfo) in enumerate(pl):
            if name in pinfo.type.exports:
                matches.setdefault(name, i)
                break
    if not matches:
        raise ComposeError("the socket component had no matching imports for the plugs that "
                           "were provided")  # fmt: skip
    for i in range(len(pl)):
        if i not in matches.values():
            raise ComposeError(f"plug {i + 1} has no exports matching the socket's imports")
    b = _Builder()
    plug_maps = [_copy_imports(b, p, set()) for p, _ in pl]
    sock_map = _copy_imports(b, sock, set(matches))
    comp_idx = []
    for p, _ in pl:
        comp_idx.append(b.add(C.ComponentDef(p), "component"))
    sock_idx = b.add(C.ComponentDef(sock), "component")
    plug_inst: list[int] = []
    for (p, pinfo), m in zip(pl, plug_maps, strict=True):
        args = _import_args(p, pinfo.type.imports, m, {}, b)
        plug_inst.append(b.add(C.Instantiate(comp_idx[len(plug_inst)], tuple(args)), "instance"))
    satisfied: dict[str, tuple[str, int]] = {}
    for name, pi in matches.items():
        e = pl[pi][1].type.exports[name].ty
        sort = _entity_sort(e)
        satisfied[name] = (sort, b.add(C.ExportAlias(sort, plug_inst[pi], name), sort))
    args = _import_args(sock, sinfo.type.imports, sock_map, satisfied, b)
    si = b.add(C.Instantiate(sock_idx, tuple(args)), "instance")
    for name, it in sinfo.type.exports.items():
        sort = _entity_sort(it.ty)
        idx = b.add(C.ExportAlias(sort, si, name), sort)
        b.add(C.ExportDef(C.ExternName(name), sort, idx), sort)
    out = encode_component(b.comp)
    try:
        validate_component(decode_component(out))
    except WasmtimeError as e:
        raise ComposeError(f"the composed component is not valid: {e}") from None
    return out


def _entity_sort(e: Any) -> str:
    return {"module": "core module"}.get(e.kind, e.kind)


def _import_args(x: C.Component, imports: dict[str, Any], m: dict[str, dict[int, int]],
                 satisfied: dict[str, tuple[str, int]], b: _Builder) -> list[tuple[str, str, int]]:  # fmt: skip
    """``(with name (sort idx))`` arguments for instantiating ``x``: its imports as
    satisfied by plugs, else as imported by the result."""
    out = []
    for d in x.definitions():
        if not isinstance(d, C.ImportDef):
            continue
        name = d.name.name
        if name in satisfied:
            sort, idx = satisfied[name]
        else:
            sort, idx = b.imported[name]
        out.append((name, sort, idx))
    return out


def _copy_imports(b: _Builder, x: C.Component, skip: set[str]) -> dict[str, dict[int, int]]:
    """Copy ``x``'s imports (but those in ``skip``) into the result, with the type
    definitions and aliases before them; returns x's index -> the result's index,
    per sort, for what was copied."""
    defs = [d for d in x.definitions() if not isinstance(d, C.CustomSection)]
    last = max((i for i, d in enumerate(defs) if isinstance(d, C.ImportDef)), default=-1)
    m: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}

    def own(sort: str) -> int:
        n = counts.get(sort, 0)
        counts[sort] = n + 1
        return n

    for d in defs[: last + 1]:
        if isinstance(d, C.TypeDef):
            k = own("type")
            try:
                m.setdefault("type", {})[k] = b.add(C.TypeDef(_remap_deftype(d.type, m, 0)), "type")
            except _Unmapped:
                continue
        elif isinstance(d, C.CoreTypeDef):
            k = own("core type")
            m.setdefault("core type", {})[k] = b.add(d, "core type")
        elif isinstance(d, C.ImportDef):
            sort = _SORT_OF_DESC[d.desc.kind]
            k = own(sort)
            name = d.name.name
            if name in skip:
                continue
            prev = b.imported.get(name)
            if prev is not None:
                m.setdefault(sort, {})[k] = prev[1]
                continue
            desc = _remap_desc(d.desc, m, 0)
            idx = b.add(C.ImportDef(d.name, desc), sort)
            b.imported[name] = (sort, idx)
            m.setdefault(sort, {})[k] = idx
        elif isinstance(d, C.ExportAlias):
            k = own(d.sort)
            inst = m.get("instance", {}).get(d.instance)
            if inst is None:
                continue
            m.setdefault(d.sort, {})[k] = b.add(C.ExportAlias(d.sort, inst, d.name), d.sort)
        elif isinstance(d, C.OuterAlias):
            k = own(d.sort)
            if d.count != 0:
                continue
            src = m.get(d.sort, {}).get(d.index)
            if src is not None:
                m.setdefault(d.sort, {})[k] = src
        elif isinstance(d, C.ExportDef):
            own(d.sort)
        elif isinstance(d, C.Instantiate | C.InlineExports):
            own("instance")
        elif isinstance(d, C.ComponentDef):
            own("component")
        elif isinstance(d, C.Canon):
            own("core func" if d.op != "lift" else "func")
        else:
            pass  # core definitions: no type of an import refers to them
    for d in defs[: last + 1]:
        if isinstance(d, C.ImportDef) and d.name.name not in skip and d.name.name not in b.imported:
            raise ComposeError(f"cannot copy the type of import `{d.name.name}`")
    return m


class _Unmapped(Exception):
    """A type refers to something that was not copied."""


def _remap_idx(m: dict[str, dict[int, int]], sort: str, i: int) -> int:
    got = m.get(sort, {}).get(i)
    if got is None:
        raise _Unmapped(sort, i)
    return got


def _remap_vt(v: Any, m: dict[str, dict[int, int]], depth: int) -> Any:
    return v if isinstance(v, str) or depth else _remap_idx(m, "type", v)


def _remap_desc(desc: C.ExternDesc, m: dict[str, dict[int, int]], depth: int) -> C.ExternDesc:
    if depth:
        return desc
    if desc.kind == "core module":
        return replace(desc, index=_remap_idx(m, "core type", desc.index))
    if desc.kind == "type" and desc.bound == "sub":
        return desc
    if desc.kind == "value":
        raise ComposeError("component model values cannot be composed")
    return replace(desc, index=_remap_idx(m, "type", desc.index))


def _remap_deftype(t: Any, m: dict[str, dict[int, int]], depth: int) -> Any:
    """A type definition with the top-level type indices it uses renumbered (inside
    component and instance types only outer aliases reach the top level)."""
    vt = lambda v: _remap_vt(v, m, depth)  # noqa: E731
    if isinstance(t, C.PrimType | C.FlagsType | C.EnumType | C.ResourceType):
        return t
    if isinstance(t, C.RecordType):
        return replace(t, fields=tuple((n, vt(x)) for n, x in t.fields))
    if isinstance(t, C.VariantType):
        return replace(t, cases=tuple(_remap_case(c, vt) for c in t.cases))
    if isinstance(t, C.ListType):
        return replace(t, elem=vt(t.elem))
    if isinstance(t, C.OptionType):
        return replace(t, type=vt(t.type))
    if isinstance(t, C.TupleType):
        return replace(t, types=tuple(vt(x) for x in t.types))
    if isinstance(t, C.ResultType):
        return replace(t, ok=None if t.ok is None else vt(t.ok),
                       err=None if t.err is None else vt(t.err))  # fmt: skip
    if isinstance(t, C.OwnType | C.BorrowType):
        return replace(t, type=vt(t.type))
    if isinstance(t, C.StreamType | C.FutureType):
        return replace(t, type=None if t.type is None else vt(t.type))
    if isinstance(t, C.MapType):
        return replace(t, key=vt(t.key), value=vt(t.value))
    if isinstance(t, C.FuncType):
        return replace(t, params=tuple((n, vt(x)) for n, x in t.params),
                       result=None if t.result is None else vt(t.result))  # fmt: skip
    if isinstance(t, C.ComponentTypeDef | C.InstanceTypeDef):
        return replace(t, decls=tuple(_remap_decl(d, m, depth + 1) for d in t.decls))
    raise ComposeError(f"cannot copy a type definition {type(t).__name__}")


def _remap_case(c: Any, vt: Any) -> Any:
    name, ty = c[0], c[1]
    return (name, None if ty is None else vt(ty), *c[2:])


def _remap_decl(d: Any, m: dict[str, dict[int, int]], depth: int) -> Any:
    if isinstance(d, C.TypeDecl):
        return replace(d, type=_remap_deftype(d.type, m, depth))
    if isinstance(d, C.AliasDecl):
        a = d.alias
        if isinstance(a, C.OuterAlias) and a.count == depth:
            sort = "core type" if a.sort == "core type" else a.sort
            return replace(d, alias=replace(a, index=_remap_idx(m, sort, a.index)))
        return d
    return d
