"""Module instances and instantiation (spec section 4.5.4).

``instantiate`` checks the imports against the module's declared import types,
allocates the instance's entities in the store, lets the tier bind code, applies
the element and data segments, and runs the start function. A trap while applying
segments fails the instantiation, but writes already made to imported tables and
memories stay, as the spec requires.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..errors import LinkError, WasmtimeError
from ..syntax.module import FuncRefs
from ..syntax.types import FuncType, GlobalType, MemType, TableType, TagType
from . import funcpool
from .backend import Backend
from .compiled import CompiledModule
from .constexpr import NOT_CONSTANT, compile_const, constant_of
from .entities import FuncInst, GlobalInst, TableInst, TagInst
from .funcpool import FuncPool
from .initfuel import InitMeter, init_plan
from .link import check_import, close_global, close_table, close_valtype
from .memory import MemoryInst, memory_facts
from .store import NO_LIMITS, StoreState
from .trap import Trap, TrapCode

Extern = FuncInst | TableInst | MemoryInst | GlobalInst | TagInst


class ModuleInstance:
    """An instantiated module: its entities in every index space and its exports."""

    def __init__(self, module: CompiledModule, store: StoreState) -> None:
        self.module = module
        self.store = store
        self.funcs: list[FuncInst] = []
        self.tables: list[TableInst] = []
        self.memories: list[MemoryInst] = []
        self.globals: list[GlobalInst] = []
        self.tags: list[TagInst] = []
        self.elems: list[list[Any]] = []
        """Element segments' references; an empty list once dropped."""
        self.datas: list[bytes] = []
        """Data segments' bytes; empty once dropped."""
        self.exports: dict[str, Extern] = {}
        self.tier_state: Any = None
        """Whatever the tier keeps per instance (interp: the translated functions' globals)."""

    @property
    def name(self) -> str | None:
        return self.module.name

    @property
    def export_list(self) -> list[tuple[str, Extern]]:
        """The exports in export order (names are unique, so the dict keeps it)."""
        return list(self.exports.items())

    def release(self) -> None:
        """Drop this instance's links to its entities and tier state (see
        ``StoreState.release``); the entities themselves stay intact."""
        state = self.tier_state
        self.tier_state = None
        if state is not None and hasattr(state, "release"):
            state.release()
        plan = self.module.artifacts.get("plan")
        pool = plan.pool if plan is not None else None
        if pool is not None and self.funcs:
            pool.give(self.funcs, self)  # the next instance takes back what nobody holds
        self.funcs = []
        self.tables = []
        self.memories = []
        self.globals = []
        self.tags = []
        self.elems = []
        self.exports = {}

    def func_name(self, funcidx: int) -> str | None:
        return self.module.func_name(funcidx)


def _entity_kind(ext: Any) -> str:
    if isinstance(ext, FuncInst):
        return "func"
    if isinstance(ext, TableInst):
        return "table"
    if isinstance(ext, MemoryInst):
        return "memory"
    if isinstance(ext, GlobalInst):
        return "global"
    if isinstance(ext, TagInst):
        return "tag"
    raise LinkError(f"not an external value: {ext!r}")


_SPACE = {"func": "funcs", "table": "tables", "memory": "memories", "global": "globals",
          "tag": "tags"}  # fmt: skip
_KIND_OF = {FuncInst: "func", TableInst: "table", MemoryInst: "memory", GlobalInst: "global",
            TagInst: "tag"}  # fmt: skip


