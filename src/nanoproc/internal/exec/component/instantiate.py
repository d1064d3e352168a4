"""Instantiating components (Explainer.md "Instance definitions"; CanonicalABI.md
``canon`` definitions).

A :class:`Plan` is a validated component whose core modules are compiled for an
engine's tier; instantiating it replays its definitions in order, filling each
index space with run-time values:

=============  ==========================================================
sort           run-time value
=============  ==========================================================
func           :class:`CFunc` (a lifted core function, or the host's)
instance       ``dict`` name -> value
type           :class:`~.values.RType` for a resource, else its static type
component      :class:`ComponentValue` (a plan and the frame it closes over)
core module    ``CompiledModule``
core instance  ``dict`` name -> core entity (FuncInst, MemoryInst, ...)
core func ...  the core entities themselves
=============  ==========================================================

Resource types are generative: the validator names each one with an ``RId``; a
frame's ``rmap`` binds those to run-time :class:`RType`\\ s as they enter the
index spaces (definition, import, alias, instantiation), and lifting/lowering
code gets the run-time types of its resource slots from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import LinkError, UnsupportedFeature, WasmtimeError
from ...syntax import component as C
from ...syntax import component_ops as O
from ...syntax.types import FuncType as CoreFuncType
from ...valid import canon
from ...valid.component.types import Entity, FuncT, InstT, RId, T
from ...valid.component.validate import CanonOpts, ComponentInfo
from ..entities import FuncInst
from ..instance import instantiate as instantiate_module
from . import runtime as R
from .abigen import Options, lifted_factory, lowered_factory
from .runtime import ComponentInstance, Handle, trap
from .shapes import func_shape
from .values import RType


class Plan:
    """A validated component with its core modules compiled (by ``compile_module``,
    which the API supplies for its engine), ready to be instantiated many times."""

    def __init__(self, comp: C.Component, info: ComponentInfo,
                 compile_module: Callable[[C.CoreModuleDef, Any], Any]) -> None:  # fmt: skip
        self.comp = comp
        self.info = info
        self.defs = [d for d in comp.definitions() if not isinstance(d, C.CustomSection)]
        self.modules: list[Any] = []
        self.children: list[Plan] = []
        mods = iter(info.module_types)
        kids = iter(info.children)
        for d in self.defs:
            if isinstance(d, C.CoreModuleDef):
                self.modules.append(compile_module(d, next(mods)))
            elif isinstance(d, C.ComponentDef):
                self.children.append(Plan(d.component, next(kids), compile_module))
        self.uses_context = any(isinstance(d, C.Canon) and d.op in ("context.get", "context.set")
                                for d in self.defs)  # fmt: skip


class ComponentValue:
    """A component as a value: its plan and the frame its outer aliases refer to."""

    __slots__ = ("plan", "outer")

    def __init__(self, plan: Plan, outer: Frame | None) -> None:
        self.plan = plan
        self.outer = outer


class CFunc:
    """A component function at run time.

    ``kind`` is ``lifted`` (``canon lift`` in instance ``inst``) or ``host`` (a Python
    callable ``host(*args)`` taking and returning Python values). ``ft`` is its type
    as its definer sees it and ``rts`` the run-time resource types of the type's
    resource slots.
    """

    __slots__ = ("kind", "inst", "ft", "rts", "host", "core", "opts", "bind", "_calls", "name")

    def __init__(self, kind: str, ft: FuncT, rts: list[RType], *, inst: Any = None,
                 host: Any = None, core: Any = None, opts: Any = None,
                 bind: dict[str, Any] | None = None, name: str = "") -> None:  # fmt: skip
        self.kind = kind
        self.ft = ft
        self.rts = rts
        self.inst = inst
        self.host = host
        self.core = core
        self.opts = opts
        self.bind = bind
        self._calls: dict[tuple[str, str], Any] = {}
        self.name = name

    @property
    def encoding(self) -> str:
        return "utf8" if self.opts is None else self.opts.string_encoding

    def lifted(self, mode: str, src: str = "utf8") -> Any:
        """The ``lifted(enter, resolve, *args)`` function for callers in ``mode``
        whose strings come in encoding ``src``."""
        fn = self._calls.get((mode, src))
        if fn is None:
            fn = self._calls[(mode, src)] = self._make(mode, src)
        return fn

    def _make(self, mode: str, src: str) -> Any:
        if self.kind != "lifted":  # pragma: no cover - callers check
            raise AssertionError
        if self.opts.is_async:
            return _async_lift_stub
        (params, result), _rids = func_shape(self.ft)
        o = self.opts
        inst = self.inst
        assert self.bind is not None
        mem = self.bind["mem"]
        realloc = self.bind["realloc"]
        opts = Options(o.string_encoding, mem is not None, realloc is not None,
                       o.post_return is not None, self.bind["ctx"])  # fmt: skip
        make = lifted_factory(params, result, len(self.rts), opts, mode)
        b = {"core": self.core, "post": self.bind["post"], "inst": inst, "mem": mem}
        if mem is not None:
            b["alloc"] = R.make_alloc(inst, realloc, mem, mode)
            b["sst"] = R.make_string_store(inst, realloc, mem, o.string_encoding, src, mode)
            b["sld"] = R.make_string_load(mem, o.string_encoding, mode)
        for i, rt in enumerate(self.rts):
            b[f"R{i}"] = rt
        return make(b)

    def __repr__(self) -> str:
        return f"<CFunc {self.kind} {self.name}>"


def _async_lift_stub(*args: Any) -> Any:
    raise UnsupportedFeature("component model async", "an async-lifted function needs the "
                             "async runtime")  # fmt: skip


class Frame:
    """The index spaces of one component while it is being instantiated."""

    def __init__(self, plan: Plan, inst: ComponentInstance, outer: Frame | None,
                 backend: Any) -> None:  # fmt: skip
        self.plan = plan
        self.inst = inst
        self.outer = outer
        self.backend = backend
        self.types: list[Any] = []
        self.funcs: list[CFunc] = []
        self.instances: list[dict[str, Any]] = []
        self.components: list[ComponentValue] = []
        self.core_funcs: list[Any] = []
        self.core_tables: list[Any] = []
        self.core_memories: list[Any] = []
        self.core_globals: list[Any] = []
        self.core_tags: list[Any] = []
        self.core_instances: list[dict[str, Any]] = []
        self.core_modules: list[Any] = []
        self.rmap: dict[RId, RType] = {}
        self.n_opts = 0
        self.n_modules = 0
        self.n_children = 0

    # ------------------------------------------------------------ resources
    def rt(self, rid: RId) -> RType:
        got = self.rmap.get(rid)
        if got is None:
            raise WasmtimeError("internal error: resource type used before it was bound")
        return got

    def bind(self, e: Entity, value: Any, check: bool = False, where: str = "") -> None:
        """Bind the resources named in entity type ``e`` to those of run-time ``value``;
        with ``check``, also check that a function another component lifted has the
        type the import expects (host functions are untyped, as in wasmtime)."""
        k = e.kind
        if k == "func" and check and isinstance(value, CFunc) and value.kind == "lifted":
            _check_func(self, e.a.data, value, where)
            return
        if k == "type":
            t: T = e.a
            if t.kind == "resource":
                if not isinstance(value, RType):
                    raise LinkError("expected a resource type")
                prev = self.rmap.get(t.data)
                if prev is not None and prev.key is not value.key:
                    raise LinkError("resource type mismatch")
                self.rmap[t.data] = value
        elif k == "instance":
            inst_t: InstT = e.a.data
            if not isinstance(value, dict):
                raise LinkError("expected an instance")
            for name, item in inst_t.exports.items():
                if name not in value:
                    raise LinkError(f"instance has no export named `{name}`")
                self.bind(item.ty, value[name], check, f"{where}/{name}" if where else name)

    # ------------------------------------------------------------ the replay
    def run(self, args: dict[str, Any], store: Any) -> None:
        for d in self.plan.defs:
            handler = _STEPS[type(d)]
            handler(self, d, args, store)

    def sort_space(self, sort: str) -> list[Any]:
        return getattr(self, _SPACES[sort])  # type: ignore[no-any-return]


_SPACES = {"func": "funcs", "type": "types", "instance": "instances", "component": "components",
           "core func": "core_funcs", "core table": "core_tables",
           "core memory": "core_memories", "core global": "core_globals",
           "core tag": "core_tags", "core instance": "core_instances",
           "core module": "core_modules"}  # fmt: skip


# ---------------------------------------------------------------- steps
def _core_module(f: Frame, d: C.CoreModuleDef, args: Any, store: Any) -> None:
    f.core_modules.append(f.plan.modules[f.n_modules])
    f.n_modules += 1


def _core_instance(f: Frame, d: Any, args: Any, store: Any) -> None:
    if isinstance(d, C.CoreInlineExports):
        f.core_instances.append({name: f.sort_space(sort)[i] for name, sort, i in d.exports})
        return
    module = f.core_modules[d.module]
    by_name = {name: f.core_instances[i] for name, i in d.args}
    imports = []
    for imp in module.module.imports:
        imports.append(by_name[imp.module][imp.name])
    inst = instantiate_module(store, module, imports, f.backend)
    f.core_instances.append(inst.exports)


def _core_type(f: Frame, d: Any, args: Any, store: Any) -> None:
    pass  # core types matter only to validation


def _component(f: Frame, d: C.ComponentDef, args: Any, store: Any) -> None:
    f.components.append(ComponentValue(f.plan.children[f.n_children], f))
    f.n_children += 1


def _instance(f: Frame, d: Any, args: Any, store: Any) -> None:
    k = len(f.instances)
    if isinstance(d, C.InlineExports):
        value = {n.name: f.sort_space(sort)[i] for n, sort, i in d.exports}
    else:
        comp = f.components[d.component]
        cargs = {name: f.sort_space(sort)[i] for name, sort, i in d.args}
        child = instantiate(comp.plan, store, f.backend, cargs, parent=f.inst, outer=comp.outer)
        value = child.exports
    f.instances.append(value)
    f.bind(Entity("instance", f.plan.info.instances[k]), value)


def _export_alias(f: Frame, d: C.ExportAlias, args: Any, store: Any) -> None:
    value = f.instances[d.instance][d.name]
    f.sort_space(d.sort).append(value)


def _core_export_alias(f: Frame, d: C.CoreExportAlias, args: Any, store: Any) -> None:
    f.sort_space(d.sort).append(f.core_instances[d.instance][d.name])


def _outer_alias(f: Frame, d: C.OuterAlias, args: Any, store: Any) -> None:
    target: Frame | None = f
    for _ in range(d.count):
        target = target.outer if target is not None else None
    if d.sort == "core type":
        return
    if target is None:  # pragma: no cover - validation checks the count
        raise WasmtimeError("outer alias beyond the outermost component")
    f.sort_space(d.sort).append(target.sort_space(d.sort)[d.index])


def _type(f: Frame, d: C.TypeDef, args: Any, store: Any) -> None:
    k = len(f.types)
    t: T = f.plan.info.types[k]
    if t.kind == "resource" and isinstance(d.type, C.ResourceType):
        dtor = None
        if d.type.dtor is not None:
            fi = f.core_funcs[d.type.dtor]
            dtor = fi.call if not isinstance(fi, FuncInst) else _caller_of(fi)
        rt = RType(f.inst, dtor, None, f"{f.inst.name}#{k}")
        f.rmap[t.data] = rt
        f.types.append(rt)
    else:
        f.types.append(t)


def _caller_of(fi: FuncInst) -> Callable[[int], Any]:
    def call(rep: int) -> Any:
        return fi.call(rep)

    return call


def _import(f: Frame, d: C.ImportDef, args: dict[str, Any], store: Any) -> None:
    name = d.name.name
    if name not in args:
        raise LinkError(f"missing import named `{name}`")
    value = args[name]
    item = f.plan.info.type.imports[name]
    _check_kind(item.ty, value, name)
    f.bind(item.ty, value, True, name)
    _append_entity(f, item.ty, value)


def _check_func(f: Frame, want: FuncT, value: CFunc, where: str) -> None:
    """A lifted function from another component must have the imported type: the
    same parameter names, shapes, and resource types."""
    (wp, wr), wrids = func_shape(want)
    (gp, gr), _ = func_shape(value.ft)
    why = None
    if [n for n, _ in want.params] != [n for n, _ in value.ft.params]:
        why = "parameter names differ"
    elif (wp, wr) != (gp, gr) or want.is_async != value.ft.is_async:
        why = "parameter or result types differ"
    else:
        for i, rid in enumerate(wrids):
            rt = f.rmap.get(rid)
            if rt is None or i >= len(value.rts) or rt.key is not value.rts[i].key:
                why = "resource types differ"
                break
    if why is not None:
        raise LinkError(f"type mismatch for function import `{where}`: {why}")


def _append_entity(f: Frame, e: Entity, value: Any) -> None:
    k = e.kind
    space = {"module": f.core_modules, "func": f.funcs, "instance": f.instances,
             "component": f.components, "type": f.types}.get(k)  # fmt: skip
    if space is None:
        raise UnsupportedFeature("component model values")
    space.append(value)


def _check_kind(e: Entity, value: Any, name: str) -> None:
    k = e.kind
    ok = {"func": CFunc, "instance": dict, "component": ComponentValue}.get(k)
    if ok is not None and not isinstance(value, ok):
        raise LinkError(f"import `{name}` has the wrong kind: expected {k}")
    if k == "type" and e.a.kind == "resource" and not isinstance(value, RType):
        raise LinkError(f"import `{name}` has the wrong kind: expected a resource type")


def _export(f: Frame, d: C.ExportDef, args: Any, store: Any) -> None:
    value = f.sort_space(d.sort)[d.index]
    f.inst.exports[d.name.name] = value
    f.sort_space(d.sort).append(value)


def _canon(f: Frame, d: C.Canon, args: Any, store: Any) -> None:
    op = d.op
    if op == "lift":
        _lift(f, d)
    elif op == "lower":
        _lower(f, d)
    else:
        _builtin(f, d)


def _opts(f: Frame) -> CanonOpts:
    o = f.plan.info.canon_opts[f.n_opts]
    f.n_opts += 1
    return o


def _lift(f: Frame, d: C.Canon) -> None:
    o = _opts(f)
    k = len(f.funcs)
    ft: FuncT = f.plan.info.funcs[k].data
    _shape, rids = func_shape(ft)
    if o.ptr != "i32":
        raise UnsupportedFeature("64-bit canonical ABI memories")
    core = f.core_funcs[d.args[0]]  # type: ignore[call-overload]
    bind = {
        "mem": None if o.memory is None else f.core_memories[o.memory],
        "realloc": None if o.realloc is None else f.core_funcs[o.realloc],
        "post": None if o.post_return is None else f.core_funcs[o.post_return],
        "ctx": f.plan.uses_context,
    }
    f.funcs.append(CFunc("lifted", ft, [f.rt(r) for r in rids], inst=f.inst, core=core,
                         opts=o, bind=bind))  # fmt: skip


def _lower(f: Frame, d: C.Canon) -> None:
    o = _opts(f)
    args: Any = d.args
    callee = f.funcs[args[0]]
    ft: FuncT = f.plan.info.funcs[args[0]].data
    cid = f.plan.info.core_funcs[len(f.core_funcs)]
    core_ft = _core_functype(cid)
    if o.ptr != "i32":
        raise UnsupportedFeature("64-bit canonical ABI memories")
    if o.is_async:
        f.core_funcs.append(FuncInst(core_ft, cid, _unsupported_call(
            "component model async", "an async-lowered call needs the async runtime"),
            host=True))  # fmt: skip
        return
    (params, result), rids = func_shape(ft)
    mem = None if o.memory is None else f.core_memories[o.memory]
    realloc = None if o.realloc is None else f.core_funcs[o.realloc]
    inst = f.inst
    if callee.kind == "lifted":
        mode = "adapter"
        src = callee.encoding
    else:
        mode = "host"
        src = "utf8"
    opts = Options(o.string_encoding, mem is not None, realloc is not None, False, False)
    make = lowered_factory(params, result, len(rids), opts, mode)
    b: dict[str, Any] = {"inst": inst, "mem": mem}
    if mode == "adapter":
        b["callee"] = callee.lifted("adapter", o.string_encoding)
        b["enter"] = callee.inst.entering(inst)
    else:
        b["host"] = callee.host
    if mem is not None:
        b["alloc"] = R.make_alloc(inst, realloc, mem, mode)
        b["sst"] = R.make_string_store(inst, realloc, mem, o.string_encoding, src, mode)
        b["sld"] = R.make_string_load(mem, o.string_encoding, mode)
    for i, rid in enumerate(rids):
        b[f"R{i}"] = f.rt(rid)
    f.core_funcs.append(FuncInst(core_ft, cid, make(b), host=True))


def _core_functype(cid: int) -> CoreFuncType:
    ft = canon.definition(cid).comp
    assert isinstance(ft, CoreFuncType)
    return ft


def _unsupported_call(feature: str, detail: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        raise UnsupportedFeature(feature, detail)

    return call


def _builtin(f: Frame, d: C.Canon) -> None:
    op = d.op
    info = O.CANON_BY_NAME[op]
    if "opts" in info.imms:
        _opts(f)
    cid = f.plan.info.core_funcs[len(f.core_funcs)]
    core_ft = _core_functype(cid)
    inst = f.inst
    args: Any = d.args
    call: Callable[..., Any]
    if op == "resource.new":
        rt = f.types[args[0]]
        call = _resource_new(inst, rt)
    elif op == "resource.rep":
        rt = f.types[args[0]]
        call = _resource_rep(inst, rt)
    elif op == "resource.drop":
        rt = f.types[args[0]]
        call = _resource_drop(inst, rt)
    elif op in ("context.get", "context.set"):
        call = _context(inst, op, args[1])
    elif op in ("backpressure.inc", "backpressure.dec"):
        call = _backpressure(inst, op == "backpressure.inc")
    else:
        call = _leaving_unsupported(inst, op)
    f.core_funcs.append(FuncInst(core_ft, cid, call, host=True))


def _resource_new(inst: ComponentInstance, rt: RType) -> Callable[[int], int]:
    def new(rep: int) -> int:
        if not inst.may_leave:
            raise trap("cannot leave component instance")
        return R.table_add(inst, Handle(rt, rep, True))

    return new


def _resource_rep(inst: ComponentInstance, rt: RType) -> Callable[[int], int]:
    def rep(i: int) -> int:
        return R.resource_at(inst, rt, i).rep

    return rep


def _resource_drop(inst: ComponentInstance, rt: RType) -> Callable[[int], None]:
    def drop(i: int) -> None:
        if not inst.may_leave:
            raise trap("cannot leave component instance")
        h = R.resource_at(inst, rt, i)
        if h.lends:
            raise trap("cannot remove owned resource while borrowed")
        inst.handles[i] = None
        inst.free.append(i)
        if h.own:
            R.run_dtor(rt, h.rep, inst)
        else:
            h.scope.borrows -= 1

    return drop


def _context(inst: ComponentInstance, op: str, slot: int) -> Callable[..., Any]:
    if op == "context.get":
        def get() -> int:
            return inst.ctx[slot]  # type: ignore[no-any-return]
        return get

    def set_(v: int) -> None:
        inst.ctx[slot] = v

    return set_


def _backpressure(inst: ComponentInstance, inc: bool) -> Callable[[], None]:
    def bp() -> None:
        n = inst.backpressure + (1 if inc else -1)
        if n >= 1 << 16:
            raise trap("backpressure counter overflow")
        if n < 0:
            raise trap("backpressure counter underflow")
        inst.backpressure = n

    return bp


def _leaving_unsupported(inst: ComponentInstance, op: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if not inst.may_leave:
            raise trap("cannot leave component instance")
        raise UnsupportedFeature("component model async", f"`canon {op}` needs the async "
                                 "runtime")  # fmt: skip

    return call


_STEPS: dict[type, Callable[..., None]] = {
    C.CoreModuleDef: _core_module,
    C.CoreInstantiate: _core_instance,
    C.CoreInlineExports: _core_instance,
    C.CoreTypeDef: _core_type,
    C.ComponentDef: _component,
    C.Instantiate: _instance,
    C.InlineExports: _instance,
    C.ExportAlias: _export_alias,
    C.CoreExportAlias: _core_export_alias,
    C.OuterAlias: _outer_alias,
    C.TypeDef: _type,
    C.Canon: _canon,
    C.ImportDef: _import,
    C.ExportDef: _export,
}


def instantiate(plan: Plan, store: Any, backend: Any, args: dict[str, Any], *,
                parent: ComponentInstance | None = None, outer: Frame | None = None,
                name: str = "") -> ComponentInstance:  # fmt: skip
    """Instantiate ``plan`` in ``store`` (a StoreState) with import values ``args``."""
    inst = ComponentInstance(store, parent, name or (plan.comp.id or ""))
    frame = Frame(plan, inst, outer, backend)
    frame.run(args, store)
    return inst
