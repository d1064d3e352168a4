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
from .constexpr import eval_const
from .entities import FuncInst, GlobalInst, TableInst, TagInst
from .link import check_import, close_global, close_table
from .memory import MemoryInst
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
        self.export_list: list[tuple[str, Extern]] = []
        self.tier_state: Any = None
        """Whatever the tier keeps per instance (interp: the translated functions' globals)."""

    @property
    def name(self) -> str | None:
        return self.module.name

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


def instantiate(
    store: StoreState, module: CompiledModule, imports: list[Any], backend: Backend
) -> ModuleInstance:
    """Instantiate ``module`` with ``imports`` (one entity per import, in order)."""
    mod = module.module
    if len(imports) != len(mod.imports):
        raise LinkError(
            f"expected {len(mod.imports)} imports, found {len(imports)}"
        )
    inst = ModuleInstance(module, store)
    for imp, ext in zip(mod.imports, imports):
        kind = _entity_kind(ext)
        if kind != imp.kind:
            raise LinkError(
                f"incompatible import type for `{imp.module}::{imp.name}`: "
                f"expected {imp.kind}, found {kind}"
            )
        check_import(module, imp, ext)
        getattr(inst, {"func": "funcs", "table": "tables", "memory": "memories",
                       "global": "globals", "tag": "tags"}[kind]).append(ext)  # fmt: skip

    store.add_instance(inst)
    store.add_tables(len(mod.tables))
    store.add_memories(len(mod.memories))

    n_imp = len(inst.funcs)
    for i, f in enumerate(mod.funcs):
        idx = n_imp + i
        ft = mod.functype(f.typeidx)
        inst.funcs.append(FuncInst(ft, module.canon(f.typeidx), None, inst, idx))
    for tag in mod.tags:
        ft = mod.functype(tag.type.typeidx)
        inst.tags.append(TagInst(tag.type, ft, module.canon(tag.type.typeidx)))
    for g in mod.globals:
        inst.globals.append(GlobalInst(close_global(g.type, module), eval_const(g.init, inst)))
    for t in mod.tables:
        init = eval_const(t.init, inst) if t.init is not None else None
        inst.tables.append(TableInst(close_table(t.type, module), init, store))
    for m in mod.memories:
        inst.memories.append(MemoryInst(m.type, store))

    for e in mod.exports:
        space = {"func": inst.funcs, "table": inst.tables, "memory": inst.memories,
                 "global": inst.globals, "tag": inst.tags}[e.kind]  # fmt: skip
        ext = space[e.index]
        inst.exports[e.name] = ext
        inst.export_list.append((e.name, ext))

    backend.instantiate(inst)

    # Element segments: evaluate, then apply active ones in order.
    for seg in mod.elems:
        inst.elems.append([eval_const(x, inst) for x in seg.init])
    for i, seg in enumerate(mod.elems):
        if seg.mode == "active":
            assert seg.offset is not None
            offset = eval_const(seg.offset, inst)
            table = inst.tables[seg.table]
            refs = inst.elems[i]
            if offset + len(refs) > len(table.elems):
                raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
            table.elems[offset : offset + len(refs)] = refs
            inst.elems[i] = []
        elif seg.mode == "declarative":
            inst.elems[i] = []

    for seg in mod.datas:
        inst.datas.append(seg.init)
    for i, seg in enumerate(mod.datas):
        if seg.mode == "active":
            assert seg.offset is not None
            offset = eval_const(seg.offset, inst)
            mem = inst.memories[seg.memory]
            data = seg.init
            if offset + len(data) > mem.data_len:
                raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
            mem.view[offset : offset + len(data)] = data
            inst.datas[i] = b""

    if mod.start is not None:
        start = inst.funcs[mod.start]
        # An imported host function that wants its caller gets this instance.
        if start.needs_caller:
            start.call(inst)
        else:
            start.call()
    return inst


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
