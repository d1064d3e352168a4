"""``Linker`` and ``LinkerInstance``: the host's definitions for component imports.

As in wasmtime-py, definitions go into a tree rooted at ``linker.root()``:
functions (``add_func``), nested instances (``add_instance``), resource types
(``add_resource``) and core modules (``add_module``). ``root()`` and
``add_instance`` lock their parent until the returned object is closed (use them in
``with`` blocks). A host function is called as ``func(store, *args)`` with Python
values and returns the result (or None).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from ...internal.errors import LinkError, UnsupportedFeature, WasmtimeError
from ...internal.exec.component.instantiate import CFunc, ComponentValue, instantiate
from ...internal.exec.component.values import ResourceType, host_rtype
from ...internal.valid.component.types import Entity, FuncT
from ..engine import Engine
from ..managed import Closable
from ..module import Module
from ..store import state_of
from .component import Component
from .instance import Instance

UserFunc = Callable[..., Any]
ResourceDtor = Callable[[Any, int], None]


class _Def:
    """A definition in a linker's tree."""

    __slots__ = ("kind", "value", "extra")

    def __init__(self, kind: str, value: Any, extra: Any = None) -> None:
        self.kind = kind
        self.value = value
        self.extra = extra


class Linker(Closable):
    """Host definitions that satisfy components' imports."""

    def __init__(self, engine: Engine) -> None:
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        self.engine = engine
        self._closed = False
        self._defs: dict[str, _Def] = {}
        self._found: dict[str, _Def | None] = {}
        """Import name -> its top-level definition (semver matching is slow, and a
        server instantiates per request); emptied by every definition."""
        self._templates: dict[int, tuple[weakref.ReferenceType[Any], Any]] = {}
        """id of a component plan -> (weak reference to it, ``build(store, st)`` making
        its import values: see :func:`_template`; None when some import fails); an
        entry goes with its plan, and all of them with every definition. (What a
        WeakKeyDictionary does, without its Python-level ``get`` per instantiation.)"""
        self._shadowing = False
        self.locked = False

    @property
    def allow_shadowing(self) -> bool:
        return self._shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, allow: bool) -> None:
        self._assert_not_locked()
        self._shadowing = bool(allow)

    def _assert_not_locked(self) -> None:
        self._check_open()
        if self.locked:
            raise WasmtimeError("cannot use linker while it's in use by other instances")

    def root(self) -> LinkerInstance:
        """The root instance to define items in; the linker is locked until it is
        closed (``with linker.root() as root: ...``)."""
        self._assert_not_locked()
        return LinkerInstance._new(self, self._defs, self)

    def add_wasip2(self) -> None:
        """Define the WASI 0.2 interfaces of a command (``wasi:cli``, ``io``,
        ``clocks``, ``random``, ``filesystem``), served from the store's
        ``WasiConfig`` (``Store.set_wasi``) as preview1 is."""
        self._assert_not_locked()
        from ...internal.host.wasip2 import add_wasip2

        add_wasip2(self)

    def add_wasi_http(self) -> None:
        """Define ``wasi:http/types`` and ``wasi:http/outgoing-handler`` (requests
        only to the hosts the store's ``WasiConfig`` allows; none by default)."""
        self._assert_not_locked()
        from ...internal.host.wasip2 import add_wasi_http
        from ...internal.host.wasip2.http_client import outgoing_handle

        add_wasi_http(self, outgoing_handle)

    def define_unknown_imports_as_traps(self, component: Component) -> None:
        """Define every import of ``component`` the linker lacks as a function (or
        instance of functions) that traps when called."""
        self._assert_not_locked()
        for name, item in component._plan.info.type.imports.items():
            _define_traps(self._defs, name, item.ty)
        self._forget()

    def instantiate(self, store: Any, component: Component) -> Instance:
        """Instantiate ``component`` in ``store`` with this linker's definitions."""
        self._assert_not_locked()
        if not isinstance(component, Component):
            raise TypeError("expected a Component")
        component._check_open()
        st = state_of(store)
        engine = st.engine
        if component.engine is not engine and not engine._compatible(component.engine):
            raise WasmtimeError("cross-`Engine` instantiation is not currently supported")
        engine.check_can_run()
        plan = component._plan
        entry = self._templates.get(id(plan))
        if entry is not None and entry[0]() is plan:
            build = entry[1]
        else:
            build = _template(self, plan)
            key = id(plan)
            self._templates[key] = (weakref.ref(plan, partial(_drop_template, self._templates,
                                                              key)), build)  # fmt: skip
        if build is not None:
            args = build(store, st)
        else:  # some import cannot be satisfied: find which, in order, and say so
            args = self._resolve(plan, store)
        try:
            inst = instantiate(plan, st, engine.backend, args, host_store=store, defer=True)
        except (LinkError, UnsupportedFeature):
            raise
        except BaseException as e:
            exc = engine.convert_exception(e)
        else:
            return Instance._wrap(inst, st)
        raise exc

    def _definition(self, name: str) -> _Def | None:
        found = self._found
        if name in found:
            return found[name]
        d = found[name] = _lookup(self._defs, name)
        return d

    def _forget(self) -> None:
        """A definition changed: resolved imports are stale."""
        self._found.clear()
        self._templates.clear()

    def _resolve(self, plan: Any, store: Any) -> dict[str, Any]:
        """The import values of ``plan``, one by one (raising the first failure)."""
        args: dict[str, Any] = {}
        for name, item in plan.info.type.imports.items():
            if _is_plain_type(item.ty):
                args[name] = item.ty.a  # a value type: nothing to link
                continue
            d = self._definition(name)
            if d is None:
                raise LinkError(f"component imports {_kind(item.ty)} `{name}`, but a matching "
                                "implementation was not found in the linker")  # fmt: skip
            args[name] = _value(d, item.ty, name, store)
        return args


