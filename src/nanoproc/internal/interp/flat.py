"""Flat lowering: control flow nested deeper than CPython allows, as one dispatch loop.

Python has no goto, and the usual lowering (:mod:`.control`) nests one ``while
True:`` per targeted block or loop and one ``if`` per Wasm ``if``. CPython allows 20
statically nested loops and 100 indentation levels, which real code exceeds: QuickJS's
interpreter loop, clang's big switches (hundreds of nested blocks), generated parsers.
For such a function the translator tries again with the outer part of its construct
tree *flat* (:meth:`.structure.Structure._mark_flat`): every block, loop and if whose
subtree nests deeper than a bound. Their code is cut into *states* at their
boundaries, and the function body becomes::

    q = 0
    while True:                   # the dispatch loop
        if q < 4:                 # a binary search on q ...
            if q < 2:
                if q < 1:
                    <state 0>     # ... whose leaves are the states
                ...

A state ends with a jump (``q = <state>`` then ``continue``), a ``return`` or a
``raise``. The constructs below the bound keep the usual lowering inside their state,
so hot inner loops stay Python loops; a branch from them to a flat label sets ``q``
and leaves their loops for the dispatch loop (``brk``, as any branch crossing loops).

Flat labels:

* a block (or an if) reached by a branch gets a state at its ``end``; its results
  travel in slot variables, as for a wrapped block;
* a loop that some branch continues gets a state at its header (with the header's
  fuel and epoch checks);
* an if jumps to the state of its else arm (or of its end) when the condition fails.

Values left on the operand stack across a state boundary are Python locals or pure
expressions of locals the construct does not write (``flush_for``), exactly as across
a wrapped construct, so they keep their values whichever path reaches the next state.
The states are emitted in program order at the dispatch loop's indentation and put
in their leaves (re-indented) when the function is complete.
"""

from __future__ import annotations

from ..syntax.module import Instr
from .control import MAX_INDENT, ControlFlow, Ctl, PyLoop
from .exprs import name_val
from .structure import Construct

FLAT_HEIGHTS = (8, 3, 0)
"""Nesting bounds the translator tries in turn when a function does not fit Python's
limits: constructs whose subtree is deeper are flat. At 0 every block, loop and if is
flat, which always fits (only the dispatch tree nests, by log2 of the states)."""


