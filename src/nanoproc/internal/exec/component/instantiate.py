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

import threading
import weakref
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
from ..instance import quiet as module_quiet
from ..store import NO_LIMITS
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
        self.name = comp.id or ""
        self.trusted = not any(_brings_code(item.ty) for item in info.type.imports.values())
        self.steps = _Compiler(self).compile()
        self.run = _generate(self.steps)
        """All steps as one function (see :func:`_generate`)."""
        k = len(self.steps)
        while k and getattr(self.steps[k - 1], "quiet", False):
            k -= 1
        self.now: Step | None = None
        self.later: Step | None = None
        """The steps up to the last one that may fail or be observed (imports, core
        instances with start functions, ...), and the quiet rest, which an
        instantiation may defer to first use of the exports (None: no quiet rest)."""
        if k < len(self.steps):
            self.now = _generate(self.steps[:k]) if k else None
            self.later = _generate(self.steps[k:])
        self.proven: dict[int, weakref.ReferenceType[Any]] = {}
        """id -> weak reference of the backends that instantiated this plan at once
        without failing: only then is deferring sure not to move a failure (an
        unsupported feature the tier finds in a core module) from instantiation to
        first use."""


class ComponentValue:
    """A component as a value: its plan and the frame its outer aliases refer to."""

    __slots__ = ("plan", "outer")

    def __init__(self, plan: Plan, outer: Frame | None) -> None:
        self.plan = plan
        self.outer = outer


class CFunc:
    """A component function at run time.

    ``kind`` is ``lifted`` (``canon lift`` in instance ``inst``) or ``host`` (a Python
    callable ``host(store, *args)`` taking and returning Python values, ``store`` the
    API store of the call: one host CFunc serves every store). ``ft`` is its type
    as its definer sees it and ``rts`` the run-time resource types of the type's
    resource slots.
    """

    __slots__ = ("kind", "inst", "ft", "rts", "host", "core", "opts", "bind", "_calls", "name",
                 "site")  # fmt: skip

    def __init__(self, kind: str, ft: FuncT, rts: list[RType], *, inst: Any = None,
                 host: Any = None, core: Any = None, opts: Any = None,
                 bind: tuple[Any, Any, Any, bool] | None = None,
                 name: str = "", site: dict[Any, Any] | None = None) -> None:  # fmt: skip
        self.kind = kind
        self.ft = ft
        self.rts = rts
        self.inst = inst
        self.host = host
        self.core = core
        self.opts = opts
        self.bind = bind
        self._calls: dict[tuple[str, str], Any] | None = None
        """(mode, encoding) -> lifted function, made on first use."""
        self.name = name
        self.site = site
        """Shared by the CFuncs one ``canon lift`` makes (one per instance): (mode,
        encoding) -> the lifting factory, looked up once for all of them."""

    @classmethod
    def lifted_at(cls, ft: FuncT, rts: list[RType], inst: Any, core: Any, opts: Any,
                  bind: tuple[Any, Any, Any, bool], site: dict[Any, Any]) -> CFunc:  # fmt: skip
        """``CFunc("lifted", ...)`` with positional arguments (what instantiation's
        generated code calls for every ``canon lift``: keywords cost more)."""
        cf = _new(cls)
        cf.kind = "lifted"
        cf.ft = ft
        cf.rts = rts
        cf.inst = inst
        cf.host = None
        cf.core = core
        cf.opts = opts
        cf.bind = bind
        cf._calls = None
        cf.name = ""
        cf.site = site
        return cf

    @property
    def encoding(self) -> str:
        return "utf8" if self.opts is None else self.opts.string_encoding

    def lifted(self, mode: str, src: str = "utf8") -> Any:
        """The ``lifted(enter, resolve, *args)`` function for callers in ``mode``
        whose strings come in encoding ``src``."""
        calls = self._calls
        if calls is None:
            calls = self._calls = {}
        fn = calls.get((mode, src))
        if fn is None:
            fn = calls[(mode, src)] = self._make(mode, src)
        return fn

    def _make(self, mode: str, src: str) -> Any:
        if self.kind != "lifted":  # pragma: no cover - callers check
            raise AssertionError
        if self.opts.is_async:
            return _async_lift_stub
        o = self.opts
        inst = self.inst
        assert self.bind is not None
        mem, realloc, post, ctx = self.bind
        site = self.site
        make = None if site is None else site.get((mode, src))
        if make is None:
            (params, result), _rids = func_shape(self.ft)
            opts = Options(o.string_encoding, mem is not None, realloc is not None,
                           o.post_return is not None, ctx)  # fmt: skip
            make = lifted_factory(params, result, len(self.rts), opts, mode)
            if site is not None:  # the same for every instance: what bind holds is
                site[(mode, src)] = make  # the plan's (memory, realloc, post-return)
        b = {"core": self.core, "post": post, "inst": inst, "mem": mem}
        if mem is not None:
            _helpers(b, make.uses, inst, realloc, mem, o.string_encoding, src, mode)
        if self.rts:
            for i, rt in enumerate(self.rts):
                b[_RNAMES[i] if i < len(_RNAMES) else f"R{i}"] = rt
        return make(b)

    def __repr__(self) -> str:
        return f"<CFunc {self.kind} {self.name}>"


