"""Lowering of structured control flow to Python loops.

Blocks, loops and ifs become ``while True:`` loops (or nothing, or a flattened chain,
or a binary search for a switch) as :mod:`.structure` decided; branches become
``break``/``continue``, with the ``brk`` flag for branches that leave several loops.
Branch values travel in slot variables named after their stack height (``s3``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import UnsupportedFeature
from ..syntax.module import Instr
from .exprs import Val, name_val
from .metering import Metering
from .stackbase import StackMachine, trap_pc
from .structure import Construct, Structure

if TYPE_CHECKING:
    from ..syntax.types import FuncType

MAX_PY_LOOPS = 19
"""CPython allows 20 statically nested loops."""
MAX_INDENT = 90
"""CPython's tokenizer allows 100 indentation levels."""


class ChainUnsafe(Exception):
    """A chain block starts with operands pending below it (``x; block ... end; use
    x``), which the flat pieces of a chain cannot carry; ``start`` is that block.
    The function is translated again without chaining it."""

    def __init__(self, start: int) -> None:
        super().__init__(start)
        self.start = start


class PyLoop:
    """A ``while True:`` the translator has opened."""

    __slots__ = ("ctl", "crossings")

    def __init__(self, ctl: Ctl) -> None:
        self.ctl = ctl
        self.crossings: dict[int, Ctl] = {}
        """Targets of branches that set ``brk`` and broke out of this loop."""


class Ctl:
    """An open construct during emission."""

    __slots__ = ("c", "base", "id", "loop", "reached", "params", "mark", "indent", "in_else",
                 "chain", "k", "fuel_carry", "head_state", "end_state", "else_state")

    def __init__(self, c: Construct, base: int, label_id: int, indent: int) -> None:
        self.c = c
        self.base = base
        """Operand stack height below the construct's parameters."""
        self.id = label_id
        self.loop: PyLoop | None = None
        self.reached = False
        """A branch to this label's end was emitted (its end is reachable)."""
        self.params: list[Val] = []
        """For ``if``: the parameter entries, for the else arm."""
        self.mark = 0
        self.indent = indent
        self.in_else = False
        self.chain: ChainState | None = None
        """For a block flattened into a chain: the chain's emission state."""
        self.k = 0
        """Its index in the chain."""
        self.fuel_carry = 0
        """For an ``if`` with an else arm: the fuel both arms still owe for the code
        before the ``if`` (subtracted in each arm, merged with the arm's own cost)."""
        self.head_state = self.end_state = self.else_state = -1
        """For a flat construct: its states (see :mod:`.flat`); -1: none yet."""

    @property
    def kind(self) -> str:
        return self.c.kind

    def slots(self, n: int) -> list[str]:
        return [f"s{self.base + i}" for i in range(n)]


class ChainState:
    """Emission state of a chain (see structure.Chain)."""

    __slots__ = ("var", "loop")

    def __init__(self, var: str) -> None:
        self.var = var
        """The Python variable holding the index of the block branched to."""
        self.loop: PyLoop | None = None
        """The loop of the piece being emitted, if it has one."""


