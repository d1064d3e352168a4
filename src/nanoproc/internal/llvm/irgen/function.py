"""Translation of one Wasm function into the text of one LLVM IR function.

The operand stack is resolved at translation time: it holds SSA names (or constant
literals) with their LLVM types, so the IR has no stack at all. Locals are allocas,
which LLVM's SROA turns into SSA registers at -O1 and above. Structured control
flow becomes basic blocks: values carried by branches meet in phi nodes at a
block's end (or, for a loop, at its header, whose phis are written when the loop's
``end`` is reached and every back edge is known).

Code after an unconditional branch is unreachable; it is skipped, only counting
nested constructs to find the ``else``/``end`` that makes code reachable again.

Every call is followed by a stackmap record whose id is ``(funcidx << 32) | pc``:
a trap's backtrace maps each return address to the Wasm instruction that made the
call (see :mod:`..objfile`). Instruction handlers live in the ``ops_*`` modules.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import UnsupportedFeature
from ...exec.trap import ENTRY_PC as TRAP_ENTRY_PC
from ...syntax.module import Instr
from ...syntax.types import FuncType
from .. import abi
from ..objfile import ENTRY_PC as STACKMAP_ENTRY_PC
from .types import UNOPTIMISED, is_huge, is_wide, lltype, ret_type, zero_literal

if TYPE_CHECKING:
    from .module import ModuleInfo

TBAA_MEM = "!3"
"""Access tag of linear-memory loads and stores."""
TBAA_CTX = "!4"
"""Access tag of runtime state (vmctx, cells, records, tables)."""
INVARIANT = "!5"
LIKELY = "!6"
"""Branch weights: the first successor is (almost) always taken."""
CELL_BYTES = "!7"
CELL_ALIGN = "!8"
"""``!dereferenceable`` of a memory or table cell pointer: reading a cell
field is then safe anywhere, so LLVM may hoist it out of loops whose other paths
call (the epoch check's cold path, helpers)."""

STACKSAVE = "declare ptr @llvm.stacksave.p0() nounwind"
LIGHT = "#7"
"""The attribute group of functions for the light pipeline (irgen.module)."""
LIGHT_DEPTH = 500
LIGHT_FANOUT = 512
"""Beyond these (nesting depth, distinct targets of one br_table) LLVM's -O2 takes
time quadratic in the function (InstCombine walks dominating conditions up the
nesting; SimplifyCFG's switch folding scans phis as wide as the switch): such a
function is compiled with the light pipeline instead (its locals promoted to
registers, no other IR optimisation, fast instruction selection), which is linear."""

_OPENERS = frozenset({"block", "loop", "if", "try_table", "try"})

QUICK = "#8"
"""The attribute group of functions for the quick pipeline (quick_function)."""
QUICK_FUNCS = 2_000
QUICK_SIZE = 40
"""A module defining at least QUICK_FUNCS functions compiles those of at most
QUICK_SIZE instructions without loops or try regions with the quick pipeline
(jit.compile_ir: SROA and InstCombine, then LLVM's fast code generator)
in partitions of their own. -O2 costs such a function ~1.8 ms of LLVM time, a
dozen times Cranelift's; the quick pipeline ~0.5 ms. Their code spills a few
more values (no loops: each runs once per call), so only modules whose compile
time is dominated by the count of functions get it, never at -O3."""
_NOT_QUICK = frozenset({"loop", "try_table", "try"})


def quick_module(funcs: int, opt_level: int) -> bool:
    """Whether a module defining ``funcs`` functions compiled at ``opt_level`` puts
    its small functions in the quick pipeline (QUICK_FUNCS)."""
    return funcs >= QUICK_FUNCS and 0 < opt_level < 3


def quick_function(body: list[Instr]) -> bool:
    """Whether a function of a quick module (quick_module) gets the quick pipeline."""
    return len(body) <= QUICK_SIZE and not any(ins[0].name in _NOT_QUICK for ins in body)


def light_function(body: list[Instr]) -> bool:
    """Whether a function body gets the light pipeline, by a scan of its instructions
    (the code generator's own measure, as :meth:`FunctionGen.light`, also skips dead
    code): the partitioner gives such functions partitions of their own."""
    depth = deepest = fanout = 0
    for ins in body:
        name = ins[0].name
        if name in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif name == "end":
            depth -= 1
        elif name == "br_table":
            n = len({*ins[1], ins[2]})
            if n > fanout:
                fanout = n
    return deepest + 1 > LIGHT_DEPTH or fanout > LIGHT_FANOUT


Value = tuple[str, str]
"""(LLVM type, operand text): an SSA name or a constant literal."""

FREE_OPS = frozenset({"nop", "drop", "block", "loop", "unreachable", "return", "else", "end"})
"""Instructions that cost no fuel (as in wasmtime); every other one costs 1."""

Handler = Callable[["FunctionGen", Instr], None]
HANDLERS: dict[str, Handler] = {}
"""Instruction name -> handler; filled by the ops_* modules."""


def handler(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        return fn

    return deco


@dataclass(slots=True)
class Ctl:
    """An open construct (or the function itself)."""

    kind: str
    params: list[str]
    results: list[str]
    height: int
    """Operand stack height below the construct's parameters."""
    end: str
    end_in: list[tuple[str, list[str]]] = field(default_factory=list)
    """Branches to the end: (predecessor block, values)."""
    head: str = ""
    head_slot: int = -1
    """Index in the emitted lines where the loop header's phis go."""
    head_phis: list[str] = field(default_factory=list)
    head_in: list[tuple[str, list[str]]] = field(default_factory=list)
    else_label: str = ""
    else_seen: bool = False
    if_params: list[Value] = field(default_factory=list)
    rec: str = ""
    """A try region's handler record (see ops_exc); ``rec_active`` while its body runs."""
    rec_active: bool = False
    landing: str = ""
    exn: str = ""
    """A legacy try's caught exception (in its handlers)."""
    dispatch: str = ""
    """A legacy try's next catch test (empty after a catch_all)."""
    start: int = -1
    """A legacy try's pc."""

    @property
    def label_types(self) -> list[str]:
        """Types a branch to this label carries."""
        return self.params if self.kind == "loop" else self.results


class FunctionGen:
    """Translates one defined function (see :meth:`run`)."""

    def __init__(self, info: ModuleInfo, funcidx: int) -> None:
        self.info = info
        self.funcidx = funcidx
        func = info.module.funcs[funcidx - info.nimports]
        self.body: list[Instr] = func.instrs
        self.ftype: FuncType = info.func_types[funcidx]
        self.params = [lltype(t) for t in self.ftype.params]
        self.results = [lltype(t) for t in self.ftype.results]
        self.ret = ret_type("".join(_letters(self.results)))
        self.wide = is_wide("".join(_letters(self.results)))
        """Results go to the caller's buffer ``%out`` (see types.WIDE_RESULTS)."""
        self.huge = is_huge("".join(_letters(self.results))) or is_huge(
            "".join(_letters(self.params)))
        """Compiled without optimisation (see types.HUGE_RESULTS)."""
        self.local_types = self.params + [lltype(t) for t in func.local_types()]
        self.lines: list[str] = []
        self.prelude: list[str] = []
        self.cached: dict[Any, str] = {}
        self.ntmp = 0
        self.nlabel = 0
        self.stack: list[Value] = []
        self.ctls: list[Ctl] = []
        self.dead = False
        self.skip = 0
        self.block = "body"
        self.pc = 0
        self.calls: set[int] = set()
        """Defined functions called directly (other partitions must declare them)."""
        self.fuel = info.fuel
        self.epochs = info.epochs
        self.fuel_pending = 0
        """Fuel cost of the instructions translated since the last subtraction."""
        self.regions = 0
        """Try regions translated so far (each has a handler record, see ops_exc)."""
        self.has_regions = any(ins[0].name in ("try_table", "try") for ins in self.body)
        self.active: list[int] = []
        """Indices in ``ctls`` of the try regions whose body is open, outermost first."""
        self.max_depth = 0
        """Deepest nesting of blocks, loops and ifs."""
        self.max_fanout = 0
        """Most distinct targets of one br_table."""

    # ------------------------------------------------------------ emission
    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def tmp(self) -> str:
        n = self.ntmp
        self.ntmp = n + 1
        return f"%t{n}"

    def value(self, expr: str) -> str:
        """Emit ``%tN = expr``; returns ``%tN``."""
        name = self.tmp()
        self.lines.append(f"  {name} = {expr}")
        return name

    def new_label(self) -> str:
        n = self.nlabel
        self.nlabel = n + 1
        return f"L{n}"

    def start(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.block = label

    def intrinsic(self, decl: str) -> None:
        self.info.declare(decl)

    # ------------------------------------------------------------ operand stack
    def push(self, ty: str, v: str) -> None:
        self.stack.append((ty, v))

    def pop(self) -> str:
        return self.stack.pop()[1]

    def popn(self, n: int) -> list[Value]:
        if not n:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    # ------------------------------------------------------------ context values
    def ctx_load(self, key: Any, ty: str, offset: int, invariant: bool = True,
                 cell: bool = False) -> str:
        """A value loaded from vmctx at ``offset`` in the entry block (once per function);
        ``cell``: a pointer to a 16-byte cell (always valid)."""
        name = self.cached.get(key)
        if name is None:
            name = f"%c{len(self.cached)}"
            self.cached[key] = name
            p = f"{name}.p"
            self.prelude.append(f"  {p} = getelementptr inbounds i8, ptr %vmctx, i64 {offset}")
            inv = f", !invariant.load {INVARIANT}" if invariant else ""
            if cell:
                inv += f", !dereferenceable {CELL_BYTES}, !align {CELL_ALIGN}"
            self.prelude.append(f"  {name} = load {ty}, ptr {p}, align 8, !tbaa {TBAA_CTX}{inv}")
        return name

    def field_ptr(self, base: str, offset: int) -> str:
        if offset == 0:
            return base
        return self.value(f"getelementptr inbounds i8, ptr {base}, i64 {offset}")

    def load_field(self, ty: str, base: str, offset: int, invariant: bool = False) -> str:
        p = self.field_ptr(base, offset)
        inv = f", !invariant.load {INVARIANT}" if invariant else ""
        return self.value(f"load {ty}, ptr {p}, align 8, !tbaa {TBAA_CTX}{inv}")

    def store_field(self, ty: str, v: str, base: str, offset: int) -> None:
        p = self.field_ptr(base, offset)
        self.emit(f"store {ty} {v}, ptr {p}, align 8, !tbaa {TBAA_CTX}")

    def mem_cell(self, m: int) -> str:
        return self.ctx_load(("mem", m), "ptr", self.info.layout.mem_off + 8 * m, cell=True)

    def table_cell(self, t: int) -> str:
        return self.ctx_load(("table", t), "ptr", self.info.layout.table_off + 8 * t, cell=True)

    def global_cell(self, g: int) -> str:
        return self.ctx_load(("global", g), "ptr", self.info.layout.global_off + 8 * g)

    def func_record(self, f: int) -> str:
        return self.ctx_load(("func", f), "ptr", self.info.layout.func_off + 8 * f)

    def ctx_trip(self) -> str:
        """Address of the epoch trip byte (StoreCtx.stack_limit's byte 7)."""
        if "trip" not in self.cached:
            self.cached["trip"] = "%tripp"
            off = abi.SC["stack_limit"] + abi.TRIP_BYTE
            self.prelude.append(f"  %tripp = getelementptr inbounds i8, ptr %sc, i64 {off}")
        return "%tripp"

    def type_id(self, typeidx: int) -> str:
        return self.ctx_load(("type", typeidx), "i64", self.info.layout.type_off + 8 * typeidx)

    # ------------------------------------------------------------ traps and calls
    def trap_unless(self, ok: str, kind: int | str) -> None:
        """Continue when ``ok`` (an i1) holds, else trap with ``kind``."""
        cont = self.new_label()
        bad = self.new_label()
        self.emit(f"br i1 {ok}, label %{cont}, label %{bad}, !prof {LIKELY}")
        self.start(bad)
        self.emit_trap(kind)
        self.start(cont)

    def trap_now(self, kind: int) -> None:
        self.emit_trap(kind)
        self.dead = True

    def emit_trap(self, kind: int | str, pc: int | None = None) -> None:
        """Call the trap routine and end the block.

        The routine never returns (it longjmps), but it is called through a volatile
        pointer and followed by a return, so LLVM cannot infer that a function that
        always traps never returns: it would then drop the stackmap after calls to it,
        and a backtrace through such a call would lose its instruction.
        """
        fn = self.value("load volatile ptr, ptr @np_trap_ptr, align 8")
        self.emit(f"call void {fn}(ptr %sc, i32 {kind}, i32 {self.pc if pc is None else pc})")
        self.emit(f"ret {self.ret} poison" if self.ret != "void" else "ret void")

    def stackmap(self) -> None:
        sid = (self.funcidx << 32) | self.pc
        self.emit(f"call void (i64, i32, ...) @llvm.experimental.stackmap(i64 {sid}, i32 0)")

    def call_helper(self, op: int, *args: str) -> str:
        """Call the runtime's Python helper ``op`` (i64 arguments); traps if it failed."""
        from .boundary import helper_call

        r = self.value(helper_call(op, list(args)))
        self.stackmap()
        err = self.load_field("i32", "%sc", abi.SC["host_error"])
        ok = self.value(f"icmp eq i32 {err}, 0")
        self.trap_unless(ok, err)
        return r

    def set_caller(self) -> None:
        """Record this instance as the caller (host functions may ask for it)."""
        self.store_field("ptr", "%vmctx", "%sc", abi.SC["caller"])

    def push_results(self, r: str, types: list[str]) -> None:
        if len(types) == 1:
            self.push(types[0], r)
        elif is_wide("".join(_letters(types))):
            from .boundary import slot_offsets

            for t, at in zip(types, slot_offsets("".join(_letters(types)))):
                p = self.value(f"getelementptr inbounds i8, ptr {r}, i64 {at}")
                self.push(t, self.value(f"load {t}, ptr {p}, align 8"))
        elif types:
            for i, t in enumerate(types):
                self.push(t, self.value(f"extractvalue {ret_type(''.join(_letters(types)))} {r}, {i}"))

    def result_buffer(self, types: list[str]) -> str:
        """A buffer (in the entry block) for the results of a wide call: an 8-byte slot
        each, two for a v128 (boundary.slot_offsets)."""
        letters = "".join(_letters(types))
        if is_huge(letters):
            self.huge = True
        slots = len(letters) + letters.count("V")
        name = f"%wbuf{len(self.prelude)}"
        self.prelude.append(f"  {name} = alloca [{slots} x i64], align 8")
        return name

    def emit_return(self, vals: list[Value], keep_pending: bool = False) -> None:
        """Return ``vals`` (storing the fuel counter first; ``keep_pending``: another
        path still owes the pending cost)."""
        metering.store_fuel(self, keep_pending)
        if self.has_regions:
            self.leave_regions(None)
        if self.wide:
            from .boundary import slot_offsets

            offsets = slot_offsets("".join(_letters([t for t, _ in vals])))
            for (t, v), at in zip(vals, offsets):
                p = self.value(f"getelementptr inbounds i8, ptr %out, i64 {at}")
                self.emit(f"store {t} {v}, ptr {p}, align 8")
            self.emit("ret void")
        elif not vals:
            self.emit("ret void")
        elif len(vals) == 1:
            self.emit(f"ret {vals[0][0]} {vals[0][1]}")
        else:
            agg = "undef"
            for i, (t, v) in enumerate(vals):
                agg = self.value(f"insertvalue {self.ret} {agg}, {t} {v}, {i}")
            self.emit(f"ret {self.ret} {agg}")

    # ------------------------------------------------------------ labels
    def block_type(self, bt: Any) -> tuple[list[str], list[str]]:
        if bt is None:
            return [], []
        if isinstance(bt, int):
            ft = self.info.module.functype(bt)
            return [lltype(t) for t in ft.params], [lltype(t) for t in ft.results]
        return [], [lltype(bt)]

    def label(self, depth: int) -> Ctl:
        return self.ctls[-1 - depth]

    def branch_to(self, target: Ctl, vals: list[str]) -> str:
        """Record an edge from the current block to ``target``; returns its block label,
        or "" when the target is the function (the caller then emits a return)."""
        if target.kind == "func":
            return ""
        if target.kind == "loop":
            target.head_in.append((self.block, vals))
            return target.head
        target.end_in.append((self.block, vals))
        return target.end

    def jump(self, target: Ctl) -> None:
        """``br`` to ``target`` with the values on top of the stack (the pending fuel
        cost is paid first)."""
        if target.kind != "func":
            metering.flush(self)
        n = len(target.label_types)
        vals = self.stack[-n:] if n else []
        if self.has_regions:
            self.leave_regions(target)
        dest = self.branch_to(target, [v for _, v in vals])
        if dest:
            self.emit(f"br label %{dest}")
        else:
            self.emit_return(vals)

    def region_left(self, target: Ctl | None) -> Ctl | None:
        """The outermost try region a branch to ``target`` leaves (None: the function
        itself is left), or None."""
        active = self.active
        if not active:
            return None
        i = 0
        if target is not None:
            ctls = self.ctls
            i = len(ctls) - 1
            while ctls[i] is not target:  # near labels are the common case
                i -= 1
        j = bisect.bisect_left(active, i)
        return self.ctls[active[j]] if j < len(active) else None

    def leave_regions(self, target: Ctl | None) -> bool:
        """Before a branch to ``target`` (None: leaving the function): restore the
        innermost handler to the one before the outermost try region the branch
        leaves. Returns whether there was one."""
        c = self.region_left(target)
        if c is None:
            return False
        prev = self.load_field("ptr", c.rec, abi.XREC_PREV)
        self.store_field("ptr", prev, "%sc", abi.SC["exn_top"])
        return True

    def open_region(self, ctl: Ctl) -> None:
        """``ctl`` (about to be pushed) starts a try region."""
        ctl.rec_active = True
        self.active.append(len(self.ctls))

    def close_region(self, ctl: Ctl) -> None:
        """The body of try region ``ctl`` (the innermost open one) is over."""
        ctl.rec_active = False
        self.active.pop()

    def mark_dead(self) -> None:
        assert not self.fuel_pending, "fuel cost left unpaid before unreachable code"
        self.dead = True
        self.skip = 0

    # ------------------------------------------------------------ driving
    def run(self) -> str:
        """The function's IR definition."""
        ft = self.ftype
        func = Ctl("func", [], self.results, 0, "")
        self.ctls.append(func)
        self.start("body")
        self.pc = self.entry_pc()  # the entry's fuel check reports the function's entry
        metering.check_fuel(self)
        # The epoch check at entry is the stack check's (see assemble).
        body = self.body
        n = len(body)
        pc = 0
        fuel = self.fuel
        while pc < n:
            ins = body[pc]
            self.pc = pc
            name = ins[0].name
            if self.dead:
                self.skip_dead(name)
            else:
                h = HANDLERS.get(name)
                if h is None:
                    raise UnsupportedFeature(name, "instruction not supported by the llvm tier")
                if fuel and name not in FREE_OPS:
                    self.fuel_pending += 1
                h(self, ins)
            pc += 1
        self.pc = max(n - 1, 0)
        if not self.dead:
            self.emit_return(self.popn(len(self.results)))
        return self.assemble(ft)

    def skip_dead(self, name: str) -> None:
        """Dead code: only find the ``else``/``end`` where code is reachable again."""
        if name in ("block", "loop", "if", "try_table", "try"):
            self.skip += 1
        elif name in ("end", "delegate"):
            if self.skip:
                self.skip -= 1
            else:
                HANDLERS[name](self, self.body[self.pc])
        elif name in ("else", "catch", "catch_all") and not self.skip:
            HANDLERS[name](self, self.body[self.pc])

    @staticmethod
    def entry_pc() -> int:
        """The pc a trap in the prologue reports (see exec.trap.entry_offset)."""
        return TRAP_ENTRY_PC

    def light(self) -> bool:
        """Whether LLVM's optimiser would take time quadratic in this function's size
        (see LIGHT_DEPTH): then it gets the light pipeline (jit.compile_ir)."""
        return self.max_depth > LIGHT_DEPTH or self.max_fanout > LIGHT_FANOUT

    def assemble(self, ft: FuncType) -> str:
        out = ["ptr %out"] if self.wide else []
        args = ", ".join(["ptr %vmctx", *out] + [f"{t} %p{i}" for i, t in enumerate(self.params)])
        if self.huge:
            attrs = UNOPTIMISED
        elif self.light():
            attrs = LIGHT
        elif self.info.quick and quick_function(self.body):
            attrs = QUICK
        else:
            attrs = "#0"
        head = [f"define dso_local tailcc {self.ret} @{self.info.func_symbol(self.funcidx)}"
                f"({args}) {attrs} {{", "entry:"]
        # A stackmap at the entry puts the frame size in the object (objfile.frames).
        entry_id = (self.funcidx << 32) | STACKMAP_ENTRY_PC
        head.append(f"  call void (i64, i32, ...) @llvm.experimental.stackmap(i64 {entry_id}, i32 0)")
        head.append(f"  %sc = load ptr, ptr %vmctx, align 8, !tbaa {TBAA_CTX}, "
                    f"!invariant.load {INVARIANT}")
        head.extend(self.prelude)
        for i, t in enumerate(self.local_types):
            head.append(f"  %l{i} = alloca {t}, align 8")
        for i, t in enumerate(self.params):
            head.append(f"  store {t} %p{i}, ptr %l{i}, align 8")
        for i in range(len(self.params), len(self.local_types)):
            t = self.local_types[i]
            head.append(f"  store {t} {zero_literal(t)}, ptr %l{i}, align 8")
        if self.regions:
            from .ops_exc import region_prelude

            head.extend(region_prelude(self))
        head.extend(metering.prologue(self))
        lim = abi.SC["stack_limit"]
        # The entry's interrupt check (epoch deadline, SIGINT) costs nothing: Python
        # or the signal handler sets the limit's top byte, which fails the stack
        # check. The stack pointer after the prologue is compared: the frame as
        # compiled, whatever its size (spills, big switches, -O0), not an estimate.
        # Everything after a failed compare is one call of the shared cold routine
        # (entry_slow_routine), which returns only when the function may go on. It
        # preserves every register, so the hot path keeps its values where they
        # are: the cold path inline kept values live across its calls, so LLVM gave
        # every function callee-saved registers to push (80-byte frames where 16 do:
        # a fifth of wasmtime's recursion depth) and 7 more blocks to compile.
        self.intrinsic(STACKSAVE)  # (the same declaration as ops_exc's: declared once)
        if "entry_slow" not in self.info.routines:
            self.info.routine("entry_slow", entry_slow_routine(self.fuel))
        head += [
            "  %sp = call ptr @llvm.stacksave.p0()",
            "  %spi = ptrtoint ptr %sp to i64",
            f"  %limp = getelementptr inbounds i8, ptr %sc, i64 {lim}",
            "  %lim = load volatile i64, ptr %limp, align 8",
            "  %stk = icmp uge i64 %spi, %lim",
            f"  br i1 %stk, label %body, label %overflow, !prof {LIKELY}",
            "overflow:",
            "  call preserve_allcc void @np_entry_slow(ptr %vmctx, i64 %spi)",
            "  br label %body",
        ]
        return "\n".join(head + self.lines) + "\n}\n"


def entry_slow_routine(fuel: bool) -> str:
    """``np_entry_slow(vmctx, sp)`` (preserve_allcc): what a function entry does when
    its stack pointer ``sp`` is below the stack limit. A tripped limit (top byte set:
    epoch deadline or SIGINT) asks the helper: 0 is the deadline, so trap OUT_OF_FUEL
    if (``fuel``: metered code) the entry's cost spent the fuel too, as wasmtime and
    the interp tier check fuel first, else INTERRUPT; another failure traps HOST; 1
    (go on) returns when the stack itself is fine. Anything else is a real overflow.
    The limit is read again (whatever the caller saw, each outcome was possible).
    Traps report the entry (ENTRY_PC), which traps.backtrace gives the first Wasm
    frame although this routine's frame is innermost."""
    from ...exec.trap import ENTRY_PC
    from .metering import ENTRY_COST, epoch_helper_call

    if fuel:
        oof = f"""\
  %fup = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["fuel"]}
  %fu.0 = load i64, ptr %fup, align 8
  %fuel = sub i64 %fu.0, {ENTRY_COST}
  %fuelout = icmp sle i64 %fuel, 0
  %oof = and i1 %due, %fuelout
  br i1 %oof, label %entryoof, label %interrupted2
entryoof:
  store i64 %fuel, ptr %fup, align 8
  call void %trapfn(ptr %sc, i32 {abi.TRAP_OUT_OF_FUEL}, i32 {ENTRY_PC})
  ret void
"""
    else:
        oof = "  br label %interrupted2\n"
    return f"""\
define internal preserve_allcc void @np_entry_slow(ptr %vmctx, i64 %spi) #6 {{
entry:
  %sc = load ptr, ptr %vmctx, align 8
  %trapfn = load volatile ptr, ptr @np_trap_ptr, align 8
  %limp = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["stack_limit"]}
  %lim = load volatile i64, ptr %limp, align 8
  %tripped = icmp ugt i64 %lim, {abi.LIMIT_MASK}
  br i1 %tripped, label %tripentry, label %untripped
untripped:
  %stk1 = icmp uge i64 %spi, %lim
  br i1 %stk1, label %fine, label %realoverflow
tripentry:
  %helperf = load volatile ptr, ptr @np_helper_ptr, align 8
  %goon = {epoch_helper_call('%helperf')}
  %moved = icmp eq i64 %goon, 1
  br i1 %moved, label %recheck, label %interrupted
recheck:
  %lim2 = and i64 %lim, {abi.LIMIT_MASK}
  %stk2 = icmp uge i64 %spi, %lim2
  br i1 %stk2, label %fine, label %realoverflow
fine:
  ret void
interrupted:
  %due = icmp eq i64 %goon, 0
{oof}interrupted2:
  %why = select i1 %due, i32 {abi.TRAP_INTERRUPT}, i32 {abi.TRAP_HOST}
  call void %trapfn(ptr %sc, i32 %why, i32 {ENTRY_PC})
  ret void
realoverflow:
  call void %trapfn(ptr %sc, i32 {abi.TRAP_STACK_OVERFLOW}, i32 {ENTRY_PC})
  ret void
}}
"""


def _letters(types: list[str]) -> list[str]:
    inv = {"i32": "i", "i64": "I", "float": "f", "double": "F", "ptr": "r", "<2 x i64>": "V"}
    return [inv[t] for t in types]


# The metering helpers (per instruction: returns, branches) import this module's
# names, so they are bound after it is defined: importing them inside each call ran
# the import machinery per instruction (~2.5 us each).
from . import metering  # noqa: E402