_RNAMES = tuple(f"R{i}" for i in range(16))
_new = object.__new__


def _async_lift_stub(*args: Any) -> Any:
    raise UnsupportedFeature("component model async", "an async-lifted function needs the "
                             "async runtime")  # fmt: skip


# The index spaces, by sort: a frame keeps one list per sort, ``Frame.sp[SORT]``.
SORTS = ("func", "type", "instance", "component", "core func", "core table", "core memory",
         "core global", "core tag", "core instance", "core module")  # fmt: skip
SI = {s: i for i, s in enumerate(SORTS)}
FUNCS, TYPES, INSTANCES, COMPONENTS, CORE_FUNCS = 0, 1, 2, 3, 4
CORE_MEMORIES, CORE_INSTANCES, CORE_MODULES = 6, 9, 10
_KIND_SORT = {"module": "core module", "func": "func", "instance": "instance",
              "component": "component", "type": "type"}  # fmt: skip
"""The sort an imported entity of each kind enters (values have none yet)."""


class Frame:
    """The index spaces of one component while it is being instantiated."""

    __slots__ = ("plan", "inst", "outer", "backend", "sp", "rmap", "trusted", "host_store")

    def __init__(self, plan: Plan, inst: ComponentInstance, outer: Frame | None,
                 backend: Any, trusted: bool, host_store: Any = None) -> None:  # fmt: skip
        self.plan = plan
        self.inst = inst
        self.outer = outer
        self.backend = backend
        self.host_store = host_store
        """The API store host functions are called with."""
        self.sp: list[list[Any]] = [[], [], [], [], [], [], [], [], [], [], []]
        self.rmap: dict[RId, RType] = {}
        self.trusted = trusted
        """Every core module in this component tree is one of its own (none came from
        the host), so the validator has already checked each core instantiation's
        arguments and instantiating skips the run-time import checks."""

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


Step = Callable[[Frame, dict[str, Any], Any], None]
"""One definition's work at instantiation: ``step(frame, import_args, store)``."""


def _inline(step: Step, line: str, quiet: bool = True, **consts: Any) -> Step:
    """Mark ``step`` as expressible by one line of Python for :func:`_generate`: a
    statement over the index spaces ``S0``..``S10`` (``Frame.sp``), the instance's
    exports ``EX`` and the named constants (written ``{name}`` in ``line``)."""
    step.inline = (line, consts)  # type: ignore[attr-defined]
    return _quiet(step) if quiet else step


def _quiet(step: Step) -> Step:
    """Mark ``step`` as one that can neither fail (in a validated component) nor be
    observed before the instance's exports are: instantiation may defer it."""
    step.quiet = True  # type: ignore[attr-defined]
    return step


def _generate(steps: list[Step]) -> Step:
    """One function running ``steps`` in order, with the simple ones (appending a
    constant, an alias, an export) written inline: instantiating a small component
    then costs one call for most of its definitions instead of one each."""
    names: dict[str, Any] = {}
    lines = ["def run(f, args, store):",
             "    " + ", ".join(f"S{i}" for i in range(len(SORTS))) + " = f.sp",
             "    EX = f.inst._exports"]  # fmt: skip
    for n, step in enumerate(steps):
        inline = getattr(step, "inline", None)
        if inline is None:
            names[f"k{n}"] = step
            lines.append(f"    k{n}(f, args, store)")
            continue
        line, consts = inline
        local = {k: f"c{n}_{k}" for k in consts}
        for k, v in consts.items():
            names[local[k]] = v
        lines.append("    " + line.format(**local))
    if not steps:
        lines.append("    pass")
    code = compile("\n".join(lines) + "\n", "<nanoproc component instantiation>", "exec")
    exec(code, names)
    return names["run"]  # type: ignore[no-any-return]


