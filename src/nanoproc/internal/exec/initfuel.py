"""The fuel instantiation costs, as wasmtime charges it (docs/fuel.md, section 6).

wasmtime compiles what instantiation must compute at run time (constant expressions
it cannot fold, table initial values and element or data segments it cannot
precompute, the call of the start function) into one startup function per module,
metered like any function. What it can precompute at compile time (single numeric
constants, tables whose initial value or segments are function indices at constant
offsets, data at constant offsets into the module's own memories) costs nothing.

This module derives, from the module alone, what that startup function charges:
``init_plan`` returns an :class:`InitFuel` (or None when wasmtime runs no startup
function), and :class:`InitMeter` applies it to a store during instantiation. The
rules were measured against wasmtime-py 51 (tests/sandbox/test_fuel_instantiation.py
holds the cases); nanoproc reproduces what is observable, not wasmtime's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..records import Record
from ..syntax.module import Expr, Module
from ..syntax.types import FUNC_HIERARCHY, FuncType, MemType, TableType
from .trap import Trap, TrapCode

if TYPE_CHECKING:
    from .store import StoreState

SIMPLE_CONSTANTS = frozenset({"i32.const", "i64.const", "f32.const", "f64.const", "v128.const"})
"""Global initialisers wasmtime folds at compile time (one instruction of these)."""
MAX_FUNC_TABLE = 1 << 20
"""Largest table wasmtime precomputes as a list of function indices."""
MAX_IMAGE_ALWAYS = 16 << 20
"""A memory image spanning less than this is built at compile time however sparse."""
HOST_PAGE = 4096
BULK_CHECKED = 128
"""Bulk lengths above this are charged after the operation, then checked (as
``table.fill`` with a length no compiler knows: docs/fuel.md section 3)."""
STATIC_ELEM_EXTRA = 2
"""What wasmtime's startup function charges more, once, when the module's memories
have a compile-time image and an element segment's offset must be computed."""


Step = tuple[int, bool] | tuple[int, bool, int]
"""(cost, checked), or (cost, checked, step number) for a step with marks."""

class InitFuel(Record):
    """The startup function's charges, in wasmtime's order.

    ``before`` are (cost, checked) pairs for globals, passive element segments and
    table initial values; ``elems``/``datas`` give, per element/data segment in
    module order, (cost, checked) for those wasmtime applies at run time (None for
    the others). A checked charge also makes everything charged before it final.
    Checked: bulk lengths above 128 and every data segment applied at run time.
    """

    __slots__ = __match_args__ = ("before", "elems", "datas", "static_memory", "computed_offset",
                                  "start", "marks", "sources")  # fmt: skip
    before: list[Step]
    elems: list[Step | None]
    datas: list[tuple[int, bool] | None]
    static_memory: bool
    """The memories have a compile-time image (not empty)."""
    computed_offset: bool
    """An element segment applied at run time has an offset to compute."""
    start: bool
    marks: dict[int, tuple[int, ...]]
    """Step number (a step's third item) -> for each ``array.new`` or
    ``array.new_default`` the step runs, its instructions counted up to and including
    that one. wasmtime charges the array's length there too (checked above 128), so
    such steps are charged with the lengths instantiation recorded."""
    sources: list[tuple[tuple[int, int], int, int]]
    """(evaluation order, step number, arrays allocated) of the steps with marks,
    sorted in the order instantiation evaluates the expressions (globals, table
    initial values, element segments' items: see exec.instance), which is how
    recorded lengths are matched to steps."""

    def __init__(self, before: list[Step] | None = None, elems: list[Step | None] | None = None,
                 datas: list[tuple[int, bool] | None] | None = None, static_memory: bool = False,
                 computed_offset: bool = False, start: bool = False,
                 marks: dict[int, tuple[int, ...]] | None = None,
                 sources: list[tuple[tuple[int, int], int, int]] | None = None) -> None:  # fmt: skip
        self.before = [] if before is None else before
        self.elems = [] if elems is None else elems
        self.datas = [] if datas is None else datas
        self.static_memory = static_memory
        self.computed_offset = computed_offset
        self.start = start
        self.marks = {} if marks is None else marks
        self.sources = [] if sources is None else sources

    def step(self, cost: int, checked: bool, order: tuple[int, int], exprs: list[Expr],
             lead: int = 0) -> Step:
        """A step costing ``cost``, whose counted instructions are ``lead`` ones, then
        those of ``exprs``; ``order``: where instantiation evaluates ``exprs``."""
        marks: list[int] = []
        at = lead
        for expr in exprs:
            for ins in expr:
                at += 1
                if ins[0].name in ARRAY_OPS:
                    marks.append(at)
        if not marks:
            return (cost, checked)
        sid = len(self.marks)
        self.marks[sid] = tuple(marks)
        self.sources.append((order, sid, len(marks)))
        return (cost, checked, sid)