class LinkerInstance(Closable):
    """A node of a linker's tree: define functions, instances, resources and modules
    under names."""

    _linker: Linker
    _defs: dict[str, _Def]
    _parent: Any
    locked: bool

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct a `LinkerInstance`")

    @classmethod
    def _new(cls, linker: Linker, defs: dict[str, _Def], parent: Any) -> LinkerInstance:
        li = object.__new__(cls)
        li._linker = linker
        li._defs = defs
        li._parent = parent
        li._closed = False
        li.locked = False
        parent.locked = True
        return li

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._parent.locked = False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def _assert_not_locked(self) -> None:
        self._check_open()
        if self.locked:
            raise WasmtimeError("cannot use linker instance while it's in use by other instances")

    def _insert(self, name: str, d: _Def) -> None:
        self._assert_not_locked()
        if not isinstance(name, str):
            raise TypeError("expected a str name")
        if name in self._defs and not self._linker._shadowing:
            raise WasmtimeError(f"import of `{name}` defined twice")
        self._defs[name] = d
        self._linker._forget()

    def add_instance(self, name: str) -> LinkerInstance:
        """A nested instance named ``name``; this one is locked until it is closed."""
        self._assert_not_locked()
        existing = self._defs.get(name)
        if existing is not None and existing.kind == "instance":
            sub = existing.value
        else:
            sub = {}
            self._insert(name, _Def("instance", sub))
        return LinkerInstance._new(self._linker, sub, self)

    def add_func(self, name: str, func: UserFunc) -> None:
        """Define function ``name``: called as ``func(store, *args)`` with Python values;
        returns the result (None for a function without one)."""
        if not callable(func):
            raise TypeError("expected a callable")
        self._insert(name, _Def("func", func))

    def add_resource(self, name: str, ty: ResourceType, dtor: ResourceDtor) -> None:
        """Define resource type ``name`` as host type ``ty`` (``ResourceType.host(n)``);
        ``dtor(store, rep)`` runs when a guest drops an owned handle of it."""
        if not isinstance(ty, ResourceType) or ty._rt.host_id is None:
            raise TypeError("expected a host ResourceType (ResourceType.host(n))")
        self._insert(name, _Def("resource", ty, dtor))

    def add_instance_export(self, name: str, instance: Instance, export: str | None = None) -> None:
        """Define import ``name`` as export ``export`` (default: ``name``) of another
        component ``instance``: a function, an instance or a resource type. This is
        how components are linked to each other: calls go component to component,
        each keeping its own memory. (nanoproc extension; the linker can then only
        instantiate into ``instance``'s store.)"""
        if not isinstance(instance, Instance):
            raise TypeError("expected a component Instance")
        key = name if export is None else export
        value = instance._inst.exports.get(key)
        if value is None:
            raise WasmtimeError(f"instance has no export named `{key}`")
        self._insert(name, _Def("value", value, instance._st))

    def add_module(self, name: str, module: Module) -> None:
        """Define core module ``name``."""
        if not isinstance(module, Module):
            raise TypeError("expected a Module")
        self._insert(name, _Def("module", module))