class _Compiler:
    """Turns a plan's definitions into steps, once per plan, tracking how long each
    index space is at each definition (the validator's per-index facts are looked up
    then, not at every instantiation)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.info = plan.info
        self.n = [0] * len(SORTS)
        self.n_opts = 0
        self.n_modules = 0
        self.n_children = 0
        self.static_modules: dict[int, Any] = {}
        """Core module index -> the compiled module, for the component's own modules."""

    def add(self, sort: int) -> int:
        k = self.n[sort]
        self.n[sort] = k + 1
        return k

    def opts(self) -> CanonOpts:
        o = self.info.canon_opts[self.n_opts]
        self.n_opts += 1
        return o

    def compile(self) -> list[Step]:
        steps = []
        for d in self.plan.defs:
            step = _COMPILE[type(d)](self, d)
            if step is not None:
                steps.append(step)
        return steps


# ---------------------------------------------------------------- steps
def _core_module(c: _Compiler, d: C.CoreModuleDef) -> Step:
    module = c.plan.modules[c.n_modules]
    c.n_modules += 1
    c.static_modules[c.add(CORE_MODULES)] = module

    def step(f: Frame, args: Any, store: Any) -> None:
        f.sp[CORE_MODULES].append(module)

    return _inline(step, f"S{CORE_MODULES}.append({{m}})", m=module)


def _core_instance(c: _Compiler, d: Any) -> Step:
    c.add(CORE_INSTANCES)
    if isinstance(d, C.CoreInlineExports):
        items = [(name, SI[sort], i) for name, sort, i in d.exports]

        def inline(f: Frame, args: Any, store: Any) -> None:
            sp = f.sp
            sp[CORE_INSTANCES].append({name: sp[s][i] for name, s, i in items})

        body = ", ".join(f"{name!r}: S{s}[{i}]" for name, s, i in items)
        body = body.replace("{", "{{").replace("}", "}}")  # names are any strings
        return _inline(inline, f"S{CORE_INSTANCES}.append({{{{{body}}}}})")
    by_name = dict(d.args)
    mi = d.module
    module = c.static_modules.get(mi)
    if module is None:  # an imported or aliased module: its imports are known only then
        # (in a trusted tree it is still one of the tree's own, passed by subtyping)
        def dynamic(f: Frame, args: Any, store: Any) -> None:
            cis = f.sp[CORE_INSTANCES]
            m = f.sp[CORE_MODULES][mi]
            imports = [cis[by_name[imp.module]][imp.name] for imp in m.module.imports]
            cis.append(instantiate_module(store, m, imports, f.backend, trusted=f.trusted).exports)

        return dynamic
    pairs = [(by_name[imp.module], imp.name) for imp in module.module.imports]

    def static(f: Frame, args: Any, store: Any) -> None:
        cis = f.sp[CORE_INSTANCES]
        imports = [cis[i][name] for i, name in pairs]
        cis.append(instantiate_module(store, module, imports, f.backend,
                                      trusted=f.trusted).exports)  # fmt: skip

    consts = {"inst": instantiate_module, "m": module}
    items = []
    for k, (i, name) in enumerate(pairs):
        consts[f"n{k}"] = name
        items.append(f"S{CORE_INSTANCES}[{i}][{{n{k}}}]")
    line = (f"S{CORE_INSTANCES}.append({{inst}}(store, {{m}}, [{', '.join(items)}], "
            "f.backend, trusted=f.trusted).exports)")
    return _inline(static, line, quiet=module_quiet(module), **consts)


def _core_type(c: _Compiler, d: Any) -> None:
    return None  # core types matter only to validation