class ControlFlow(Metering, StackMachine):
    """Control-flow emission; :class:`.translate.Translator` drives it."""

    st: Structure
    body: list[Instr]
    ftype: FuncType
    nparams: int

    def __init__(self) -> None:
        super().__init__()
        self.ctls: list[Ctl] = []
        self.open: dict[int, Ctl] = {}
        """Open constructs by start index."""
        self.loops: list[PyLoop] = []
        self.next_label = 1
        self.uses_brk = False
        self.reachable = True
        self.top: Ctl | None = None
        """The synthetic loop around the whole body when the function tail-calls itself."""
        self.leaf_mark = 0
        self.py_trys = 0
        """Open ``try:`` statements (they count against Python's nesting limit too)."""
        self.indent_room = MAX_INDENT
        """Deepest indentation the code may reach (less in a flat function, whose
        states are indented again when put in the dispatch tree)."""

    def seq(self, start: int, stop: int) -> None:
        """Translate instructions ``start`` .. ``stop - 1`` (see Translator)."""
        raise NotImplementedError

    # ------------------------------------------------------------ labels
    def new_label(self) -> int:
        n = self.next_label
        self.next_label = n + 1
        return n

    def label(self, depth: int) -> Ctl:
        return self.ctls[-1 - depth]

    def innermost_loop(self) -> PyLoop | None:
        return self.loops[-1] if self.loops else None

    def open_loop(self, ctl: Ctl) -> None:
        if len(self.loops) + self.py_trys >= MAX_PY_LOOPS:
            raise UnsupportedFeature(
                "deeply nested control flow", "more nested loops than Python allows"
            )
        self.out.emit("while True:")
        self.out.indent += 1
        self.check_indent()
        loop = PyLoop(ctl)
        ctl.loop = loop
        self.loops.append(loop)

    def check_indent(self) -> None:
        if self.out.indent > self.indent_room:
            raise UnsupportedFeature(
                "deeply nested control flow", "more nesting than Python allows"
            )

    def close_loop(self, ctl: Ctl) -> None:
        """End a ``while True:`` and dispatch branches that crossed it."""
        loop = ctl.loop
        assert loop is not None and self.loops[-1] is loop
        if not self.out.ends_with_jump():
            self.out.emit("break")
        self.out.indent -= 1
        self.loops.pop()
        if loop.crossings:
            self.dispatch_crossings(loop)

    def dispatch_crossings(self, loop: PyLoop) -> None:
        outer = self.innermost_loop()
        here: list[Ctl] = []
        beyond: list[Ctl] = []
        for target in loop.crossings.values():
            impl = self.impl_loop(target)
            if impl is outer:
                here.append(target)
            else:
                beyond.append(target)
                assert outer is not None
                outer.crossings[target.id] = target
        out = self.out
        out.emit("if brk:")
        out.indent += 1
        for i, target in enumerate(here):
            action = "continue" if target.kind == "loop" else "break"
            if i == len(here) - 1 and not beyond:
                out.emit("brk = 0")
                out.emit(action)
            else:
                out.emit(f"if brk == {target.id}:")
                out.indent += 1
                out.emit("brk = 0")
                out.emit(action)
                out.indent -= 1
        if beyond:
            out.emit("break")
        out.indent -= 1

    def impl_loop(self, target: Ctl) -> PyLoop | None:
        """The Python loop to leave (block) or restart (loop) for a branch to ``target``.

        For a block, that is the innermost open loop of a construct that ends together
        with it (see Structure.ends_with), so leaving the loop lands on its end: the
        block's own loop, the one it delegates to, or one nested closer to the branch.
        """
        if target is self.top:
            return target.loop
        if target.chain is not None:
            return target.chain.loop
        c = target.c
        if c.kind != "loop":
            for loop in reversed(self.loops):
                lc = loop.ctl.c
                if loop.ctl is target or (lc.parent is not None and self.st.ends_with(lc, c)):
                    return loop
        c = c.impl_construct()
        ctl = self.open.get(c.start)
        return ctl.loop if ctl is not None else None

    # ------------------------------------------------------------ branches
    def retarget(self, v: Val, name: str) -> bool:
        """Assign ``v`` to ``name`` by renaming the temporary the previous line just
        computed, when ``v`` is that temporary and nothing else refers to it."""
        code = v.code
        if not (v.simple and code.startswith("t") and code[1:].isdigit()):
            return False
        if any(code in e.code for e in self.stack):
            return False
        return self.out.retarget_last(code, name)

    def assign(self, names: list[str], vals: list[Val]) -> None:
        """``names = vals`` in parallel, skipping no-op moves."""
        pairs = [(n, v) for n, v in zip(names, vals) if n != v.code]
        if not pairs:
            return
        if len(pairs) == 1 and self.retarget(pairs[0][1], pairs[0][0]):
            return
        codes = [self.exact(v).code if v.width else v.code for _, v in pairs]
        pc = trap_pc([v for _, v in pairs])
        if len(pairs) == 1:
            self.out.emit(f"{pairs[0][0]} = {codes[0]}", pc)
        else:
            self.out.emit(f"{', '.join(n for n, _ in pairs)} = {', '.join(codes)}", pc)

    def branch(self, target: Ctl, pc: int) -> None:
        """Emit a jump to ``target`` carrying the stack's top values."""
        c = target.c
        if c.kind == "func":
            self.emit_return()
            return
        n = c.nparams if c.kind == "loop" else c.nresults
        vals = self.stack[-n:] if n else []
        self.assign(target.slots(n), vals)
        if target.chain is not None:
            self.out.emit(f"{target.chain.var} = {target.k}")
        if c.kind != "loop":
            target.reached = True
            if (pc, c.start) in self.st.tail_ok:
                return  # falls off a chain of constructs ending with the target
        self.jump(target)

    def jump(self, target: Ctl) -> None:
        """``break``/``continue`` to ``target``'s loop, through others if needed."""
        action = "continue" if target.kind == "loop" else "break"
        dest = self.impl_loop(target)
        cur = self.innermost_loop()
        if dest is None or cur is None:
            raise AssertionError(f"no Python loop implements label {target.c}")
        if dest is cur:
            self.out.emit(action)
            return
        self.uses_brk = True
        self.out.emit(f"brk = {target.id}")
        self.out.emit("break")
        cur.crossings[target.id] = target

    def paid_branch(self, target: Ctl, pc: int) -> None:
        """:meth:`branch`, paying the pending fuel first (a return folds it into the
        store instead)."""
        if target.c.kind != "func":
            self.flush_fuel()
        self.branch(target, pc)

    def emit_return(self) -> None:
        n = len(self.ftype.results)
        vals = self.popn(n)
        self.flush(traps=True)
        if self.fuel:
            # A result that traps must trap before the fuel is stored, as in wasmtime.
            vals = [self.materialize(v) if v.trap else v for v in vals]
        self.sync_fuel()
        codes = [self.exact(v).code if v.width else v.code for v in vals]
        pc = trap_pc(vals)
        if n == 0:
            self.out.emit("return")
        elif n == 1:
            self.out.emit(f"return {codes[0]}", pc)
        else:
            self.out.emit(f"return ({', '.join(codes)})", pc)

    def mark_unreachable(self) -> None:
        assert not self.fuel_pending, "fuel cost left unpaid before unreachable code"
        self.reachable = False

    # ------------------------------------------------------------ control handlers
    def enter(self, c: Construct, base: int) -> Ctl:
        """Common entry of block/loop/if (``base``: stack height below the params)."""
        ctl = Ctl(c, base, self.new_label(), self.out.indent)
        self.ctls.append(ctl)
        self.open[c.start] = ctl
        return ctl

    def flush_for(self, c: Construct, base: int) -> None:
        """Before entering ``c``: nothing pending from outside may be materialised inside
        it (that would happen on one path only), so evaluate now what ``c`` could
        disturb. Trapping entries always go: any branch inside flushes them."""
        self.flush(traps=True, effects=c.effects, writes=c.writes, slot_from=base)

    def do_block(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.stack.extend(params)
        if c.chain is not None:
            return self.do_chain(c, base)
        ctl = self.enter(c, base)
        if c.impl == "wrap":
            self.open_loop(ctl)
        if c.switch is not None:
            return self.do_switch(ctl, pc)
        return pc + 1

    def do_loop(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.flush_fuel()
        ctl = self.enter(c, base)
        if c.nparams:
            names = ctl.slots(c.nparams)
            self.assign(names, params)
            self.stack.extend(name_val(n, slot=base + i) for i, n in enumerate(names))
        if c.impl == "wrap":
            self.open_loop(ctl)
        self.loop_checks()
        return pc + 1

    def do_if(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        cond = self.pop()
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush(traps=True, effects=c.effects, writes=c.writes, slot_from=base)
        if cond.trap and any(p.trap for p in params):
            params = [self.materialize(p) if p.trap else p for p in params]
        carry = 0
        if c.else_ is None:
            self.flush_fuel()  # the implicit else arm has no code to pay it in
        else:
            carry = self.fuel_pending
        ctl = self.enter(c, base)
        ctl.params = list(params)
        ctl.fuel_carry = carry
        if c.impl == "wrap":
            self.open_loop(ctl)
        self.out.emit(f"if {self.cond(cond)}:")
        self.out.indent += 1
        self.check_indent()
        ctl.mark = self.out.mark()
        self.stack.extend(params)
        return pc + 1

    def end_arm(self, ctl: Ctl) -> None:
        """Finish the current arm of an if: results into slots."""
        c = ctl.c
        if self.reachable:
            vals = self.popn(c.nresults)
            self.assign(ctl.slots(c.nresults), vals)
            ctl.reached = True
        if self.out.lines_since(ctl.mark) == 0:
            self.out.emit("pass")
        self.out.indent -= 1

    def do_else(self, ins: Instr, pc: int) -> int:
        ctl = self.ctls[-1]
        self.flush_fuel()
        self.end_arm(ctl)
        self.fuel_pending = ctl.fuel_carry
        del self.stack[ctl.base :]
        self.out.emit("else:")
        self.out.indent += 1
        ctl.mark = self.out.mark()
        ctl.in_else = True
        self.stack.extend(ctl.params)
        self.reachable = True
        return pc + 1

    def do_end(self, ins: Instr, pc: int) -> int:
        ctl = self.ctls[-1]
        c = ctl.c
        self.flush_fuel()
        if c.kind == "if":
            self.end_arm(ctl)
            if not ctl.in_else and c.nresults:
                # The implicit else passes the parameters through as results.
                names = ctl.slots(c.nresults)
                if any(n != p.code for n, p in zip(names, ctl.params)):
                    self.out.emit("else:")
                    self.out.indent += 1
                    self.assign(names, ctl.params)
                    self.out.indent -= 1
            elif not ctl.in_else:
                ctl.reached = True  # the implicit else falls through
            reachable = ctl.reached
            results = [name_val(n, slot=ctl.base + i) for i, n in enumerate(ctl.slots(c.nresults))]
        else:
            fall = self.reachable
            results = []
            if c.kind == "loop":
                reachable = fall
                if fall:
                    results = self.popn(c.nresults)
                    if ctl.loop is not None and c.nresults:
                        # Leave results in the slots, where the enclosing constructs
                        # that end with this loop expect them.
                        self.assign(ctl.slots(c.nresults), results)
                        results = [name_val(n, slot=ctl.base + i)
                                   for i, n in enumerate(ctl.slots(c.nresults))]
            elif ctl.reached or (fall and ctl.loop is not None):
                # Branches deliver results in slots: the fall-through must too. So
                # must a fall-through inside the construct's own Python loop even when
                # no branch to it was emitted (only dead code targets it): enclosing
                # blocks that delegate to this loop are left by ``break`` to a point
                # after it, where no value of this construct may be assigned.
                if fall:
                    vals = self.popn(c.nresults)
                    self.assign(ctl.slots(c.nresults), vals)
                reachable = True
                results = [
                    name_val(n, slot=ctl.base + i) for i, n in enumerate(ctl.slots(c.nresults))
                ]
            else:
                reachable = fall
                if fall:
                    results = self.popn(c.nresults)
        if ctl.loop is not None:
            self.close_loop(ctl)
        self.ctls.pop()
        del self.open[c.start]
        del self.stack[ctl.base :]
        self.reachable = reachable
        if reachable:
            self.stack.extend(results)
        return pc + 1

    # ------------------------------------------------------------ switches
    def do_switch(self, b0: Ctl, pc: int) -> int:
        """Emit a recognised switch: the inner body, then the br_table as a binary
        search whose leaves contain the case code (see Structure._find_switches)."""
        sw = b0.c.switch
        assert sw is not None
        inner = sw.blocks[1:]
        n = len(inner)
        for b in inner:
            self.enter(b, b0.base)
        bt_pc = sw.br_table
        self.seq(sw.blocks[-1].start + 1, bt_pc)
        if self.reachable:
            self.out.pc = bt_pc
            ins = self.body[bt_pc]
            if self.fuel:
                self.charge(ins[0].name)  # seq does not see this br_table
            idx = self.simple(self.exact(self.pop()))
            self.flush(traps=True)
            carry = self.fuel_pending  # every leaf pays it, with its own cost
            at_table = list(self.stack)
            all_ctls = list(self.ctls)

            def leaf(depth: int) -> None:
                # depth 0 is Bn, depth n is B0, deeper ones are outer labels.
                self.reachable = True
                self.fuel_pending = carry
                if depth < n:
                    k = n - depth
                    self.ctls = all_ctls[: len(all_ctls) - depth - 1]  # inside B(k-1)
                    self.stack = at_table[: b0.base]
                    self.seq(*sw.segment(k))
                    if self.reachable:
                        self.flush_fuel()
                        b0.reached = True  # B1's case falls into B0's end
                    self.ctls = all_ctls
                else:
                    self.stack = list(at_table)
                    self.out.pc = bt_pc
                    self.paid_branch(self.ctls[-1 - depth], bt_pc)
                if self.out.lines_since(self.leaf_mark) == 0:
                    self.out.emit("pass")

            self.table_tree(idx.code, list(ins[1]), ins[2], leaf)
        for b in reversed(inner):
            self.ctls.pop()
            del self.open[b.start]
        self.stack = self.stack[: b0.base]
        assert not self.fuel_pending, "a switch case left fuel unpaid"
        self.reachable = False
        return b0.c.end

    # ------------------------------------------------------------ chains
    def do_chain(self, b0: Construct, base: int) -> int:
        """Emit a chain of nested blocks as a flat sequence of guarded pieces."""
        chain = b0.chain
        assert chain is not None and chain.blocks[0] is b0
        n = len(chain.blocks) - 1
        state = ChainState(f"c{chain.ident}")
        ctls = []
        for k, b in enumerate(chain.blocks):
            ctl = Ctl(b, base, self.new_label(), self.out.indent)
            ctl.chain = state
            ctl.k = k
            ctls.append(ctl)
            self.open[b.start] = ctl
        out = self.out
        self.flush_fuel()
        out.emit(f"{state.var} = {n + 1}")
        base_stack = list(self.stack)
        outer = list(self.ctls)
        fall = True
        """Whether control can reach the start of the next piece (dead pieces are not
        translated: dead code may pop operands that are not there)."""
        ended = n + 1
        """Blocks B[ended:] have had their ``end`` passed."""
        for piece in chain.pieces:
            if piece.kind == "post":
                # reaching the code after B[k]'s end: falling through it, or a branch
                # to it or to a block whose (empty) post piece was dropped
                fall = fall or any(ctls[j].reached for j in range(piece.k, ended))
                ended = piece.k
            if not fall:
                continue
            self.stack = list(base_stack)
            self.ctls = outer + ctls[: piece.open]
            self.reachable = True
            if piece.guard:
                test = f"{state.var} >= {piece.k}" if piece.kind == "post" else f"{state.var} > {n}"
                out.emit(f"if {test}:")
                out.indent += 1
            mark = out.mark()
            wrapper = None
            if piece.wrap:
                wrapper = Ctl(Construct("block", piece.lo, piece.hi, 0, 0, None), base,
                              self.new_label(), out.indent)
                self.open_loop(wrapper)
                assert wrapper.loop is not None
                state.loop = wrapper.loop
            else:
                state.loop = None
            self.seq(piece.lo, piece.hi)
            if piece.kind == "pre" and self.reachable and len(self.stack) != len(base_stack):
                raise ChainUnsafe(chain.blocks[piece.k + 1].start)
            if self.reachable:
                self.flush_fuel()  # the next piece may be guarded
            if wrapper is not None:
                self.close_loop(wrapper)
            if out.lines_since(mark) == 0:
                out.emit("pass")
            if piece.guard:
                out.indent -= 1
            fall = self.reachable
        self.ctls = outer
        for b in chain.blocks:
            del self.open[b.start]
        self.stack = base_stack
        self.reachable = fall or any(ctls[j].reached for j in range(ended))
        return b0.end + 1

    def table_tree(self, idx: str, labels: list[int], default: int,
                   leaf: Callable[[int], None]) -> None:
        """Binary search on the br_table index over runs of equal targets."""
        ranges: list[tuple[int, int]] = []  # (first index, target depth)
        for i, d in enumerate(labels):
            if not ranges or ranges[-1][1] != d:
                ranges.append((i, d))
        if not ranges or ranges[-1][1] != default:
            ranges.append((len(labels), default))
        out = self.out

        def emit(lo: int, hi: int) -> None:
            if hi - lo == 1:
                self.leaf_mark = out.mark()
                leaf(ranges[lo][1])
                return
            mid = (lo + hi) // 2
            out.emit(f"if {idx} < {ranges[mid][0]}:")
            out.indent += 1
            self.check_indent()
            emit(lo, mid)
            out.indent -= 1
            out.emit("else:")
            out.indent += 1
            emit(mid, hi)
            out.indent -= 1

        emit(0, len(ranges))


def _block(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return tr.do_block(ins, pc)


def _loop(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return tr.do_loop(ins, pc)


def _if(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return tr.do_if(ins, pc)


def _else(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return tr.do_else(ins, pc)


def _end(tr: ControlFlow, ins: Instr, pc: int) -> int:
    return tr.do_end(ins, pc)


def _br(tr: ControlFlow, ins: Instr, pc: int) -> int:
    tr.flush(traps=True)
    tr.paid_branch(tr.label(ins[1]), pc)
    tr.mark_unreachable()
    return pc + 1


def _br_if(tr: ControlFlow, ins: Instr, pc: int) -> int:
    cond = tr.pop()
    target = tr.label(ins[1])
    c = target.c
    n = c.nparams if c.kind == "loop" else c.nresults
    if c.kind == "func":
        n = len(tr.ftype.results)
    if n:
        top = tr.popn(n)
        tr.stack.extend(tr.simple(v) for v in top)
    tr.flush(traps=True)
    tr.out.emit(f"if {tr.cond(cond)}:")
    tr.out.indent += 1
    saved = list(tr.stack)
    carry = tr.fuel_pending  # paid in the taken branch; the fall-through still owes it
    tr.paid_branch(target, pc)
    tr.fuel_pending = carry
    tr.stack = saved
    tr.out.indent -= 1
    return pc + 1


def _br_table(tr: ControlFlow, ins: Instr, pc: int) -> int:
    idx = tr.simple(tr.exact(tr.pop()))
    labels = list(ins[1])
    default = ins[2]
    arity = _arity(tr, tr.label(default))
    if arity:
        top = tr.popn(arity)
        tr.stack.extend(tr.simple(v) for v in top)
    tr.flush(traps=True)
    saved = list(tr.stack)
    carry = tr.fuel_pending

    def leaf(depth: int) -> None:
        tr.stack = list(saved)
        tr.fuel_pending = carry
        tr.paid_branch(tr.label(depth), pc)
        if tr.out.lines_since(tr.leaf_mark) == 0:
            tr.out.emit("pass")

    if all(d == default for d in labels):
        leaf(default)
    else:
        tr.table_tree(idx.code, labels, default, leaf)
    tr.stack = saved
    tr.mark_unreachable()
    return pc + 1


def _arity(tr: ControlFlow, target: Ctl) -> int:
    c = target.c
    if c.kind == "func":
        return len(tr.ftype.results)
    return c.nparams if c.kind == "loop" else c.nresults


def _return(tr: ControlFlow, ins: Instr, pc: int) -> int:
    tr.emit_return()
    tr.mark_unreachable()
    return pc + 1


def _unreachable(tr: ControlFlow, ins: Instr, pc: int) -> int:
    tr.flush(traps=True)
    tr.sync_fuel()
    tr.out.emit("raise UNREACHABLE()")
    tr.mark_unreachable()
    return pc + 1


def _br_on_null(tr: ControlFlow, ins: Instr, pc: int) -> int:
    ref = tr.simple(tr.pop())
    target = tr.label(ins[1])
    n = _arity(tr, target)
    if n:
        top = tr.popn(n)
        tr.stack.extend(tr.simple(v) for v in top)
    tr.flush(traps=True)
    tr.flush_fuel()
    tr.out.emit(f"if {ref.code} is None:")
    tr.out.indent += 1
    saved = list(tr.stack)
    tr.branch(target, pc)
    tr.stack = saved
    tr.out.indent -= 1
    tr.push(ref)
    return pc + 1


def _br_on_non_null(tr: ControlFlow, ins: Instr, pc: int) -> int:
    ref = tr.simple(tr.pop())
    target = tr.label(ins[1])
    n = _arity(tr, target) - 1
    if n:
        top = tr.popn(n)
        tr.stack.extend(tr.simple(v) for v in top)
    tr.flush(traps=True)
    tr.flush_fuel()
    tr.out.emit(f"if {ref.code} is not None:")
    tr.out.indent += 1
    saved = list(tr.stack)
    tr.stack.append(ref)
    tr.branch(target, pc)
    tr.stack = saved
    tr.out.indent -= 1
    return pc + 1


CONTROL: dict[str, Callable[[ControlFlow, Instr, int], int]] = {
    # instruction name -> handler returning the next instruction index
    "block": _block,
    "loop": _loop,
    "if": _if,
    "else": _else,
    "end": _end,
    "br": _br,
    "br_if": _br_if,
    "br_table": _br_table,
    "return": _return,
    "unreachable": _unreachable,
    "br_on_null": _br_on_null,
    "br_on_non_null": _br_on_non_null,
}