ARRAY_OPS = frozenset({"array.new", "array.new_default"})
"""Constant-expression instructions whose length wasmtime charges as fuel (measured
with wasmtime-py 51: ``array.new`` of n elements in a global costs its 3
instructions + n, checked when n > 128; ``array.new_fixed`` only its instructions)."""


def _ops(expr: Expr) -> int:
    """Instructions of a constant expression (``end`` excluded)."""
    return len(expr)


def _const_offset(expr: Expr | None, addr64: bool) -> int | None:
    """The unsigned value of a one-instruction constant offset of the right width."""
    if expr is None or len(expr) != 1:
        return None
    name = expr[0][0].name
    if name != ("i64.const" if addr64 else "i32.const"):
        return None
    return int(expr[0][1]) & ((1 << 64) - 1 if addr64 else 0xFFFFFFFF)


def _func_heap(module: Module, heap: Any) -> bool:
    if heap in FUNC_HIERARCHY:
        return True
    if isinstance(heap, int):
        return isinstance(module.deftypes[heap].comp, FuncType)
    return False


def _static_memory(module: Module, mems: list[tuple[MemType, bool]]) -> int | None:
    """Whether the active data segments all go into compile-time images: None if
    they cannot (then all are applied at run time), else how many memories get
    bytes from them."""
    spans: dict[int, list[int]] = {}
    for seg in module.datas:
        if seg.mode != "active":
            continue
        mtype, imported = mems[seg.memory]
        if imported:
            return None
        start = _const_offset(seg.offset, mtype.limits.addr64)
        if start is None or start + len(seg.init) > mtype.limits.min * mtype.page_size:
            return None
        if not seg.init:
            continue
        span = spans.setdefault(seg.memory, [0, start, start + len(seg.init)])
        span[0] += len(seg.init)
        span[1] = min(span[1], start)
        span[2] = max(span[2], start + len(seg.init))
    for midx, (size, lo, hi) in spans.items():
        if mems[midx][0].page_size < HOST_PAGE:
            return None
        if hi - lo >= 2 * size and hi - lo >= MAX_IMAGE_ALWAYS:
            return None
    return len(spans)


def init_plan(module: Module) -> InitFuel | None:
    """What wasmtime's startup function for ``module`` charges; None: it has none."""
    tables: list[tuple[TableType, bool]] = []
    mems: list[tuple[MemType, bool]] = []
    for imp in module.imports:
        if imp.kind == "table":
            tables.append((imp.desc, True))  # type: ignore[arg-type]
        elif imp.kind == "memory":
            mems.append((imp.desc, True))  # type: ignore[arg-type]
    n_imported_tables = len(tables)
    tables += [(t.type, False) for t in module.tables]
    mems += [(m.type, False) for m in module.memories]

    plan = InitFuel(start=module.start is not None)
    needed = plan.start
    for gi, g in enumerate(module.globals):
        if not (len(g.init) == 1 and g.init[0][0].name in SIMPLE_CONSTANTS):
            plan.before.append(plan.step(_ops(g.init), False, (0, gi), [g.init]))
            needed = True
    for si, seg in enumerate(module.elems):
        if seg.mode == "passive":
            needed = True
            if not seg.funcidx_encoding:
                plan.before.append(plan.step(sum(_ops(e) for e in seg.init), False, (2, si),
                                             seg.init))
    # Table initial values: a single ref.func fills a precomputed table.
    dynamic_init: set[int] = set()
    for i, t in enumerate(module.tables):
        if t.init is None:
            continue
        if (len(t.init) == 1 and t.init[0][0].name == "ref.func"
                and t.type.limits.min <= MAX_FUNC_TABLE):
            continue
        dynamic_init.add(n_imported_tables + i)
        n = t.type.limits.min
        plan.before.append(plan.step(_ops(t.init) + n, n > BULK_CHECKED, (1, i), [t.init]))
        needed = True
    # Active element segments: precomputed in order while wasmtime can, the rest
    # applied at run time.
    precomputing = True
    for si, seg in enumerate(module.elems):
        if seg.mode != "active":
            plan.elems.append(None)
            continue
        ttype, imported = tables[seg.table]
        if precomputing:
            offset = _const_offset(seg.offset, ttype.limits.addr64)
            precomputing = (
                not imported and offset is not None and seg.funcidx_encoding
                and offset + len(seg.init) <= min(ttype.limits.min, MAX_FUNC_TABLE)
                and _func_heap(module, ttype.elem.heap)
                and seg.table not in dynamic_init)
            if precomputing:
                plan.elems.append(None)
                continue
        n = len(seg.init)
        items = 0 if seg.funcidx_encoding else sum(_ops(e) for e in seg.init)
        assert seg.offset is not None
        plan.elems.append(plan.step(_ops(seg.offset) + items + n, n > BULK_CHECKED, (2, si),
                                    [] if seg.funcidx_encoding else seg.init,
                                    _ops(seg.offset)))
        if _const_offset(seg.offset, ttype.limits.addr64) is None:
            plan.computed_offset = True
        needed = True
    static = _static_memory(module, mems)
    if static and static < len(module.memories):
        # Some of the module's memories have an image and some not: wasmtime's
        # startup function runs to initialise them (measured).
        needed = True
    for data in module.datas:
        if data.mode != "active" or static is not None:
            plan.datas.append(None)
            continue
        assert data.offset is not None
        plan.datas.append((_ops(data.offset) + len(data.init), True))
        needed = True
    plan.static_memory = bool(static)
    plan.sources.sort()
    return plan if needed else None