def _component(c: _Compiler, d: C.ComponentDef) -> Step:
    child = c.plan.children[c.n_children]
    c.n_children += 1
    c.add(COMPONENTS)

    def step(f: Frame, args: Any, store: Any) -> None:
        f.sp[COMPONENTS].append(ComponentValue(child, f))

    return _quiet(step)


def _instance(c: _Compiler, d: Any) -> Step:
    k = c.add(INSTANCES)
    entity = Entity("instance", c.info.instances[k])
    if isinstance(d, C.InlineExports):
        items = [(n.name, SI[sort], i) for n, sort, i in d.exports]

        def inline(f: Frame, args: Any, store: Any) -> None:
            sp = f.sp
            value = {name: sp[s][i] for name, s, i in items}
            sp[INSTANCES].append(value)
            f.bind(entity, value)

        return _quiet(inline)
    ci = d.component
    cargs = [(name, SI[sort], i) for name, sort, i in d.args]

    def step(f: Frame, args: Any, store: Any) -> None:
        sp = f.sp
        comp = sp[COMPONENTS][ci]
        given = {name: sp[s][i] for name, s, i in cargs}
        child = instantiate(comp.plan, store, f.backend, given, parent=f.inst, outer=comp.outer,
                            trusted=f.trusted, host_store=f.host_store)  # fmt: skip
        value = child.exports
        sp[INSTANCES].append(value)
        f.bind(entity, value)

    return step


def _unsupported_sort(sort: str) -> Step:
    def step(f: Frame, args: Any, store: Any) -> None:
        raise UnsupportedFeature("component model values", f"the `{sort}` sort")

    return step


def _export_alias(c: _Compiler, d: C.ExportAlias) -> Step:
    s = SI.get(d.sort)
    if s is None:
        return _unsupported_sort(d.sort)
    c.add(s)
    ii, name = d.instance, d.name

    def step(f: Frame, args: Any, store: Any) -> None:
        sp = f.sp
        sp[s].append(sp[INSTANCES][ii][name])

    return _inline(step, f"S{s}.append(S{INSTANCES}[{ii}][{{n}}])", n=name)


def _core_export_alias(c: _Compiler, d: C.CoreExportAlias) -> Step:
    s = SI[d.sort]
    c.add(s)
    ii, name = d.instance, d.name

    def step(f: Frame, args: Any, store: Any) -> None:
        sp = f.sp
        sp[s].append(sp[CORE_INSTANCES][ii][name])

    return _inline(step, f"S{s}.append(S{CORE_INSTANCES}[{ii}][{{n}}])", n=name)


def _outer_alias(c: _Compiler, d: C.OuterAlias) -> Step | None:
    if d.sort == "core type":
        return None
    s = SI.get(d.sort)
    if s is None:
        return _unsupported_sort(d.sort)
    c.add(s)
    count, index = d.count, d.index

    def step(f: Frame, args: Any, store: Any) -> None:
        target: Frame | None = f
        for _ in range(count):
            target = target.outer if target is not None else None
        if target is None:  # pragma: no cover - validation checks the count
            raise WasmtimeError("outer alias beyond the outermost component")
        f.sp[s].append(target.sp[s][index])

    return _quiet(step)


def _type(c: _Compiler, d: C.TypeDef) -> Step:
    k = c.add(TYPES)
    t: T = c.info.types[k]
    if not (t.kind == "resource" and isinstance(d.type, C.ResourceType)):
        def plain(f: Frame, args: Any, store: Any) -> None:
            f.sp[TYPES].append(t)

        return _inline(plain, f"S{TYPES}.append({{t}})", t=t)
    rid = t.data
    dtor_index = d.type.dtor

    def resource(f: Frame, args: Any, store: Any) -> None:
        dtor = None
        if dtor_index is not None:
            fi = f.sp[CORE_FUNCS][dtor_index]
            dtor = fi.call if not isinstance(fi, FuncInst) else _caller_of(fi)
        rt = RType(f.inst, dtor, None, f"{f.inst.name}#{k}")
        f.rmap[rid] = rt
        f.sp[TYPES].append(rt)

    if dtor_index is not None:
        return _quiet(resource)
    return _inline(resource, f"rt = {{RType}}(f.inst, None, None, f.inst.name + {{suffix}}); "
                   f"f.rmap[{{rid}}] = rt; S{TYPES}.append(rt)",
                   RType=RType, suffix=f"#{k}", rid=rid)  # fmt: skip


