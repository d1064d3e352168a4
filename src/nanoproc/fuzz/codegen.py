"""Random, valid function bodies (the code half of :mod:`.generator`).

The generator is type-directed: :meth:`FuncGen.expr` emits instructions that push one
value of a requested type, :meth:`FuncGen.stmt` a stack-neutral sequence, so every
body validates by construction. Code after an unconditional branch is still emitted
(it is valid, just dead), which keeps the generator free of reachability tracking.

Termination: loops run a counter down from a small constant, every function entry
spends one unit of an exported call budget (trapping when it is gone), and runs use
fuel as the backstop for the rare branch that restarts a loop without counting.

NaN payloads of arithmetic results are left open by the spec, so a float that is
stored, reinterpreted or gives copysign its sign is first canonicalised, unless it
comes straight from a load or a constant (whose bits must survive exactly).
Modules with ``simd`` also get v128 values (:mod:`.codegen_simd`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..internal.syntax.module import Instr
from ..internal.syntax.ops import BY_NAME
from ..internal.syntax.types import F32, F64, I32, I64, V128, FuncType, RefType, ValType
from . import codegen_simd as simd
from .values import CANONICAL_NAN, const_imm

if TYPE_CHECKING:
    from .generator import ModuleGen

NUM: tuple[ValType, ...] = (I32, I64, F32, F64)
_FEATURES = ("core", "sign_extension", "saturating_float_to_int")
OPS_BY_RESULT: dict[ValType, list[Any]] = {t: [] for t in NUM}
"""Every plain numeric operator (no immediates), by result type."""
for _op in BY_NAME.values():
    if (_op.rule is None and not _op.imms and _op.feature in _FEATURES and _op.params
            and len(_op.results) == 1 and _op.results[0] in NUM
            and all(p in NUM for p in _op.params)):
        OPS_BY_RESULT[_op.results[0]].append(_op)
del _op

LOADS: dict[ValType, list[str]] = {
    I32: ["i32.load", "i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u"],
    I64: ["i64.load", "i64.load8_s", "i64.load8_u", "i64.load16_s", "i64.load16_u",
          "i64.load32_s", "i64.load32_u"],
    F32: ["f32.load"],
    F64: ["f64.load"],
}  # fmt: skip
STORES: dict[ValType, list[str]] = {
    I32: ["i32.store", "i32.store8", "i32.store16"],
    I64: ["i64.store", "i64.store8", "i64.store16", "i64.store32"],
    F32: ["f32.store"],
    F64: ["f64.store"],
}
NAN_ESCAPES = {"i32.reinterpret_f32", "i64.reinterpret_f64"}
"""Operators that expose a float's bits (their operand is canonicalised)."""
OFFSETS = [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 100, 100, 1000, 65535, 65536, 0xFFFFFFFF]


@dataclass
class Label:
    """An enclosing construct a branch can target: the types a branch carries."""

    types: tuple[ValType, ...]
    loop: bool = False
    catch: bool = False
    """A legacy try in its handlers (``rethrow`` may name it)."""


