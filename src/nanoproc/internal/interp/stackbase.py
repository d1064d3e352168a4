"""The operand stack at translation time: pending expressions and when to evaluate them.

:class:`StackMachine` holds the symbolic operand stack of one function being
translated (entries are :class:`.exprs.Val`), materialises entries into temporaries
when a statement could change their value or trap order (:meth:`flush`), and emits
statements. The control-flow lowering (:mod:`.control`) and the driver
(:mod:`.translate`) build on it.
"""

from __future__ import annotations

from typing import Any

from .emitter import Emitter
from .exprs import EMPTY, NO_SLOT, Val, combine, simple_val

MAX_EXPR_DEPTH = 24
"""Deeper expressions are split into temporaries (CPython's parser and compiler
recurse on nesting)."""

MASK = {32: "0xFFFFFFFF", 64: "0xFFFFFFFFFFFFFFFF"}
MASKV = {32: 0xFFFF_FFFF, 64: 0xFFFF_FFFF_FFFF_FFFF}
SIGN = {32: "0x80000000", 64: "0x8000000000000000"}


def trap_pc(vals: list[Val]) -> int:
    """The instruction index a line evaluating ``vals`` should report when it traps:
    the first operand that may trap, else (-1) the current instruction."""
    for v in vals:
        if v.trap:
            return v.pc
    return -1


class StackMachine:
    """Symbolic operand stack and statement emission for one function."""

    def __init__(self) -> None:
        self.out = Emitter()
        self.stack: list[Val] = []
        self.ntemps = 0
        self.consts: dict[str, Any] = {}
        """Extra globals the code needs (NaN constants)."""

    # ------------------------------------------------------------ stack
    def push(self, v: Val) -> None:
        if v.depth > MAX_EXPR_DEPTH:
            v = self.materialize(v)
        self.stack.append(v)

    def pop(self) -> Val:
        return self.stack.pop()

    def popn(self, n: int) -> list[Val]:
        if not n:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def temp(self) -> str:
        n = self.ntemps
        self.ntemps = n + 1
        return f"t{n}"

    def materialize(self, v: Val) -> Val:
        """Evaluate ``v`` now into a fresh temporary.

        A popped ``v`` that may trap comes after everything still on the stack, so
        what on the stack may trap is evaluated first (Wasm's order of traps)."""
        if v.trap and all(e is not v for e in self.stack):
            self.flush(traps=True)
        name = self.temp()
        self.out.emit(f"{name} = {v.code}", v.pc if v.trap else -1)
        return simple_val(name, EMPTY, NO_SLOT, v.exact, v.width, v.bits, None, v.isbool)

    def simple(self, v: Val) -> Val:
        """``v`` in a form that may be evaluated twice in one expression."""
        return v if v.simple else self.materialize(v)

    def exact(self, v: Val) -> Val:
        """``v`` reduced to the canonical range (integers)."""
        if v.exact:
            return v
        w = v.width
        return combine(f"({v.code} & {MASK[w]})", v, exact=True, width=w, bits=w)

    def cond(self, v: Val) -> str:
        """Python condition code for an i32 used as a boolean."""
        return v.code if v.isbool else self.exact(v).code

    def flush(
        self,
        *,
        traps: bool = False,
        effects: bool = False,
        writes: frozenset[int] | set[int] = frozenset(),
        slot_from: int = 1 << 30,
    ) -> None:
        """Materialise the pending entries a statement with these properties could
        change the value or the trap order of (``slot_from``: the statement writes
        slot variables from that height up)."""
        stack = self.stack
        chosen: list[int] = []
        last_trap = -1
        for i, v in enumerate(stack):
            if v.simple and not v.locals and v.maxslot == NO_SLOT:
                continue
            if (
                (v.trap and (traps or effects))
                or (v.state and effects)
                or (writes and v.locals and not v.locals.isdisjoint(writes))
                or v.maxslot >= slot_from
            ):
                chosen.append(i)
                if v.trap:
                    last_trap = i
        if not chosen:
            return
        if last_trap > 0:
            extra = [i for i in range(last_trap) if stack[i].trap and i not in chosen]
            if extra:
                chosen = sorted(chosen + extra)
        for i in chosen:
            stack[i] = self.materialize(stack[i])

    def stmt(
        self,
        line: str,
        *,
        traps: bool = True,
        effects: bool = True,
        writes: frozenset[int] | set[int] = frozenset(),
        operands: list[Val] | None = None,
    ) -> None:
        """Emit a statement, first materialising what it must not overtake
        (``operands``: the entries it consumes, for the trap line table)."""
        self.flush(traps=traps, effects=effects, writes=writes)
        self.out.emit(line, trap_pc(operands) if operands else -1)

    def result(self, code: str, *, exact: bool = True, width: int = 0, bits: int = 64,
               isbool: bool = False, traps: bool = True, effects: bool = True) -> Val:
        """Emit ``t = code`` as a statement and return the temporary's entry."""
        self.flush(traps=traps, effects=effects)
        name = self.temp()
        self.out.emit(f"{name} = {code}")
        return simple_val(name, EMPTY, NO_SLOT, exact, width, bits, None, isbool)

    # ------------------------------------------------------------ constants
    def iconst(self, value: int, width: int) -> Val:
        value &= MASKV[width]
        return simple_val(str(value), EMPTY, NO_SLOT, True, width, value.bit_length(), value, False)

    def fconst(self, value: float) -> Val:
        if value != value:
            from ..exec.values import f64_to_bits

            name = f"K{f64_to_bits(value):x}"
            self.consts[name] = value
            return Val(name, simple=True)
        if value in (float("inf"), float("-inf")):
            return Val("INF" if value > 0 else "(-INF)", simple=True, const=value)
        r = repr(value)
        return Val(f"({r})" if r.startswith("-") else r, simple=True, const=value)