class _Plan:
    """Everything instantiation needs that depends only on the module, computed once.

    Instantiating a small module many times (one store per request) is a hot path;
    the plan keeps per-instance work to allocation and the module's own constants.
    """

    def __init__(self, module: CompiledModule) -> None:
        mod = module.module
        types = mod.deftypes
        self.imports = [(imp, _SPACE[imp.kind]) for imp in mod.imports]
        n_imp = module.num_imported_funcs
        # two flat lists, not a tuple per function: a big module's first instantiation
        # made ~180,000 tuples of them (CPython for WASI), each a survivor the cyclic
        # GC counts towards a full collection
        self.func_types = module.func_types[n_imp:]
        canon = module.types.canon  # (what module.canon reads: no call per function)
        self.func_canons = [canon[f.typeidx] for f in mod.funcs]
        self.first_func = n_imp
        self.pool = (FuncPool(self.func_types, self.func_canons, n_imp)
                     if len(self.func_types) >= funcpool.MIN_FUNCS else None)
        """A big module's functions, reused from a released instance (see funcpool)."""
        self.tags = []
        for tag in mod.tags:
            ft = types[tag.type.typeidx].comp
            # closed, as globals' and tables' types: concrete references by canonical id
            ft = FuncType(tuple(close_valtype(t, module) for t in ft.params),
                          tuple(close_valtype(t, module) for t in ft.results))
            self.tags.append((tag.type, ft, module.canon(tag.type.typeidx)))
        self.globals = [(close_global(g.type, module), compile_const(g.init)) for g in mod.globals]
        self.tables = [
            (close_table(t.type, module), compile_const(t.init) if t.init is not None else None)
            for t in mod.tables
        ]
        self.memories = [(m.type, memory_facts(m.type)) for m in mod.memories]
        self.num_tables = len(self.tables)
        self.num_memories = len(self.memories)
        self.exports = [(e.name, _SPACE[e.kind], e.index) for e in mod.exports]
        self.elems = [_elem_plan(seg) for seg in mod.elems]
        """(mode, table, offset, function indices or None, initialiser functions; for a
        segment of ``ref.func`` items, the indices again: same length, never called)."""
        self.datas = [(seg.mode, seg.memory, _offset(seg.offset), seg.init) for seg in mod.datas]
        self.start = mod.start
        self.init_fuel = init_plan(mod)
        """What wasmtime's startup function charges (None: nothing)."""
        exprs = [g.init for g in mod.globals] + [t.init for t in mod.tables if t.init is not None]
        exprs += [x for seg in mod.elems if not isinstance(seg.init, FuncRefs) for x in seg.init]
        self.allocates = any(i[0].name.startswith(("struct.", "array.")) for x in exprs for i in x)
        """Whether constant expressions allocate GC objects (the store needs its heap)."""
        self.allocate = _allocator(self, [constant_of(g.init) for g in mod.globals])
        """``allocate(inst, store)``: the instance's own entities (see :func:`_allocator`)."""
        self.spaces = [space for _imp, space in self.imports]
        self.export = _exporter(self.exports)
        """``export(inst)``: the instance's exports dict (see :func:`_exporter`)."""
        self.num_imports = len(self.imports)
        self.quick = _quick(self) if not (self.elems or self.datas or self.allocates
                                          or self.start is not None) else None  # fmt: skip
        """``quick(store, module, imports, backend)``: :func:`instantiate` for a module
        without segments, start function or GC allocation, with trusted imports, in
        a store without fuel or limits (see :func:`_quick`); None for other modules."""


def _elem_plan(seg: Any) -> tuple[Any, ...]:
    indices = _func_indices(seg.init)
    init = indices if indices is not None else [compile_const(x) for x in seg.init]
    return (seg.mode, seg.table, _offset(seg.offset), indices, init)


def _offset(expr: Any) -> Any:
    """A segment's offset: an int when constant (the usual case), else a function of
    the instance (``global.get`` of an import, extended constants); None if passive."""
    if expr is None:
        return None
    value = constant_of(expr)
    return compile_const(expr) if value is NOT_CONSTANT else value


def _func_indices(init: list[Any]) -> list[int] | None:
    """The function indices of an element segment made only of ``ref.func``
    (``func_index_of`` written out: CPython-for-WASI's table segment has 47,000)."""
    if isinstance(init, FuncRefs):  # the binary's bare indices (as decoded)
        return list(init.indices)
    out = []
    for expr in init:
        if len(expr) != 1 or expr[0][0].name != "ref.func":
            return None
        out.append(expr[0][1])
    return out


STRAIGHT_FUNCS = 64
"""Functions up to which the allocator creates each with a line of its own."""