def _caller_of(fi: FuncInst) -> Callable[[int], Any]:
    def call(rep: int) -> Any:
        return fi.call(rep)

    return call


def _import(c: _Compiler, d: C.ImportDef) -> Step:
    name = d.name.name
    item = c.info.type.imports[name]
    sort = _KIND_SORT.get(item.ty.kind)
    s = -1 if sort is None else SI[sort]
    if s >= 0:
        c.add(s)
    ty = item.ty
    bind = _binder(ty, name)

    def step(f: Frame, args: dict[str, Any], store: Any) -> None:
        if name not in args:
            raise LinkError(f"missing import named `{name}`")
        value = args[name]
        _check_kind(ty, value, name)
        bind(f, value)
        if s < 0:
            raise UnsupportedFeature("component model values")
        f.sp[s].append(value)

    return step


def _binder(e: Entity, name: str) -> Callable[[Frame, Any], None]:
    """``Frame.bind(e, value, True, name)`` as one generated function of (frame,
    value): the same checks in the same order, with no recursion over the entity
    type per instantiation (a WASI import is an instance of dozens of items)."""
    consts: dict[str, Any] = {"CFunc": CFunc, "RType": RType, "LinkError": LinkError,
                              "_check_func": _check_func}  # fmt: skip
    lines = ["def bind(f, v0):", "    rmap = f.rmap"]

    def const(value: Any) -> str:
        k = f"K{len(consts)}"
        consts[k] = value
        return k

    def emit(e: Entity, var: str, where: str, depth: int) -> None:
        pad = "    "  # straight-line code; nested items use variable v<depth>
        k = e.kind
        if k == "func":
            lines.append(f"{pad}if isinstance({var}, CFunc) and {var}.kind == 'lifted':")
            lines.append(f"{pad}    _check_func(f, {const(e.a.data)}, {var}, {where!r})")
        elif k == "type" and e.a.kind == "resource":
            rid = const(e.a.data)
            lines.append(f"{pad}if not isinstance({var}, RType): "
                         "raise LinkError('expected a resource type')")  # fmt: skip
            lines.append(f"{pad}prev = rmap.get({rid})")
            lines.append(f"{pad}if prev is not None and prev.key is not {var}.key: "
                         "raise LinkError('resource type mismatch')")  # fmt: skip
            lines.append(f"{pad}rmap[{rid}] = {var}")
        elif k == "instance":
            lines.append(f"{pad}if not isinstance({var}, dict): "
                         "raise LinkError('expected an instance')")  # fmt: skip
            sub = f"v{depth}"
            for n, item in e.a.data.exports.items():
                message = f"instance has no export named `{n}`"
                lines.append(f"{pad}if {n!r} not in {var}: raise LinkError({message!r})")
                t = item.ty
                if t.kind in ("func", "instance") or (t.kind == "type" and t.a.kind == "resource"):
                    lines.append(f"{pad}{sub} = {var}[{n!r}]")
                    emit(t, sub, f"{where}/{n}" if where else n, depth + 1)

    emit(e, "v0", name, 1)
    src = "\n".join(lines) + "\n"
    exec(compile(src, "<nanoproc component import binding>", "exec"), consts)
    return consts["bind"]  # type: ignore[no-any-return]


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


def _check_kind(e: Entity, value: Any, name: str) -> None:
    k = e.kind
    ok = {"func": CFunc, "instance": dict, "component": ComponentValue}.get(k)
    if ok is not None and not isinstance(value, ok):
        raise LinkError(f"import `{name}` has the wrong kind: expected {k}")
    if k == "type" and e.a.kind == "resource" and not isinstance(value, RType):
        raise LinkError(f"import `{name}` has the wrong kind: expected a resource type")


def _export(c: _Compiler, d: C.ExportDef) -> Step:
    s = SI.get(d.sort)
    if s is None:
        return _unsupported_sort(d.sort)
    c.add(s)
    name, index = d.name.name, d.index

    def step(f: Frame, args: Any, store: Any) -> None:
        space = f.sp[s]
        value = space[index]
        f.inst._exports[name] = value
        space.append(value)

    return _inline(step, f"v = EX[{{n}}] = S{s}[{index}]; S{s}.append(v)", n=name)