class InitMeter:
    """Charges a store as wasmtime's startup function would, step by step.

    The startup function counts in a register; it checks the count at its entry,
    after bulk lengths above 128 and after each data segment it applies, and writes
    it to the store only when a check fails, before calling the start function and
    when it returns. A trap in between leaves the store as it was. When the memories
    have a compile-time image and no element offset needs computing, what was
    counted after the last check is lost at return (measured: ``(global i32
    (i32.add ...))`` costs 4 alone, 1 beside an initialised memory).
    """

    __slots__ = ("store", "plan", "fuel", "pending", "checked", "extra_due", "lengths")

    def __init__(self, store: StoreState, plan: InitFuel, lengths: list[int] | None = None) -> None:
        """``lengths``: those of the arrays the constant expressions allocated, in
        evaluation order (see InitFuel.sources)."""
        self.store = store
        self.plan = plan
        self.lengths: dict[int, list[int]] = {}
        if plan.sources:
            got = iter(lengths or ())
            for _order, sid, count in plan.sources:
                self.lengths[sid] = [next(got, 0) for _ in range(count)]
        self.fuel: int = store.fuel  # type: ignore[assignment]
        self.pending = 1
        """Counted since the last check (the entry's 1 to begin with)."""
        self.checked = 0
        """Counted up to the last check."""
        self.extra_due = plan.static_memory and plan.computed_offset
        if self.fuel - 1 <= 0:
            store.fuel = self.fuel - 1
            raise Trap.of(TrapCode.OUT_OF_FUEL)
        for step in plan.before:
            self.charge(step)

    def charge(self, step: Step | None) -> None:
        if step is None:
            return
        cost, checked = step[0], step[1]
        if len(step) == 3:
            # Up to each array allocation, then its length (checked when long).
            sid = step[2]  # type: ignore[misc]
            done = 0
            for at, n in zip(self.plan.marks[sid], self.lengths[sid]):
                self.pending += at - done + n
                cost -= at - done
                done = at
                if n > BULK_CHECKED:
                    self._check()
        self.pending += cost
        if checked:
            self._check()

    def charge_elem(self, i: int, computed_offset: bool) -> None:
        """Element segment ``i`` applied; one whose offset was computed costs the
        static-image extra once, checked (measured, see STATIC_ELEM_EXTRA)."""
        self.charge(self.plan.elems[i])
        if computed_offset and self.extra_due:
            self.extra_due = False
            self.pending += STATIC_ELEM_EXTRA
            self._check()

    def _check(self) -> None:
        self.checked += self.pending
        self.pending = 0
        if self.fuel - self.checked <= 0:
            self.store.fuel = self.fuel - self.checked
            raise Trap.of(TrapCode.OUT_OF_FUEL)

    def finish(self) -> None:
        """The startup function returns, or calls the start function (1 for the call;
        the start function charges its own entry)."""
        plan = self.plan
        if plan.static_memory and not plan.computed_offset:
            total = self.checked or 1
        else:
            total = self.checked + self.pending
        if plan.start:
            total += 1
        self.store.fuel = self.fuel - total