def _allocator(plan: _Plan, constants: list[Any]) -> Any:
    """``allocate(inst, store)``: the instance's own functions, tags, globals, tables
    and memories, in that order (each may refer to the ones before), as one function
    with the plan's facts as constants: a small module is instantiated per request,
    and a loop over the plan per entity costs more than creating the entity."""
    g: dict[str, Any] = {"FuncInst": FuncInst, "TagInst": TagInst, "GlobalInst": GlobalInst,
                         "TableInst": TableInst, "MemoryInst": MemoryInst}  # fmt: skip
    lines = ["def allocate(inst, store):"]
    nfuncs = len(plan.func_types)
    if nfuncs > STRAIGHT_FUNCS:
        # A big module: compiling one item per function would cost more (~14 us each:
        # 17 ms for Graphviz's 1,205) than the loop does on its few instantiations.
        g.update(FTS=plan.func_types, CANONS=plan.func_canons, repeat=itertools.repeat,
                 KS=range(plan.first_func, plan.first_func + nfuncs))
        if plan.pool is not None:  # (see funcpool)
            g["POOL"] = plan.pool
            lines.append("    inst.funcs += POOL.take(inst)")
        else:
            lines.append("    inst.funcs += map(FuncInst, FTS, CANONS, repeat(None), repeat(inst), KS)")
    elif nfuncs:
        items = []
        for i, (ft, canon) in enumerate(zip(plan.func_types, plan.func_canons)):
            g[f"ft{i}"], g[f"c{i}"] = ft, canon
            items.append(f"FuncInst(ft{i}, c{i}, None, inst, {plan.first_func + i})")
        lines.append(f"    inst.funcs += [{', '.join(items)}]")
    for i, (ttype, ft, canon) in enumerate(plan.tags):
        g[f"tt{i}"], g[f"tf{i}"], g[f"tc{i}"] = ttype, ft, canon
        lines.append(f"    inst.tags.append(TagInst(tt{i}, tf{i}, tc{i}))")
    for i, ((gtype, init), value) in enumerate(zip(plan.globals, constants)):
        g[f"gt{i}"] = gtype
        if value is NOT_CONSTANT or not isinstance(value, (int, float, type(None))):
            g[f"gi{i}"] = init
            value_src = f"gi{i}(inst)"
        else:
            g[f"gv{i}"] = value
            value_src = f"gv{i}"
        lines.append(f"    inst.globals.append(GlobalInst(gt{i}, {value_src}))")
    for i, (ttype, tinit) in enumerate(plan.tables):
        g[f"bt{i}"], g[f"bi{i}"] = ttype, tinit
        init_src = f"bi{i}(inst)" if tinit is not None else "None"
        lines.append(f"    inst.tables.append(TableInst(bt{i}, {init_src}, store))")
    for i, (mtype, facts) in enumerate(plan.memories):
        g[f"mt{i}"], g[f"mf{i}"] = mtype, facts
        lines.append(f"    inst.memories.append(MemoryInst(mt{i}, store, mf{i}))")
    if len(lines) == 1:
        lines.append("    pass")
    exec(compile("\n".join(lines) + "\n", "<nanoproc module allocation>", "exec"), g)
    return g["allocate"]


def _quick(plan: _Plan) -> Any:
    """:func:`instantiate`'s work for a simple module (see ``_Plan.quick``) as one
    function generated per module: imports placed without a dispatch per import,
    no limit or fuel checks (the store has neither), nothing to apply after
    allocation. Same order and failure behaviour: allocation is undone on any
    failure, and the tier binds the instance last."""
    if plan.num_imports > STRAIGHT_FUNCS:
        return None
    g: dict[str, Any] = {"ModuleInstance": ModuleInstance, "allocate": plan.allocate,
                         "export": plan.export}  # fmt: skip
    lines = ["def quick(store, module, imports, backend):",
             "    inst = ModuleInstance(module, store)"]
    for k, space in enumerate(plan.spaces):
        lines.append(f"    inst.{space}.append(imports[{k}])")
    lines.append("    store.instances.append(inst)")
    nt, nm = plan.num_tables, plan.num_memories
    if nt:
        lines.append(f"    store.num_tables += {nt}")
    if nm:
        lines.append(f"    store.num_memories += {nm}")
    lines += ["    try:",
              "        allocate(inst, store)",
              "    except BaseException:",
              f"        store.remove_instance(inst, {nt}, {nm})",
              "        raise",
              "    inst.exports = export(inst)",
              "    backend.instantiate(inst)",
              "    return inst"]  # fmt: skip
    exec(compile("\n".join(lines) + "\n", "<nanoproc module instantiation>", "exec"), g)
    return g["quick"]