def _canon(c: _Compiler, d: C.Canon) -> Step:
    op = d.op
    if op == "lift":
        return _lift(c, d)
    if op == "lower":
        return _lower(c, d)
    return _builtin(c, d)


def _lift(c: _Compiler, d: C.Canon) -> Step:
    o = c.opts()
    k = c.add(FUNCS)
    ft: FuncT = c.info.funcs[k].data
    _shape, rids = func_shape(ft)
    core_i: int = d.args[0]  # type: ignore[assignment]
    mem_i, realloc_i, post_i = o.memory, o.realloc, o.post_return
    ctx = c.plan.uses_context
    wide = o.ptr != "i32"

    def step(f: Frame, args: Any, store: Any) -> None:
        if wide:
            raise UnsupportedFeature("64-bit canonical ABI memories")
        sp = f.sp
        cf = sp[CORE_FUNCS]
        bind = (None if mem_i is None else sp[CORE_MEMORIES][mem_i],
                None if realloc_i is None else cf[realloc_i],
                None if post_i is None else cf[post_i],
                ctx)  # fmt: skip
        rts = [f.rt(r) for r in rids] if rids else []
        sp[FUNCS].append(CFunc("lifted", ft, rts, inst=f.inst,
                               core=cf[core_i], opts=o, bind=bind, site=site))  # fmt: skip

    site: dict[Any, Any] = {}
    if wide:
        return step
    consts: dict[str, Any] = {"lifted": CFunc.lifted_at, "ft": ft, "o": o, "ctx": ctx,
                              "site": site}  # fmt: skip
    rts_src = "[" + ", ".join(f"f.rt({{r{k}}})" for k in range(len(rids))) + "]"
    for k, r in enumerate(rids):
        consts[f"r{k}"] = r
    cf = f"S{CORE_FUNCS}"
    bind_src = (("None" if mem_i is None else f"S{CORE_MEMORIES}[{mem_i}]") + ", "
                + ("None" if realloc_i is None else f"{cf}[{realloc_i}]") + ", "
                + ("None" if post_i is None else f"{cf}[{post_i}]") + ", {ctx}")
    line = (f"S{FUNCS}.append({{lifted}}({{ft}}, {rts_src}, f.inst, {cf}[{core_i}], {{o}}, "
            f"({bind_src}), {{site}}))")
    return _inline(step, line, **consts)


def _lower(c: _Compiler, d: C.Canon) -> Step:
    o = c.opts()
    args: Any = d.args
    callee_i: int = args[0]
    ft: FuncT = c.info.funcs[callee_i].data
    cid = c.info.core_funcs[c.add(CORE_FUNCS)]
    core_ft = _core_functype(cid)
    wide = o.ptr != "i32"
    if o.is_async and not wide:
        call = _unsupported_call("component model async",
                                 "an async-lowered call needs the async runtime")  # fmt: skip

        def unsupported(f: Frame, args: Any, store: Any) -> None:
            f.sp[CORE_FUNCS].append(FuncInst(core_ft, cid, call, host=True))

        return _quiet(unsupported)
    (params, result), rids = func_shape(ft)
    mem_i, realloc_i, enc = o.memory, o.realloc, o.string_encoding
    opts = Options(enc, mem_i is not None, realloc_i is not None, False, False)
    makers: dict[str, Any] = {}
    """mode -> the lowering's factory (looked up once per plan, not per instance)."""
    slots = [(f"R{i}", rid) for i, rid in enumerate(rids)]

    def step(f: Frame, args: Any, store: Any) -> None:
        if wide:
            raise UnsupportedFeature("64-bit canonical ABI memories")
        sp = f.sp
        callee = sp[FUNCS][callee_i]
        inst = f.inst
        if callee.kind == "lifted":
            mode = "adapter"
            src = callee.encoding
        else:
            mode = "host"
            src = "utf8"
        make = makers.get(mode)
        if make is None:
            make = makers[mode] = lowered_factory(params, result, len(rids), opts, mode)
        mem = None if mem_i is None else sp[CORE_MEMORIES][mem_i]
        b: dict[str, Any] = {"inst": inst, "mem": mem}
        if mode == "adapter":
            b["callee"] = callee.lifted("adapter", enc)
            b["enter"] = callee.inst.entering(inst)
        else:
            b["host"] = callee.host
            b["store"] = f.host_store
        if mem is not None:
            realloc = None if realloc_i is None else sp[CORE_FUNCS][realloc_i]
            _helpers(b, make.uses, inst, realloc, mem, enc, src, mode)
        if slots:
            rmap = f.rmap
            for key, rid in slots:
                rt = rmap.get(rid)
                b[key] = rt if rt is not None else f.rt(rid)
        sp[CORE_FUNCS].append(FuncInst(core_ft, cid, make(b), host=True))

    return step if wide else _quiet(step)