class FlatFlow(ControlFlow):
    """The flat lowering (mixed into the Translator): the dispatch loop and the
    handlers of flat constructs, which fall back to :class:`.control.ControlFlow`
    for the others."""

    def init_flat(self) -> None:
        self.dispatch: Ctl | None = None
        """The synthetic loop construct of the dispatch loop (branches to flat
        labels ``continue`` it after setting ``q``)."""
        self.state_lines: dict[int, int] = {}
        """State -> index in the emitted lines where its code starts."""
        self.nstates = 0
        self.region_start = 0
        self.region_indent = 0
        self.state_region: dict[int, int] = {}
        """State -> the flat handler region its code is in (0: none; see
        :mod:`.flat_exc`)."""
        self.region_stack: list[int] = []
        """Open flat handler regions, innermost last."""
        self.guarded = False
        """The dispatch tree is inside one ``try:`` (the function has flat handlers)."""

    # ------------------------------------------------------------ the dispatch loop
    def open_dispatch(self) -> None:
        """Start the dispatch loop (and state 0) where the body begins."""
        nflat = self.st.flat
        tree_depth = max(1, (3 * nflat + 1).bit_length())
        self.guarded = self.st.flat_handlers > 0
        if self.guarded:
            tree_depth += 1  # the try: around the tree
            self.py_trys += 1
        self.indent_room = MAX_INDENT - tree_depth
        out = self.out
        out.emit("q = 0")
        self.dispatch = Ctl(Construct("loop", -1, len(self.body), 0, 0, None), 0,
                            self.new_label(), out.indent)
        self.open_loop(self.dispatch)
        self.region_start = out.mark()
        self.region_indent = out.indent
        self.start_state(self.new_state())

    def close_dispatch(self) -> None:
        """Arrange the states in the dispatch tree and close the loop."""
        assert self.dispatch is not None
        out = self.out
        lines, pcs = out.lines, out.pcs
        begin = self.region_start
        starts = sorted((at, s) for s, at in self.state_lines.items())
        spans: dict[int, tuple[int, int]] = {}
        for k, (at, s) in enumerate(starts):
            spans[s] = (at, starts[k + 1][0] if k + 1 < len(starts) else len(lines))
        new_lines: list[str] = []
        new_pcs: list[int] = []
        base = "    " * self.region_indent
        if self.guarded:
            new_lines.append(base + "try:")
            new_pcs.append(0)
            base += "    "

        shift = "    " if self.guarded else ""

        def leaf(s: int, depth: int) -> None:
            span = spans.get(s)
            pad = shift + "    " * depth
            if span is None or span[0] == span[1]:
                new_lines.append(base + "    " * depth
                                 + "raise AssertionError('no code in this state')")
                new_pcs.append(0)
                return
            lo, hi = span
            new_lines.extend(pad + line for line in lines[lo:hi])
            new_pcs.extend(pcs[lo:hi])

        # An explicit stack instead of recursion: (lo, hi, depth, part).
        todo: list[tuple[int, int, int, int]] = [(0, self.nstates, 0, 0)]
        while todo:
            lo, hi, depth, part = todo.pop()
            if hi - lo == 1:
                leaf(lo, depth)
                continue
            mid = (lo + hi) // 2
            pad = base + "    " * depth
            if part == 0:
                new_lines.append(f"{pad}if q < {mid}:")
                new_pcs.append(0)
                todo.append((lo, hi, depth, 1))
                todo.append((lo, mid, depth + 1, 0))
            else:
                new_lines.append(f"{pad}else:")
                new_pcs.append(0)
                todo.append((mid, hi, depth + 1, 0))
        if self.guarded:
            handler = self.dispatch_handler()
            new_lines.extend(("    " * self.region_indent) + line for line in handler)
            new_pcs.extend([0] * len(handler))
        lines[begin:] = new_lines
        pcs[begin:] = new_pcs
        self.close_loop(self.dispatch)

    def new_state(self) -> int:
        s = self.nstates
        self.nstates = s + 1
        return s

    def start_state(self, s: int) -> None:
        """Code emitted from here on belongs to state ``s`` (at the dispatch loop's
        indentation: a flat construct's boundary is never inside a Python block)."""
        assert self.out.indent == self.region_indent, "a state starts inside a Python block"
        self.state_lines[s] = self.out.mark()
        self.state_region[s] = self.region_stack[-1] if self.region_stack else 0

    def dispatch_handler(self) -> list[str]:
        """The ``except`` clause of the ``try:`` around the dispatch tree (lines
        indented from the dispatch loop's body; see :mod:`.flat_exc`)."""
        raise NotImplementedError

    def goto(self, s: int) -> None:
        """Leave the current state for state ``s`` (from any depth of Python loops)."""
        assert self.dispatch is not None
        self.out.emit(f"q = {s}")
        self.jump(self.dispatch)

    def state_of(self, target: Ctl) -> int:
        """The state a branch to flat construct ``target`` goes to."""
        c = target.c
        if c.kind == "loop":
            s = target.head_state
        else:
            s = target.end_state
            if s < 0:
                s = target.end_state = self.new_state()
        assert s >= 0, "a branch to a flat loop that has no header state"
        return s

    # ------------------------------------------------------------ branches
    def impl_loop(self, target: Ctl) -> PyLoop | None:
        if target is self.dispatch:
            return target.loop
        return super().impl_loop(target)

    def branch(self, target: Ctl, pc: int) -> None:
        c = target.c
        if c.impl != "flat":
            super().branch(target, pc)
            return
        n = c.nparams if c.kind == "loop" else c.nresults
        vals = self.stack[-n:] if n else []
        self.assign(target.slots(n), vals)
        if c.kind != "loop":
            target.reached = True
        self.goto(self.state_of(target))

    # ------------------------------------------------------------ flat constructs
    def do_block(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        if c.impl != "flat":
            return super().do_block(ins, pc)
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.stack.extend(params)
        self.enter(c, base)
        return pc + 1

    def do_loop(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        if c.impl != "flat":
            return super().do_loop(ins, pc)
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.flush_fuel()
        ctl = self.enter(c, base)
        if c.nparams:
            names = ctl.slots(c.nparams)
            self.assign(names, params)
            self.stack.extend(name_val(n, slot=base + i) for i, n in enumerate(names))
        if c.sources:  # continued by some branch: the header is a state
            s = ctl.head_state = self.new_state()
            self.goto(s)
            self.start_state(s)
        self.loop_checks()
        return pc + 1

    def do_if(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        if c.impl != "flat":
            return super().do_if(ins, pc)
        cond = self.pop()
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush(traps=True, effects=c.effects, writes=c.writes, slot_from=base)
        if cond.trap and any(p.trap for p in params):
            params = [self.materialize(p) if p.trap else p for p in params]
        self.flush_fuel()  # both ways leave or may leave this state
        ctl = self.enter(c, base)
        ctl.params = list(params)
        out = self.out
        out.emit(f"if not ({self.cond(cond)}):")
        out.indent += 1
        if c.else_ is not None:
            ctl.else_state = self.new_state()
            self.goto(ctl.else_state)
        else:
            # The implicit else passes the parameters through as results.
            self.assign(ctl.slots(c.nresults), params)
            ctl.reached = True
            self.goto(self.state_of(ctl))
        out.indent -= 1
        self.stack.extend(params)
        return pc + 1

    def do_else(self, ins: Instr, pc: int) -> int:
        ctl = self.ctls[-1]
        c = ctl.c
        if c.impl != "flat":
            return super().do_else(ins, pc)
        self.flush_fuel()
        if self.reachable:
            self.assign(ctl.slots(c.nresults), self.popn(c.nresults))
            ctl.reached = True
            self.goto(self.state_of(ctl))
        del self.stack[ctl.base :]
        self.start_state(ctl.else_state)
        ctl.in_else = True
        self.stack.extend(ctl.params)
        self.reachable = True
        return pc + 1

    def do_end(self, ins: Instr, pc: int) -> int:
        ctl = self.ctls[-1]
        c = ctl.c
        if c.impl != "flat":
            return super().do_end(ins, pc)
        self.flush_fuel()
        fall = self.reachable
        results = []
        if c.kind == "loop":
            # Reached by falling through only: results stay where they are.
            reachable = fall
            if fall:
                results = self.popn(c.nresults)
        elif ctl.reached:
            # Branches deliver results in slots: the fall-through must too.
            if fall:
                self.assign(ctl.slots(c.nresults), self.popn(c.nresults))
                self.goto(self.state_of(ctl))
            del self.stack[ctl.base :]
            self.start_state(self.state_of(ctl))
            reachable = True
            results = [name_val(n, slot=ctl.base + i) for i, n in enumerate(ctl.slots(c.nresults))]
        else:
            reachable = fall
            if fall:
                results = self.popn(c.nresults)
        self.ctls.pop()
        del self.open[c.start]
        del self.stack[ctl.base :]
        self.reachable = reachable
        if reachable:
            self.stack.extend(results)
        return pc + 1