def _lookup(defs: dict[str, _Def], name: str) -> _Def | None:
    """The definition for import ``name``: exact, else one whose version is
    semver-compatible (same major, or same minor for 0.x: ``wasi:cli/run@0.2.12``
    finds ``@0.2.6``), the highest such, as wasmtime's linker matches them."""
    d = defs.get(name)
    if d is not None or "@" not in name:
        return d
    base, _, version = name.rpartition("@")
    key = _compat(version)
    best: tuple[tuple[int, ...], _Def] | None = None
    for other, od in defs.items():
        ob, _, ov = other.rpartition("@")
        if ob == base and key is not None and _compat(ov) == key:
            nums = _nums(ov)
            if nums is not None and (best is None or nums > best[0]):
                best = (nums, od)
    return None if best is None else best[1]


def _nums(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def _compat(version: str) -> tuple[int, ...] | None:
    n = _nums(version)
    if n is None:
        return None
    if n[0]:
        return n[:1]
    return n[:2] if n[1] else n


def _kind(e: Entity) -> str:
    k = e.kind
    if k == "type":
        return "resource" if e.a.kind == "resource" else "type"
    return {"module": "module", "func": "function"}.get(k, k)


def _value(d: _Def, e: Entity, name: str, store: Any) -> Any:
    """The run-time value of definition ``d`` for an import of type ``e``."""
    k = e.kind
    if d.kind == "value":
        if d.extra is not state_of(store):
            raise WasmtimeError("cross-`Store` instantiation is not currently supported")
        return d.value
    if k == "func":
        if d.kind != "func":
            raise LinkError(f"import `{name}` expected a function, found a {d.kind}")
        return _host_func(d, e, name)
    if k == "instance":
        if d.kind != "instance":
            raise LinkError(f"import `{name}` expected an instance, found a {d.kind}")
        out = {}
        for n, it in e.a.data.exports.items():
            if _is_plain_type(it.ty):
                out[n] = it.ty.a
                continue
            sub = d.value.get(n)
            if sub is None:
                raise LinkError(f"component imports {_kind(it.ty)} `{n}` in instance `{name}`, "
                                "but a matching implementation was not found in the linker")  # fmt: skip
            out[n] = _value(sub, it.ty, f"{name}/{n}", store)
        return out
    if k == "type":
        if d.kind != "resource":
            raise LinkError(f"import `{name}` expected a resource type, found a {d.kind}")
        user = d.extra
        n = d.value._rt.host_id

        def dtor(rep: int) -> None:
            user(store, rep)

        return host_rtype(n, dtor)
    if k == "module":
        if d.kind != "module":
            raise LinkError(f"import `{name}` expected a module, found a {d.kind}")
        return d.value._compiled
    if k == "component":
        if d.kind == "component" and isinstance(d.value, ComponentValue):
            return d.value
        raise LinkError(f"import `{name}` expected a component")
    raise UnsupportedFeature("component model values")


def _host_func(d: _Def, e: Entity, name: str) -> CFunc:
    """The CFunc of host function definition ``d`` for an import of type ``e`` (one
    serves every store: it is called with the store first)."""
    ft: FuncT = e.a.data
    return CFunc("host", ft, [], host=d.value, name=name)


class _Unresolved(Exception):
    """Some import has no fitting definition (:meth:`Linker._resolve` says which)."""


def _template(linker: Linker, plan: Any) -> Callable[[Any, Any], dict[str, Any]] | None:
    """``build(store, st)``: the import values of ``plan`` from ``linker``'s current
    definitions, looked up and checked once (a server instantiates per request).
    Host functions, modules and plain types are made here and shared by every
    store; ``build`` makes what belongs to one store (a host resource type, whose
    destructor gets the store) and checks that another instance's exports are from
    ``st``. None when an import cannot be satisfied."""
    consts: dict[str, Any] = {"host_rtype": host_rtype, "WasmtimeError": WasmtimeError}
    checks: list[str] = []

    def const(value: Any) -> str:
        k = f"C{len(consts)}"
        consts[k] = value
        return k

    def expr(d: _Def | None, e: Entity, name: str) -> str:
        if d is None:
            raise _Unresolved
        k = e.kind
        if d.kind == "value":
            checks.append(f"    if {const(d)}.extra is not st: raise WasmtimeError("
                          "'cross-`Store` instantiation is not currently supported')")  # fmt: skip
            return const(d.value)
        if k == "func" and d.kind == "func":
            return const(_host_func(d, e, name))
        if k == "instance" and d.kind == "instance":
            items = []
            for n, it in e.a.data.exports.items():
                if _is_plain_type(it.ty):
                    items.append(f"{n!r}: {const(it.ty.a)}")
                else:
                    items.append(f"{n!r}: {expr(d.value.get(n), it.ty, f'{name}/{n}')}")
            return "{" + ", ".join(items) + "}"
        if k == "type" and d.kind == "resource":
            return f"host_rtype({d.value._rt.host_id!r}, lambda rep: {const(d.extra)}(store, rep))"
        if k == "module" and d.kind == "module":
            return const(d.value._compiled)
        if k == "component" and d.kind == "component" and isinstance(d.value, ComponentValue):
            return const(d.value)
        raise _Unresolved

    items = []
    try:
        for name, item in plan.info.type.imports.items():
            if _is_plain_type(item.ty):
                items.append(f"{name!r}: {const(item.ty.a)}")
            else:
                items.append(f"{name!r}: {expr(linker._definition(name), item.ty, name)}")
    except _Unresolved:
        return None
    src = "\n".join(["def build(store, st):", *checks,
                     "    return {" + ", ".join(items) + "}", ""])  # fmt: skip
    exec(compile(src, "<nanoproc component imports>", "exec"), consts)
    return consts["build"]  # type: ignore[no-any-return]


def _drop_template(templates: dict[int, Any], key: int, ref: weakref.ReferenceType[Any]) -> None:
    """A plan died: drop its linker template (unless the key was reused meanwhile)."""
    entry = templates.get(key)
    if entry is not None and entry[0] is ref:
        del templates[key]


def _is_plain_type(e: Entity) -> bool:
    """A type import that is not a resource: the linker needs no definition for it."""
    return e.kind == "type" and e.a.kind != "resource"


def _define_traps(defs: dict[str, _Def], name: str, e: Entity) -> None:
    if name in defs:
        return
    if e.kind == "func":
        def trapping(store: Any, *args: Any) -> Any:
            from ...internal.exec.trap import Trap

            raise Trap(f"unknown import `{name}` has not been defined")

        defs[name] = _Def("func", trapping)
    elif e.kind == "instance":
        sub: dict[str, _Def] = {}
        for n, it in e.a.data.exports.items():
            _define_traps(sub, n, it.ty)
        defs[name] = _Def("instance", sub)