STRAIGHT_EXPORTS = 256
"""Exports up to which the exports dict is written out as one dict display."""


def _exporter(exports: list[tuple[str, str, int]]) -> Any:
    """``export(inst) -> {name: entity}``, generated once per module: one dict display
    (a small module is instantiated per request; a loop per export costs more)."""
    if len(exports) > STRAIGHT_EXPORTS:
        def export(inst: ModuleInstance) -> dict[str, Any]:
            d = inst.__dict__
            return {name: d[space][index] for name, space, index in exports}

        return export
    g: dict[str, Any] = {}
    items = []
    for k, (name, space, index) in enumerate(exports):
        g[f"n{k}"] = name
        items.append(f"n{k}: inst.{space}[{index}]")
    src = "def export(inst):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(src, "<nanoproc module exports>", "exec"), g)
    return g["export"]


def _plan(module: CompiledModule) -> _Plan:
    plan = module.artifacts.get("plan")
    if plan is None:
        plan = module.artifacts["plan"] = _Plan(module)
    return plan  # type: ignore[no-any-return]


def quiet(module: CompiledModule) -> bool:
    """Whether instantiating ``module`` (with imports a validator checked) can neither
    fail nor be observed except through its exports: no start function, no GC
    allocation in constant expressions, no GC types, and every active segment at a
    constant offset within the minimum size of its table or memory. A component may
    then instantiate it on first use of its exports (see component instantiation's
    deferred steps): no Wasm code runs, nothing can trap."""
    got = module.artifacts.get("quiet")
    if got is None:
        got = module.artifacts["quiet"] = _quiet(module)
    return bool(got)


def _quiet(module: CompiledModule) -> bool:
    from .gctypes import declares_gc_types

    plan = _plan(module)
    if plan.start is not None or plan.allocates or declares_gc_types(module):
        return False
    mod = module.module
    table_mins: list[int] = []
    mem_bytes: list[int] = []
    for imp in mod.imports:  # an import is at least as big as its declared minimum
        desc = imp.desc
        if imp.kind == "table":
            if not isinstance(desc, TableType):
                return False
            table_mins.append(desc.limits.min)
        elif imp.kind == "memory":
            if not isinstance(desc, MemType):
                return False
            mem_bytes.append(desc.limits.min * desc.page_size)
    table_mins += [t.type.limits.min for t in mod.tables]
    mem_bytes += [m.type.limits.min * m.type.page_size for m in mod.memories]
    for mode, tidx, offset, _indices, init in plan.elems:
        if mode == "active" and (offset.__class__ is not int or tidx >= len(table_mins)
                                 or offset + len(init) > table_mins[tidx]):  # fmt: skip
            return False
    for mode, midx, offset, data in plan.datas:
        if mode == "active" and (offset.__class__ is not int or midx >= len(mem_bytes)
                                 or offset + len(data) > mem_bytes[midx]):  # fmt: skip
            return False
    return True