@dataclass
class FuncGen:
    """Generates the body of one defined function."""

    mod: ModuleGen
    rng: random.Random
    ftype: FuncType
    budget: int
    locals: list[ValType] = field(default_factory=list)
    reserved: set[int] = field(default_factory=set)
    """Locals the random statements must not write (loop counters, scratch)."""
    scratch: dict[ValType, int] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)
    out: list[Instr] = field(default_factory=list)
    inited: set[int] = field(default_factory=set)
    """Non-nullable reference locals set at the top level (usable from then on)."""

    # ------------------------------------------------------------ plumbing
    def emit(self, name: str, *imms: Any) -> None:
        self.out.append((BY_NAME[name], *imms))

    def new_local(self, t: ValType, reserve: bool = False) -> int:
        idx = len(self.ftype.params) + len(self.locals)
        self.locals.append(t)
        if reserve:
            self.reserved.add(idx)
        return idx

    def local_of(self, t: ValType, writable: bool = False) -> int | None:
        """A random local (or parameter) of type ``t``. Never the v128 scratch local
        of NaN canonicalisation: it holds the raw result (NaN lanes whose bits the spec
        leaves open), and a vector has no later escape point to canonicalise at."""
        all_types = list(self.ftype.params) + self.locals
        hidden = self.scratch.get(V128) if t is V128 else None
        cands = [i for i, lt in enumerate(all_types) if lt is t and i != hidden
                 and not (writable and i in self.reserved)]
        return self.rng.choice(cands) if cands else None

    def spend(self, n: int = 1) -> bool:
        self.budget -= n
        return self.budget > 0

    def body(self) -> list[Instr]:
        """The whole body: the call-budget guard, statements, the results."""
        self.labels.append(Label(self.ftype.results))
        g = self.mod.budget_global
        self.emit("global.get", g)
        self.emit("i32.eqz")
        self.emit("if", None)
        self.emit("unreachable")
        self.emit("end")
        self.emit("global.get", g)
        self.emit("i32.const", 1)
        self.emit("i32.sub")
        self.emit("global.set", g)
        if self.mod.gc is not None:
            from .gcgen import prologue

            prologue(self.mod.gc, self)
        self.stmts(0)
        for t in self.ftype.results:
            self.expr(t, 1)
        return self.out

    # ------------------------------------------------------------ expressions
    def expr(self, t: ValType, depth: int) -> str:
        """Emit code pushing one ``t``; returns ``load``, ``const`` or ``other`` (what
        produced the value, for NaN canonicalisation)."""
        r = self.rng
        if isinstance(t, RefType) and self.mod.gc is not None and t.heap != "exn":
            self.mod.gc.ref_expr(self, t, depth)  # (exnrefs come from handlers only)
            return "other"
        if t not in NUM and t is not V128:
            return self.ref_leaf(t)
        if depth > 5 or not self.spend():
            return self.leaf(t)
        if self.mod.gc is not None and r.random() < 0.15:
            self.mod.gc.num_expr(self, t, depth)
            return "other"
        k = r.randrange(100)
        if k < 22:
            return self.leaf(t)
        if k < 55:
            self.operator(t, depth)
        elif k < 63:
            self.load(t, depth)
            return "load"
        elif k < 67:
            self.expr(t, depth + 1)
            self.expr(t, depth + 1)
            self.expr(I32, depth + 1)
            self.emit("select")
        elif k < 71:
            x = self.local_of(t, writable=True)
            if x is None:
                return self.leaf(t)
            self.expr(t, depth + 1)
            self.emit("local.tee", x)
        elif k < 77:
            self.block_expr(t, depth)
        elif k < 82:
            self.if_expr(t, depth)
        elif k < 85:
            self.loop_expr(t, depth)
        elif k < 92:
            if not self.call_expr(t, depth):
                return self.leaf(t)
        elif k < 95:
            self.multi_value_expr(t, depth)
        elif t is I32 and k < 98:
            if r.random() < 0.5:
                self.emit("memory.size", 0)
            else:
                self.grow_delta(depth)
                self.emit("memory.grow", 0)
        else:
            return self.leaf(t)
        return "other"

    def ref_leaf(self, t: ValType) -> str:
        """A reference (exnref: a local holding one, or null)."""
        x = self.local_of(t)
        if x is not None and self.rng.random() < 0.7:
            self.emit("local.get", x)
        else:
            self.emit("ref.null", t.heap)  # type: ignore[union-attr]
        return "other"

    def leaf(self, t: ValType) -> str:
        r = self.rng
        if isinstance(t, RefType):
            if self.mod.gc is None or t.heap == "exn":
                return self.ref_leaf(t)
            self.mod.gc.ref_leaf(self, t)
            return "other"
        k = r.randrange(10)
        if k < 4:
            x = self.local_of(t)
            if x is not None:
                self.emit("local.get", x)
                return "other"
        elif k < 6:
            gs = self.mod.globals_of(t)
            if gs:
                self.emit("global.get", r.choice(gs))
                return "other"
        if t is V128:
            self.emit("v128.const", simd.const(self))
        else:
            self.emit(f"{t}.const", const_imm(r, t))
        return "const"

    def operator(self, t: ValType, depth: int) -> None:
        if t is V128:
            simd.vec_operator(self, depth)
            return
        if self.mod.simd and self.rng.random() < 0.15:
            simd.scalar_operator(self, t, depth)
            return
        op = self.rng.choice(OPS_BY_RESULT[t])
        for i, p in enumerate(op.params):
            kind = self.expr(p, depth + 1)
            escapes = op.name in NAN_ESCAPES or (op.name.endswith("copysign") and i == 1)
            if escapes and kind == "other":
                self.canonicalize(p)
        self.out.append((op,))

    def canonicalize(self, t: ValType) -> None:
        """Replace a NaN on top of the stack by the canonical NaN."""
        s = self.scratch.get(t)
        if s is None:
            s = self.scratch[t] = self.new_local(t, reserve=True)
        self.emit("local.tee", s)
        self.emit(f"{t}.const", CANONICAL_NAN[t])
        self.emit("local.get", s)
        self.emit("local.get", s)
        self.emit(f"{t}.eq")
        self.emit("select")

    def grow_delta(self, depth: int) -> None:
        """A literal delta, or one no compiler can know (wasmtime charges fuel for a
        failed growth by a compile-time constant, not for a computed one)."""
        if self.rng.random() < 0.5:
            self.emit("i32.const", self.rng.choice([0, 1, 2, 3, 200, -1]))
        else:
            self.expr(I32, depth + 1)
            self.emit("i32.const", 3)
            self.emit("i32.and")

    def address(self, depth: int) -> None:
        r = self.rng
        k = r.randrange(20)
        if k < 8:
            self.emit("i32.const", r.choice([0, 4, 8, 13, 100, 1000, 4096, 65528, 65532,
                                             65535, 65536, 131068, -1, -4]))
        elif k < 19:
            self.expr(I32, depth + 1)
            self.emit("i32.const", r.choice([0xFF, 0xFFF, 0xFFF, 0xFFFF, 0x1FFFF]))
            self.emit("i32.and")
        else:
            self.expr(I32, depth + 1)

    def memarg(self, name: str) -> tuple[int, int, int]:
        width = BY_NAME[name].width
        align = self.rng.randrange(width.bit_length())  # up to the natural alignment
        return (align, self.rng.choice(OFFSETS), 0)

    def load(self, t: ValType, depth: int) -> None:
        if t is V128:
            simd.load(self, depth)
            return
        name = self.rng.choice(LOADS[t])
        self.address(depth)
        self.emit(name, self.memarg(name))

    def block_expr(self, t: ValType, depth: int) -> None:
        self.emit("block", t)
        self.labels.append(Label((t,)))
        self.stmts(depth + 1)
        self.expr(t, depth + 1)
        self.labels.pop()
        self.emit("end")

    def if_expr(self, t: ValType, depth: int) -> None:
        self.expr(I32, depth + 1)
        self.emit("if", t)
        self.labels.append(Label((t,)))
        self.stmts(depth + 1)
        self.expr(t, depth + 1)
        self.emit("else")
        self.stmts(depth + 1)
        self.expr(t, depth + 1)
        self.labels.pop()
        self.emit("end")

    def loop_expr(self, t: ValType, depth: int) -> None:
        """A counted loop whose body leaves a ``t`` on its last iteration."""
        c = self.new_local(I32, reserve=True)
        self.emit("i32.const", self.rng.randint(1, 5))
        self.emit("local.set", c)
        self.emit("loop", t)
        self.labels.append(Label((), loop=True))
        self.stmts(depth + 1)
        self.expr(t, depth + 1)
        self.count_down(c)
        self.labels.pop()
        self.emit("end")

    def count_down(self, c: int) -> None:
        """``c -= 1``; branch back to the loop (label 0) while it stays positive."""
        self.emit("local.get", c)
        self.emit("i32.const", 1)
        self.emit("i32.sub")
        self.emit("local.tee", c)
        self.emit("i32.const", 0)
        self.emit("i32.gt_s")
        self.emit("br_if", 0)

    def call_expr(self, t: ValType, depth: int) -> bool:
        """A direct or indirect call of a function returning exactly ``t``."""
        cands = [i for i, ft in enumerate(self.mod.func_types) if ft.results == (t,)]
        if not cands:
            return False
        f = self.rng.choice(cands)
        ft = self.mod.func_types[f]
        for p in ft.params:
            self.expr(p, depth + 1)
        if self.rng.random() < 0.3:
            self.table_index(depth)
            self.emit("call_indirect", self.mod.typeidx(ft), 0)
        else:
            self.emit("call", f)
        return True

    def table_index(self, depth: int) -> None:
        if self.rng.random() < 0.8:
            self.emit("i32.const", self.rng.randrange(self.mod.table_size + 2))
        else:
            self.expr(I32, depth + 1)

    def multi_value_expr(self, t: ValType, depth: int) -> None:
        """``block (param p) (result t u)`` with its extra result dropped."""
        r = self.rng
        p = r.choice(NUM)
        u = r.choice(NUM)
        self.expr(p, depth + 1)
        self.emit("block", self.mod.typeidx(FuncType((p,), (t, u))))
        self.labels.append(Label((t, u)))
        tmp = self.new_local(p)
        self.emit("local.set", tmp)
        self.stmts(depth + 1)
        self.expr(t, depth + 1)
        self.expr(u, depth + 1)
        self.labels.pop()
        self.emit("end")
        self.emit("drop")

    # ------------------------------------------------------------ statements
    def stmts(self, depth: int) -> None:
        n = self.rng.randint(0, 4 if depth < 3 else 2)
        for _ in range(n):
            if not self.spend():
                return
            self.stmt(depth)

    def stmt(self, depth: int) -> None:
        r = self.rng
        if self.mod.tags and r.random() < 0.15:
            from .codegen_exc import exn_stmt

            exn_stmt(self, depth)
            return
        if self.mod.gc is not None and r.random() < 0.3:
            self.mod.gc.stmt(self, depth)
            return
        k = r.randrange(100)
        t = r.choice(NUM)
        if self.mod.simd and r.random() < 0.3:
            t = V128
        if k < 18:
            x = self.local_of(t, writable=True)
            if x is None:
                x = self.new_local(t)
            self.expr(t, depth + 1)
            self.emit("local.set", x)
        elif k < 26:
            gs = self.mod.globals_of(t, mutable=True)
            if not gs:
                return
            self.expr(t, depth + 1)
            self.emit("global.set", r.choice(gs))
        elif k < 38 and t is V128:
            simd.store(self, depth)
        elif k < 38:
            name = r.choice(STORES[t])
            self.address(depth)
            if self.expr(t, depth + 1) == "other" and t in (F32, F64):
                self.canonicalize(t)
            self.emit(name, self.memarg(name))
        elif k < 42:
            self.expr(t, depth + 1)
            self.emit("drop")
        elif k < 50 and depth < 4:
            self.expr(I32, depth + 1)
            self.emit("if", None)
            self.labels.append(Label(()))
            self.stmts(depth + 1)
            if r.random() < 0.5:
                self.emit("else")
                self.stmts(depth + 1)
            self.labels.pop()
            self.emit("end")
        elif k < 56 and depth < 4:
            self.emit("block", None)
            self.labels.append(Label(()))
            self.stmts(depth + 1)
            self.labels.pop()
            self.emit("end")
        elif k < 62 and depth < 4:
            self.loop_stmt(depth)
        elif k < 74:
            self.branch(depth)
        elif k < 82:
            self.call_stmt(depth)
        elif k < 88:
            self.bulk_memory(depth)
        elif k < 90:
            for rt in self.ftype.results:
                self.expr(rt, depth + 1)
            self.emit("return")
        elif k < 91:
            self.emit("unreachable")
        elif k < 94:
            self.table_stmt(depth)
        else:
            self.emit("nop")

    def loop_stmt(self, depth: int) -> None:
        c = self.new_local(I32, reserve=True)
        self.emit("i32.const", self.rng.randint(1, 6))
        self.emit("local.set", c)
        self.emit("loop", None)
        self.labels.append(Label((), loop=True))
        self.stmts(depth + 1)
        self.count_down(c)
        self.labels.pop()
        self.emit("end")

    def branch(self, depth: int) -> None:
        """br, br_if or br_table to enclosing labels (rarely to a loop: fuel ends it)."""
        r = self.rng
        depths = [d for d, lab in enumerate(reversed(self.labels))
                  if not lab.loop or r.random() < 0.05]
        if not depths:
            return
        d = r.choice(depths)
        target = self.labels[-1 - d]
        for t in target.types:
            self.expr(t, depth + 1)
        k = r.randrange(10)
        if k < 5:
            self.expr(I32, depth + 1)
            self.emit("br_if", d)
            for _ in target.types:
                self.emit("drop")
        elif k < 8:
            same = [e for e in depths if self.labels[-1 - e].types == target.types]
            targets = tuple(r.choice(same) for _ in range(r.randint(0, 5)))
            self.table_index_expr(depth)
            self.emit("br_table", targets, d)
        else:
            self.emit("br", d)

    def table_index_expr(self, depth: int) -> None:
        if self.rng.random() < 0.7:
            self.emit("i32.const", self.rng.randrange(-1, 8))
        else:
            self.expr(I32, depth + 1)

    def call_stmt(self, depth: int) -> None:
        f = self.rng.randrange(len(self.mod.func_types))
        ft = self.mod.func_types[f]
        for p in ft.params:
            self.expr(p, depth + 1)
        if self.rng.random() < 0.35:
            self.table_index(depth)
            self.emit("call_indirect", self.mod.typeidx(ft), 0)
        else:
            self.emit("call", f)
        for _ in ft.results:
            self.emit("drop")

    def bulk_memory(self, depth: int) -> None:
        r = self.rng
        k = r.randrange(4)
        self.address(depth)
        if k == 0:
            self.expr(I32, depth + 1)
            self.emit("i32.const", r.choice([0, 1, 4, 17, 100, 70000]))
            self.emit("memory.fill", 0)
        elif k == 1:
            self.address(depth)
            self.emit("i32.const", r.choice([0, 1, 4, 17, 100, 70000]))
            self.emit("memory.copy", 0, 0)
        elif k == 2 and self.mod.passive_data is not None:
            self.emit("i32.const", r.choice([0, 1, 3, 100]))
            self.emit("i32.const", r.choice([0, 1, 5, 16, 100]))
            self.emit("memory.init", self.mod.passive_data, 0)
        else:
            self.emit("drop")
            if self.mod.passive_data is not None:
                self.emit("data.drop", self.mod.passive_data)

    def table_stmt(self, depth: int) -> None:
        """table.set / table.grow / table.size on the funcref table."""
        r = self.rng
        k = r.randrange(3)
        if k == 0:
            self.table_index(depth)
            if r.random() < 0.5:
                self.emit("ref.null", "func")
            else:
                self.emit("ref.func", r.randrange(len(self.mod.func_types)))
            self.emit("table.set", 0)
        elif k == 1:
            self.emit("ref.null", "func")
            self.grow_delta(depth)
            self.emit("table.grow", 0)
            self.emit("drop")
        else:
            self.emit("table.size", 0)
            self.emit("drop")