def _helpers(b: dict[str, Any], uses: frozenset[str], inst: ComponentInstance, realloc: Any,
             mem: Any, enc: str, src: str, mode: str) -> None:  # fmt: skip
    """Put into ``b`` the memory helpers a lifting/lowering function ``uses`` (most
    use none or one: making all of them cost more than the rest of its binding)."""
    alloc = None
    if "alloc" in uses:
        alloc = b["alloc"] = R.make_alloc(inst, realloc, mem, mode)
    if "sst" in uses:
        b["sst"] = R.make_string_store(inst, realloc, mem, enc, src, mode, alloc)
    if "sld" in uses:
        b["sld"] = R.make_string_load(mem, enc, mode)


def _core_functype(cid: int) -> CoreFuncType:
    ft = canon.definition(cid).comp
    assert isinstance(ft, CoreFuncType)
    return ft


def _unsupported_call(feature: str, detail: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        raise UnsupportedFeature(feature, detail)

    return call


def _builtin(c: _Compiler, d: C.Canon) -> Step:
    op = d.op
    if "opts" in O.CANON_BY_NAME[op].imms:
        c.opts()
    cid = c.info.core_funcs[c.add(CORE_FUNCS)]
    core_ft = _core_functype(cid)
    args: Any = d.args
    make: Callable[[ComponentInstance, Frame], Callable[..., Any]]
    if op == "resource.new":
        make = lambda inst, f: _resource_new(inst, f.sp[TYPES][args[0]])  # noqa: E731
    elif op == "resource.rep":
        make = lambda inst, f: _resource_rep(inst, f.sp[TYPES][args[0]])  # noqa: E731
    elif op == "resource.drop":
        make = lambda inst, f: _resource_drop(inst, f.sp[TYPES][args[0]])  # noqa: E731
    elif op in ("context.get", "context.set"):
        make = lambda inst, f: _context(inst, op, args[1])  # noqa: E731
    elif op in ("backpressure.inc", "backpressure.dec"):
        inc = op == "backpressure.inc"
        make = lambda inst, f: _backpressure(inst, inc)  # noqa: E731
    else:
        make = lambda inst, f: _leaving_unsupported(inst, op)  # noqa: E731

    def step(f: Frame, args: Any, store: Any) -> None:
        f.sp[CORE_FUNCS].append(FuncInst(core_ft, cid, make(f.inst, f), host=True))

    resource_op = {"resource.new": _resource_new, "resource.rep": _resource_rep,
                   "resource.drop": _resource_drop}.get(op)  # fmt: skip
    if resource_op is None:
        return _quiet(step)
    return _inline(step, f"S{CORE_FUNCS}.append({{FuncInst}}({{ft}}, {{cid}}, "
                   f"{{op}}(f.inst, S{TYPES}[{args[0]}]), None, -1, True))",
                   FuncInst=FuncInst, ft=core_ft, cid=cid, op=resource_op)  # fmt: skip


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


_COMPILE: dict[type, Callable[[_Compiler, Any], Step | None]] = {
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


def _brings_code(e: Entity) -> bool:
    """Whether an import of type ``e`` can bring core modules the validator has not
    seen (a module, a component, or an instance exporting either)."""
    if e.kind in ("module", "component"):
        return True
    if e.kind == "instance":
        return any(_brings_code(item.ty) for item in e.a.data.exports.values())
    return False


def instantiate(plan: Plan, store: Any, backend: Any, args: dict[str, Any], *,
                parent: ComponentInstance | None = None, outer: Frame | None = None,
                name: str = "", trusted: bool | None = None,
                host_store: Any = None, defer: bool = False) -> ComponentInstance:  # fmt: skip
    """Instantiate ``plan`` in ``store`` (a StoreState) with import values ``args``.
    ``trusted`` (for nested components, from the outermost one; else the plan's own)
    says whether every core module in the tree was validated with it; host
    functions are called with ``host_store`` (the API store).

    ``defer``: run the plan's quiet trailing steps (``Plan.later``: core instances
    without start functions or segments that may trap, lifts, lowerings, aliases,
    exports) when the exports are first read, not now. Nothing can tell the
    difference but the time it takes: those steps run no Wasm code and cannot fail
    (once this backend has instantiated the plan), and the imports are checked now.
    Not done for a store that meters fuel (instantiation's fuel is charged at once,
    as wasmtime does) or has limits (an instance or memory count refused later)."""
    inst = ComponentInstance(store, parent, name or plan.name)
    frame = Frame(plan, inst, outer, backend, plan.trusted if trusted is None else trusted,
                  host_store)  # fmt: skip
    later = plan.later
    if (defer and later is not None and store.fuel is None and store.limiter is None
            and (store.limits is NO_LIMITS or store.limits == NO_LIMITS)
            and _proven(plan, backend)):  # fmt: skip
        if plan.now is not None:
            plan.now(frame, args, store)
        frame.host_store = None  # held weakly while pending: no cycle with the API store
        inst.pending = _Deferred(inst, frame, store, later,
                                 None if host_store is None else weakref.ref(host_store))  # fmt: skip
        return inst
    plan.run(frame, args, store)
    if defer and later is not None and not _proven(plan, backend):
        plan.proven[id(backend)] = weakref.ref(backend)
    _finish(inst, frame)
    return inst


def _proven(plan: Plan, backend: Any) -> bool:
    ref = plan.proven.get(id(backend))
    return ref is not None and ref() is backend


_REALIZING = threading.RLock()
"""Held while deferred steps run: another thread reading the same instance's
exports meanwhile waits for them, instead of seeing them half made."""


class _Deferred:
    """An instance's deferred steps (``ComponentInstance.pending``, cleared once they
    ran); on failure (a Python exception, Ctrl-C) the frame is put back as it was,
    so that the next use of the exports tries again."""

    __slots__ = ("inst", "frame", "store", "run", "host_ref")

    def __init__(self, inst: ComponentInstance, frame: Frame, store: Any, run: Step,
                 host_ref: Any) -> None:  # fmt: skip
        self.inst = inst
        self.frame = frame
        self.store = store
        self.run = run
        self.host_ref = host_ref

    def __call__(self) -> None:
        with _REALIZING:
            if self.inst.pending is self:  # not run meanwhile by another thread
                self._run()

    def _run(self) -> None:
        inst, frame = self.inst, self.frame
        sizes = list(map(len, frame.sp))
        rmap = frame.rmap.copy() if frame.rmap else {}
        exports = inst._exports.copy() if inst._exports else {}
        frame.host_store = None if self.host_ref is None else self.host_ref()
        try:
            self.run(frame, {}, self.store)
        except BaseException as e:
            for space, n in zip(frame.sp, sizes):
                del space[n:]
            frame.rmap = rmap
            frame.host_store = None
            inst._exports = exports
            if isinstance(e, (LinkError, UnsupportedFeature)) or not isinstance(e, Exception):
                raise
            convert = getattr(self.store.engine, "convert_exception", None)
            if convert is None:
                raise
            raise convert(e) from None
        inst.pending = None
        _finish(inst, frame)


def _finish(inst: ComponentInstance, frame: Frame) -> None:
    """Drop the frame's index spaces once instantiation is done, unless a component
    value escaped through the exports."""
    if frame.sp[COMPONENTS] and not any(_holds_frame(v, frame) for v in inst._exports.values()):
        # Its components' values refer back to it (outer aliases): a cycle holding
        # every index space, and so the whole store, until the cyclic GC ran. No
        # component of it escaped, so nothing will instantiate one of them again.
        frame.sp = []
        frame.rmap = {}


def _holds_frame(value: Any, frame: Frame) -> bool:
    """Whether an exported ``value`` is (or is an instance holding) a component
    value that closes over ``frame``."""
    if isinstance(value, ComponentValue):
        return value.outer is frame
    if isinstance(value, dict):
        return any(_holds_frame(v, frame) for v in value.values())
    return False