def instantiate(
    store: StoreState,
    module: CompiledModule,
    imports: list[Any],
    backend: Backend,
    *,
    trusted: bool = False,
) -> ModuleInstance:
    """Instantiate ``module`` with ``imports`` (one entity per import, in order).
    ``trusted``: validation already matched the imports' types (core instances inside
    a component), so the run-time checks are skipped."""
    plan = module.artifacts.get("plan") or _plan(module)
    quick = plan.quick
    if quick is not None and trusted and store.fuel is None and store.limits is NO_LIMITS \
            and len(imports) == plan.num_imports:  # fmt: skip
        return quick(store, module, imports, backend)  # type: ignore[no-any-return]
    if len(imports) != len(plan.imports):
        raise LinkError(f"expected {len(plan.imports)} imports, found {len(imports)}")
    inst = ModuleInstance(module, store)
    if imports:
        d = inst.__dict__
        if trusted:
            for space, ext in zip(plan.spaces, imports):
                d[space].append(ext)
        else:
            for (imp, space), ext in zip(plan.imports, imports):
                kind = _KIND_OF.get(type(ext)) or _entity_kind(ext)
                if kind != imp.kind:
                    raise LinkError(
                        f"incompatible import type for `{imp.module}::{imp.name}`: "
                        f"expected {imp.kind}, but found {kind}"
                    )
                check_import(module, imp, ext)
                d[space].append(ext)

    store.add_instance(inst)
    fuel_plan = plan.init_fuel if store.fuel is not None else None
    if fuel_plan is not None and fuel_plan.sources:
        inst.__dict__["array_lengths"] = []  # what the meter charges for array.new
    tables = memories = 0
    try:
        if plan.num_tables:
            store.add_tables(plan.num_tables)
            tables = plan.num_tables
        if plan.num_memories:
            store.add_memories(plan.num_memories)
            memories = plan.num_memories
        if plan.allocates:
            store.gc_heap(backend)
        plan.allocate(inst, store)
    except BaseException:
        store.remove_instance(inst, tables, memories)
        raise

    inst.exports = plan.export(inst)

    backend.instantiate(inst)

    if plan.elems:
        _eval_elems(inst, plan)
    if fuel_plan is not None:
        lengths = inst.__dict__.pop("array_lengths", None)
        meter = InitMeter(store, fuel_plan, lengths)  # may trap (out of fuel) at once
        _apply_segments(inst, plan, meter)  # a trap leaves the fuel as the meter wrote it
        meter.finish()
    elif plan.elems or plan.datas:
        _apply_segments(inst, plan, None)

    if plan.start is not None:
        start = inst.funcs[plan.start]
        # An imported host function that wants its caller gets this instance.
        if start.needs_caller:
            start.call(inst)
        else:
            start.call()
    return inst


def _eval_elems(inst: ModuleInstance, plan: _Plan) -> None:
    """Evaluate the element segments' items (before the fuel meter starts, which
    charges the lengths of arrays they allocate)."""
    funcs = inst.funcs
    elems = inst.elems
    for _m, _t, _o, indices, init in plan.elems:
        if indices is not None:
            elems.append([funcs[i] for i in indices])
        else:
            elems.append([f(inst) for f in init])


def _apply_segments(inst: ModuleInstance, plan: _Plan, meter: InitMeter | None) -> None:
    """Apply the active element segments (evaluated already) and data segments in
    order (``meter`` charges the fuel wasmtime charges for each)."""
    if plan.elems:
        elems = inst.elems
        for i, (mode, tidx, offset, _x, _y) in enumerate(plan.elems):
            if mode == "active":
                computed = offset.__class__ is not int
                if computed:
                    offset = offset(inst)
                table_elems = inst.tables[tidx].elems
                refs = elems[i]
                if offset + len(refs) > len(table_elems):
                    raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
                table_elems[offset : offset + len(refs)] = refs
                elems[i] = []
                if meter is not None:
                    meter.charge_elem(i, computed)
            elif mode == "declarative":
                elems[i] = []

    datas = inst.datas
    for i, (mode, midx, offset, data) in enumerate(plan.datas):
        if mode == "active":
            if offset.__class__ is not int:
                offset = offset(inst)
            view = inst.memories[midx].view
            if offset + len(data) > len(view):
                raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
            view[offset : offset + len(data)] = data
            datas.append(b"")
            if meter is not None:
                meter.charge(meter.plan.datas[i])
        else:
            datas.append(data)


def entity_type(ext: Any) -> FuncType | TableType | MemType | GlobalType | TagType:
    """The type of an external value, as its own module declares it."""
    if isinstance(ext, FuncInst):
        return ext.type
    if isinstance(ext, TableInst):
        return ext.type
    if isinstance(ext, MemoryInst):
        return ext.type
    if isinstance(ext, GlobalInst):
        return ext.type
    if isinstance(ext, TagInst):
        return ext.type
    raise WasmtimeError(f"not an external value: {ext!r}")
