"""Module instances and instantiation (spec section 4.5.4).

``instantiate`` checks the imports against the module's declared import types,
allocates the instance's entities in the store, lets the tier bind code, applies
the element and data segments, and runs the start function. A trap while applying
segments fails the instantiation, but writes already made to imported tables and
memories stay, as the spec requires.
"""

from __future__ import annotations

from typing import Any

from ..errors import LinkError, WasmtimeError
from ..syntax.types import FuncType, GlobalType, MemType, TableType, TagType
from .backend import Backend
from .compiled import CompiledModule
from .constexpr import NOT_CONSTANT, compile_const, constant_of, func_index_of
from .entities import FuncInst, GlobalInst, TableInst, TagInst
from .initfuel import InitMeter, init_plan
from .link import check_import, close_global, close_table, close_valtype
from .memory import MemoryInst, memory_facts
from .store import StoreState
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
        self.funcs = [
            (module.func_types[n_imp + i], module.canon(f.typeidx)) for i, f in enumerate(mod.funcs)
        ]
        self.first_func = n_imp
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
        self.elems = [
            (seg.mode, seg.table, _offset(seg.offset), _func_indices(seg.init),
             [compile_const(x) for x in seg.init])
            for seg in mod.elems
        ]  # fmt: skip
        """(mode, table, offset, function indices or None, initialiser functions)."""
        self.datas = [(seg.mode, seg.memory, _offset(seg.offset), seg.init) for seg in mod.datas]
        self.start = mod.start
        self.init_fuel = init_plan(mod)
        """What wasmtime's startup function charges (None: nothing)."""
        exprs = [g.init for g in mod.globals] + [t.init for t in mod.tables if t.init is not None]
        exprs += [x for seg in mod.elems for x in seg.init]
        self.allocates = any(i[0].name.startswith(("struct.", "array.")) for x in exprs for i in x)
        """Whether constant expressions allocate GC objects (the store needs its heap)."""


def _offset(expr: Any) -> Any:
    """A segment's offset: an int when constant (the usual case), else a function of
    the instance (``global.get`` of an import, extended constants); None if passive."""
    if expr is None:
        return None
    value = constant_of(expr)
    return compile_const(expr) if value is NOT_CONSTANT else value


def _func_indices(init: list[Any]) -> list[int] | None:
    """The function indices of an element segment made only of ``ref.func``."""
    out = []
    for expr in init:
        i = func_index_of(expr)
        if i is None:
            return None
        out.append(i)
    return out


def _plan(module: CompiledModule) -> _Plan:
    plan = module.artifacts.get("plan")
    if plan is None:
        plan = module.artifacts["plan"] = _Plan(module)
    return plan  # type: ignore[no-any-return]


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
    plan = _plan(module)
    if len(imports) != len(plan.imports):
        raise LinkError(f"expected {len(plan.imports)} imports, found {len(imports)}")
    inst = ModuleInstance(module, store)
    for (imp, space), ext in zip(plan.imports, imports):
        if not trusted:
            kind = _KIND_OF.get(type(ext)) or _entity_kind(ext)
            if kind != imp.kind:
                raise LinkError(
                    f"incompatible import type for `{imp.module}::{imp.name}`: "
                    f"expected {imp.kind}, but found {kind}"
                )
            check_import(module, imp, ext)
        getattr(inst, space).append(ext)

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
        _allocate(inst, plan, store)
    except BaseException:
        store.remove_instance(inst, tables, memories)
        raise

    d = inst.__dict__
    exports = inst.exports
    for name, space, index in plan.exports:
        exports[name] = d[space][index]

    backend.instantiate(inst)

    _eval_elems(inst, plan)
    meter = None
    if fuel_plan is not None:
        lengths = inst.__dict__.pop("array_lengths", None)
        meter = InitMeter(store, fuel_plan, lengths)  # may trap (out of fuel) at once
    _apply_segments(inst, plan, meter)  # a trap leaves the fuel as the meter wrote it
    if meter is not None:
        meter.finish()

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


def _allocate(inst: ModuleInstance, plan: _Plan, store: StoreState) -> None:
    """The instance's own functions, tags, globals, tables and memories (the step
    where store limits and the limiter can refuse)."""
    funcs = inst.funcs
    idx = plan.first_func
    for ft, canon in plan.funcs:
        funcs.append(FuncInst(ft, canon, None, inst, idx))
        idx += 1
    for ttype, ft, canon in plan.tags:
        inst.tags.append(TagInst(ttype, ft, canon))
    for gtype, init in plan.globals:
        inst.globals.append(GlobalInst(gtype, init(inst)))
    for ttype, tinit in plan.tables:
        inst.tables.append(TableInst(ttype, tinit(inst) if tinit is not None else None, store))
    for mtype, facts in plan.memories:
        inst.memories.append(MemoryInst(mtype, store, facts))


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
