"""A random module generator of nanoproc's own (the role of wasm-smith), driven by a seed.

``generate(seed)`` returns a valid module tree (:class:`..internal.syntax.module.Module`)
that uses what both tiers run: numerics with float edge cases, locals, globals, one
memory with loads and stores (in and out of bounds) and bulk operations, data
segments, multi-value blocks, counted loops, br_table, direct calls, call_indirect
through a funcref table filled by an element segment, and traps. Everything is
exported: functions ``f0``..., globals ``g0``..., ``memory``, ``table`` and the call
budget ``budget``; :func:`call_plan` picks the argument lists to call them with.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

from ..internal.syntax.module import Data, Elem, Export, Func, Global, Memory, Module, Table, Tag
from ..internal.syntax.ops import BY_NAME
from ..internal.syntax.types import (
    FUNCREF,
    I32,
    V128,
    FuncType,
    GlobalType,
    Limits,
    MemType,
    RecType,
    RefType,
    SubType,
    TableType,
    TagType,
    ValType,
)
from .codegen import NUM, FuncGen
from .gcgen import GcGen, const_expr, gc_function_types
from .values import argument, const_imm

CALL_BUDGET = 1000
"""Function entries an instance may make before every further call traps: bounds
recursion depth (well below any tier's stack limit) and run time."""


@dataclass
class ModuleGen:
    """The module-level state the body generator consults."""

    rng: random.Random
    func_types: list[FuncType] = field(default_factory=list)
    types: list[FuncType] = field(default_factory=list)
    global_types: list[GlobalType] = field(default_factory=list)
    budget_global: int = 0
    table_size: int = 0
    passive_data: int | None = None
    tags: list[tuple[ValType, ...]] = field(default_factory=list)
    """Payload types of the module's tags (none: no exception handling generated)."""
    legacy: bool = False
    """Also the legacy exception instructions (try/catch/delegate/rethrow)."""
    gc: GcGen | None = None
    """GC types and code (``generate(gc=True)``; see gcgen)."""
    type_base: int = 0
    """Index of the first function type (the GC recursion group comes first)."""
    gc_table: int | None = None
    """A table of anyref (not exported)."""
    simd: bool = False
    """Whether function bodies use v128 values (locals, globals, SIMD instructions)."""

    def typeidx(self, ft: FuncType) -> int:
        if ft not in self.types:
            self.types.append(ft)
        return self.type_base + self.types.index(ft)

    def globals_of(self, t: ValType, mutable: bool = False) -> list[int]:
        return [i for i, g in enumerate(self.global_types)
                if g.type is t and (g.mutable or not mutable) and i != self.budget_global]


def _functype(rng: random.Random) -> FuncType:
    params = tuple(rng.choice(NUM) for _ in range(rng.choice([0, 1, 1, 2, 3])))
    results = tuple(rng.choice(NUM) for _ in range(rng.choice([0, 1, 1, 1, 2])))
    return FuncType(params, results)


def _tag_param(mg: ModuleGen, t: ValType, extra: random.Random) -> ValType:
    """A tag's parameter: the number ``t``, or in modules with GC types sometimes a
    reference (to a struct, an array, i31, extern, func...), with SIMD a v128."""
    k = extra.random()
    if mg.gc is not None and k < 0.35:
        return mg.gc.random_ref()
    if mg.simd and k > 0.8:
        return V128
    return t


def _const(t: ValType, rng: random.Random) -> list[tuple[object, ...]]:
    if t is V128:
        return [(BY_NAME["v128.const"], rng.randbytes(16))]
    return [(BY_NAME[f"{t}.const"], const_imm(rng, t))]


def uses_simd(seed: int) -> bool:
    """Whether case ``seed`` uses SIMD: every case when ``NANOPROC_FUZZ_SIMD=all``
    (``python -m nanoproc.fuzz --simd all`` sets it for its workers), none with
    ``none``, else half of them, drawn from a stream of their own (so the modules of
    seeds without SIMD stay what they were before SIMD existed)."""
    mode = os.environ.get("NANOPROC_FUZZ_SIMD", "half")
    if mode in ("all", "none"):
        return mode == "all"
    return random.Random(seed ^ 0x51D0_51D0).random() < 0.5


def generate(seed: int, size: int = 60, exceptions: str = "", gc: bool = False,
             simd: bool | None = None) -> Module:
    """A valid module from ``seed`` (``size``: instruction budget per function;
    ``exceptions``: "" none, "new" tags, throw, throw_ref and try_table, "legacy"
    also try/catch/delegate/rethrow; ``gc``: with GC types, objects, casts and typed
    function references, see gcgen (with exceptions: references in payloads too);
    ``simd``: use v128 values, None lets the seed decide, for half the seeds)."""
    rng = random.Random(seed)
    if simd is None:
        simd = uses_simd(seed)
    mg = ModuleGen(rng, simd=simd)
    nfuncs = rng.randint(1, 5)
    mg.func_types = [_functype(rng) for _ in range(nfuncs)]
    if gc:
        # with exceptions, exnref fields too (a stream of their own: see gcgen)
        mg.gc = GcGen(rng, exn_rng=random.Random(seed ^ 0xE7F_1E1D) if exceptions == "new"
                      else None)
        mg.type_base = len(mg.gc.defs)
        mg.func_types += gc_function_types(mg.gc, rng, rng.randint(1, 4))
    for ft in mg.func_types:
        mg.typeidx(ft)
    tags = []
    if exceptions:
        mg.legacy = exceptions == "legacy"
        # GC references and vectors in payloads are drawn from a stream of their own, so
        # the tags of modules without GC or SIMD stay what they were.
        extra = random.Random(seed ^ 0xE7C_7A95)
        for _ in range(rng.randint(1, 3)):
            params = tuple(_tag_param(mg, rng.choice(NUM), extra)
                           for _ in range(rng.choice([0, 1, 1, 2])))
            mg.tags.append(params)
            tags.append(Tag(TagType(mg.typeidx(FuncType(params, ())))))

    globals_: list[Global] = []
    mg.global_types.append(GlobalType(I32, True))
    globals_.append(Global(GlobalType(I32, True), [(BY_NAME["i32.const"], CALL_BUDGET)]))
    for _ in range(rng.randint(1, 4)):
        t = rng.choice(NUM)
        gt = GlobalType(t, rng.random() < 0.8)
        mg.global_types.append(gt)
        globals_.append(Global(gt, _const(t, rng)))
    numeric_globals = len(globals_)
    if mg.gc is not None:
        for _ in range(rng.randint(1, 4)):
            rt = mg.gc.random_ref()
            gt = GlobalType(rt, rng.random() < 0.7)
            mg.global_types.append(gt)
            globals_.append(Global(gt, const_expr(mg.gc, rt, len(mg.func_types))))
    for _ in range(rng.randint(0, 2) if simd else 0):  # not exported (see codegen_simd)
        t = V128
        gt = GlobalType(t, rng.random() < 0.8)
        mg.global_types.append(gt)
        globals_.append(Global(gt, _const(t, rng)))

    pages = rng.choice([0, 1, 1, 1, 2])
    memory = Memory(MemType(Limits(pages, pages + rng.choice([0, 1, 2]))))
    mg.table_size = nfuncs + rng.randint(0, 3)
    table = Table(TableType(FUNCREF, Limits(mg.table_size, mg.table_size + 4)))

    datas = []
    if pages and rng.random() < 0.8:
        offset = rng.choice([0, 8, 100, 65000])
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        datas.append(Data("active", blob, 0, [(BY_NAME["i32.const"], offset)]))
    if rng.random() < 0.7:
        mg.passive_data = len(datas)
        datas.append(Data("passive", bytes(rng.randrange(256) for _ in range(16))))

    slots = rng.randint(0, mg.table_size)
    elem = Elem("active", FUNCREF,
                [[(BY_NAME["ref.func"], rng.randrange(nfuncs))] for _ in range(slots)],
                0, [(BY_NAME["i32.const"], 0)])  # fmt: skip

    tables = [table]
    if mg.gc is not None:
        mg.gc_table = 1
        tables.append(Table(TableType(RefType(True, "any"), Limits(5, 10))))
        elem_all = Elem("declarative", FUNCREF,
                        [[(BY_NAME["ref.func"], f)] for f in range(len(mg.func_types))])
    funcs = []
    for ft in mg.func_types:
        fg = FuncGen(mg, rng, ft, size)
        body = fg.body()
        funcs.append(Func(mg.typeidx(ft), [(1, t) for t in fg.locals], body))

    exports = [Export(f"f{i}", "func", i) for i in range(nfuncs)]
    exports += [Export("memory", "memory", 0), Export("table", "table", 0),
                Export("budget", "global", 0)]  # fmt: skip
    exports += [Export(f"g{i}", "global", i) for i in range(1, numeric_globals)]
    types = [RecType((SubType(ft),)) for ft in mg.types]
    elems = [elem]
    if mg.gc is not None:
        types.insert(0, mg.gc.rec_group())
        elems.append(elem_all)
    return Module(
        types=types,
        funcs=funcs,
        tables=tables,
        memories=[memory],
        globals=globals_,
        exports=exports,
        elems=elems,
        datas=datas,
        data_count=len(datas),
        tags=tags,
    )


def call_plan(module: Module, seed: int, per_export: int = 3) -> list[tuple[str, list[Any]]]:
    """The calls a run makes: every exported function ``per_export`` times, with
    edge-case arguments, in a seeded random order."""
    rng = random.Random(seed ^ 0x5EED)
    types = module.func_typeidxs()
    plan = []
    for e in module.exports:
        if e.kind != "func":
            continue
        ft = module.functype(types[e.index])
        if not all(p in NUM or isinstance(p, RefType) for p in ft.params):
            continue  # v128 parameters: wasmtime-py cannot pass them
        if V128 in ft.results:
            continue  # nor return them
        for _ in range(per_export):
            plan.append((e.name, [argument(rng, p) if p in NUM else None for p in ft.params]))
    rng.shuffle(plan)
    return plan
