"""A component's WIT: its imports and exports as a world ``root`` of package
``root:component`` (as ``wasm-tools component wit`` shows a component).

Instances named by interface names (``wasi:io/streams@0.2.0``) become interfaces of
their packages; other instances become inline interfaces; functions and types stay
in the world. A type exported by one instance and reused by another (the same
validated type, by identity) becomes a ``use`` of the first.
"""

from __future__ import annotations

from typing import Any

from ..valid.component import types as VT
from ..valid.component.names import parse_name
from ..valid.component.validate import ComponentInfo
from .errors import WitError
from .model import (
    Function,
    Interface,
    Package,
    PackageName,
    Resolve,
    Type,
    TypeDef,
    World,
    WorldItem,
)


class Decoder:
    def __init__(self) -> None:
        self.r = Resolve()
        self.type_map: dict[int, int] = {}
        """id() of a validator type's data (or resource id) -> WIT type id."""
        self.type_obj: dict[int, int] = {}
        """id() of a validator type use (a T) -> WIT type id."""
        self.keep: list[Any] = []
        self.foreign: dict[str, int] = {}
        """``ns:pkg@v`` -> package id."""
        self.anon: dict[Any, int] = {}

    # ------------------------------------------------------------ component
    def component(self, info: ComponentInfo) -> tuple[Resolve, int, list[int]]:
        r = self.r
        pid = len(r.packages)
        r.packages.append(Package(PackageName("root", "component")))
        r.package_names[("root", "component", None)] = pid
        wid = r.add_world(World("root", pid))
        r.packages[pid].worlds["root"] = wid
        owner = ("world", wid)
        ct = info.type
        w = r.worlds[wid]
        for name, it in ct.imports.items():
            e = it.ty
            if e.kind == "instance":
                key, item = self.instance(name, it, pid)
                w.imports[key] = item
            elif e.kind == "func":
                f = self.func(name, e.a.data, owner)
                f.external_id = it.external_id
                w.imports[("name", name)] = WorldItem("func", func=f)
            elif e.kind == "type":
                tid = self.type_export(name, e, owner)
                r.types[tid].external_id = it.external_id
                w.imports[("name", name)] = WorldItem("type", type=tid)
        for name, it in ct.exports.items():
            e = it.ty
            if e.kind == "instance":
                key, item = self.instance(name, it, pid)
                w.exports[key] = item
            elif e.kind == "func":
                f = self.func(name, e.a.data, owner)
                f.external_id = it.external_id
                w.exports[("name", name)] = WorldItem("func", func=f)
            else:
                raise WitError(f"component export `{name}` was not a function or instance")
        return r, pid, self.package_order(pid)

    def package_order(self, main: int) -> list[int]:
        """The foreign packages, each after the packages it depends on."""
        r = self.r
        order: list[int] = []

        def deps(pid: int) -> list[int]:
            out = []
            for iid in r.packages[pid].interfaces.values():
                for d in r.interface_direct_deps(iid):
                    p = r.interfaces[d].package
                    if p is not None and p != pid and p not in out:
                        out.append(p)
            return out

        def visit(pid: int) -> None:
            if pid in order:
                return
            for d in deps(pid):
                if d != main:
                    visit(d)
            order.append(pid)

        for pid in self.foreign.values():
            visit(pid)
        return order

    # ------------------------------------------------------------ instances
    def instance(self, name: str, it: VT.Item, pid: int) -> tuple[Any, WorldItem]:
        implements = it.implements
        n = parse_name(name)
        if implements is not None or n.kind == "interface":
            iid = self.foreign_interface(implements or name, it.ty.a.data)
            key = ("name", name) if implements is not None else ("iface", iid)
        else:
            iid = self.r.add_interface(Interface(None, pid))
            self.fill(iid, it.ty.a.data)
            key = ("name", name)
        return key, WorldItem("interface", iface=iid, external_id=it.external_id)

    def foreign_interface(self, name: str, inst: VT.InstT) -> int:
        r = self.r
        pkgpart, _, rest = name.partition("/")
        iface, _, version = rest.partition("@")
        ns, _, pkg = pkgpart.partition(":")
        key = f"{ns}:{pkg}" + (f"@{version}" if version else "")
        pid = self.foreign.get(key)
        if pid is None:
            pid = len(r.packages)
            r.packages.append(Package(PackageName(ns, pkg, version or None)))
            r.package_names[(ns, pkg, version or None)] = pid
            self.foreign[key] = pid
        p = r.packages[pid]
        iid = p.interfaces.get(iface)
        if iid is None:
            iid = r.add_interface(Interface(iface, pid))
            p.interfaces[iface] = iid
        self.fill(iid, inst)
        return iid

    def fill(self, iid: int, inst: VT.InstT) -> None:
        """Add an instance type's exports to interface ``iid`` (those not already there)."""
        iface = self.r.interfaces[iid]
        owner = ("interface", iid)
        for name, it in inst.exports.items():
            e = it.ty
            if e.kind == "type":
                if name in iface.types:
                    self._register(e, iface.types[name])
                    continue
                iface.types[name] = self.type_export(name, e, owner)
                self.r.types[iface.types[name]].external_id = it.external_id
            elif e.kind == "func":
                if name not in iface.functions:
                    iface.functions[name] = self.func(name, e.a.data, owner)
                    iface.functions[name].external_id = it.external_id
            else:
                raise WitError(f"instance type export `{name}` is not a type or function")

    def _register(self, e: VT.Entity, tid: int) -> None:
        for t in (e.a, e.b):
            if t is not None:
                self._map(t, tid)

    def _map(self, t: VT.T, tid: int) -> None:
        self.keep.append(t)
        self.keep.append(t.data)
        self.type_obj.setdefault(id(t), tid)
        self.type_map.setdefault(id(t.data), tid)

    def lookup(self, t: VT.T) -> int | None:
        """The WIT type a validator type use stands for: by the use itself (so that
        ``type b = a`` chains keep their links), else by its structure's identity."""
        got = self.type_obj.get(id(t))
        return got if got is not None else self.type_map.get(id(t.data))

    def type_export(self, name: str, e: VT.Entity, owner: tuple[str, int]) -> int:
        """A named type exported by an instance (or imported by the world): a
        ``use`` if the type it refers to is already known, else a new type."""
        r = self.r
        created: VT.T = e.a
        ref: VT.T = e.b if e.b is not None else e.a
        known = self.lookup(ref)
        if known is not None:
            tid = r.add_type(TypeDef("alias", known, name, owner))
        elif created.kind == "resource":
            tid = r.add_type(TypeDef("resource", None, name, owner))
        else:
            kind, data = self.defined(ref.data)
            tid = r.add_type(TypeDef(kind, data, name, owner))
        self._map(created, tid)
        self._map(ref, tid)
        return tid

    # ------------------------------------------------------------ functions and types
    def func(self, name: str, ft: VT.FuncT, owner: tuple[str, int]) -> Function:
        params = [(n, self.val(t)) for n, t in ft.params]
        result = None if ft.result is None else self.val(ft.result)
        kind, resource = "freestanding", None
        if name.startswith("[constructor]"):
            kind = "constructor"
            resource = self._resource_of(result)
        elif name.startswith("[method]"):
            kind = "method"
            bt = params[0][1] if params else None
            if isinstance(bt, int) and self.r.types[bt].kind == "borrow":
                resource = self.r.types[bt].data
        elif name.startswith("[static]"):
            kind = "static"
            rname = name[len("[static]"):].split(".", 1)[0]
            resource = self._resource_named(owner, rname)
        return Function(name, kind, params, result, ft.is_async, resource)

    def _resource_of(self, t: Type | None) -> int | None:
        if isinstance(t, int):
            td = self.r.types[t]
            if td.kind == "resource":
                return t
            if td.kind == "result" and isinstance(td.data[0], int):
                return td.data[0]
        return None

    def _resource_named(self, owner: tuple[str, int], name: str) -> int | None:
        if owner[0] == "interface":
            return self.r.interfaces[owner[1]].types.get(name)
        for key, item in self.r.worlds[owner[1]].imports.items():
            if key == ("name", name) and item.kind == "type":
                return item.type
        return None

    def val(self, v: Any) -> Type:
        if isinstance(v, str):
            return v
        known = self.lookup(v)
        if known is not None:
            return known
        got = self.anon.get(id(v.data))
        if got is not None:
            return got
        kind, data = self.defined(v.data)
        if kind == "own":
            return data  # type: ignore[no-any-return]
        if kind in ("record", "variant", "enum", "flags", "resource"):
            raise WitError("a component's function uses an unnamed record, variant, enum or "
                           "flags type, which WIT cannot express")  # fmt: skip
        tid = self.r.add_type(TypeDef(kind, data))
        self.anon[id(v.data)] = tid
        self.keep.append(v.data)
        return tid

    def opt(self, v: Any) -> Type | None:
        return None if v is None else self.val(v)

    def defined(self, d: Any) -> tuple[str, Any]:
        if isinstance(d, VT.DPrim):
            return "alias", d.name
        if isinstance(d, VT.DRecord):
            return "record", [(n, self.val(t), None) for n, t in d.fields]
        if isinstance(d, VT.DVariant):
            return "variant", [(n, self.opt(t), None) for n, t in d.cases]
        if isinstance(d, VT.DEnum):
            return "enum", [(n, None, None) for n in d.labels]
        if isinstance(d, VT.DFlags):
            return "flags", [(n, None, None) for n in d.labels]
        if isinstance(d, VT.DList):
            return "list", (self.val(d.elem), d.length)
        if isinstance(d, VT.DTuple):
            return "tuple", [self.val(t) for t in d.types]
        if isinstance(d, VT.DOption):
            return "option", self.val(d.type)
        if isinstance(d, VT.DResult):
            return "result", (self.opt(d.ok), self.opt(d.err))
        if isinstance(d, VT.DMap):
            return "map", (self.val(d.key), self.val(d.value))
        if isinstance(d, VT.DOwn):
            return "own", self._resource(d.res)
        if isinstance(d, VT.DBorrow):
            return "borrow", self._resource(d.res)
        if isinstance(d, VT.DStream):
            return "stream", self.opt(d.type)
        if isinstance(d, VT.DFuture):
            return "future", self.opt(d.type)
        raise WitError(f"unsupported component type {d!r}")

    def _resource(self, t: VT.T) -> int:
        got = self.lookup(t)
        if got is None:
            raise WitError("a handle refers to a resource type the component does not name")
        return got


def decode_component_wit(info: ComponentInfo) -> tuple[Resolve, int, list[int]]:
    return Decoder().component(info)
