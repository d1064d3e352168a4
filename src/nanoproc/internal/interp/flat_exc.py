"""Flat handlers: try_table and legacy try as regions of the dispatch loop's states.

A handler kept as Python code is a ``try:`` statement, and CPython allows 20
statically nested blocks, so handlers nested around deep control flow cannot be
lowered lexically (CPython-for-WASI has such functions). In the flat lowering
(:mod:`.flat`) a flat handler is no Python statement at all:

* entering it starts a new state, and every state records the innermost flat handler
  *region* its code is in (a static table, ``state -> region``); its ``end`` (and a
  legacy try's first ``catch``) starts a new state in the enclosing region;
* the dispatch tree is wrapped in ONE ``try: ... except Thrown as ex:``; the except
  clause reads the region of the state that was running (``q``: a state sets it
  before it runs and keeps it), then tries that region's catch clauses in order,
  then the enclosing region's, and so on, and re-raises when none matches::

      except Thrown as ex:
          fu = ST.fuel                      # as after any call
          hr = (0, 1, 1, 2, 0, ...)[q]      # the running state's region
          if hr < 2:
              x12 = ex.exn                  # region 1: a try_table
              if x12.tag is X0:
                  t7 = x12.payload[0]
                  s3 = t7                   # the catch label's slot
                  q = 9                     # the label's state
                  continue
              raise
          ...

A try_table's catch clauses branch to their label exactly as a branch does (slots,
then the label's state, or a return for the function's label). A legacy try's catch
and catch_all arms are states of the enclosing region, entered from the except clause
with the payload in temporaries (``rethrow`` re-raises ``x<start>``, as in
:mod:`.exc_control`); ``delegate`` keeps the lexical lowering's ``dg`` protocol: a
region checks ``dg`` before handling and a delegating region sets it. The region
code runs inside the except clause, so a re-raise keeps the exception's traceback
(trap frames, uncaught-exception frames) as the lexical lowering does.

Flat and lexical handlers nest freely: a lexical one sits inside a state (its code
is the usual ``try:``), and what it lets pass reaches the dispatch loop's clause.
"""

from __future__ import annotations

from ..syntax.module import Instr
from .control import Ctl
from .emitter import Emitter
from .exc_control import ExcFlow
from .exprs import Val, name_val
from .flat import FlatFlow
from .structure import Construct


class Region:
    """One flat handler's region of states."""

    __slots__ = ("id", "c", "parent", "clauses", "delegate_to", "catch_all")

    def __init__(self, rid: int, c: Construct, parent: int) -> None:
        self.id = rid
        self.c = c
        self.parent = parent
        """Id of the enclosing region (0: none, the exception leaves the function)."""
        self.clauses: list[str] = []
        """Lines (indented from the region's code) testing the tag and jumping."""
        self.delegate_to: int | None = None
        """For ``try ... delegate``: the value ``dg`` gets (the target's start + 1, or
        -1 for the caller)."""
        self.catch_all = False
        """A clause catches every exception (nothing after it runs)."""


class FlatExcFlow(ExcFlow, FlatFlow):
    """Flat try_table/try (mixed into the Translator); lexical ones go to
    :class:`.exc_control.ExcFlow`."""

    def init_flat(self) -> None:
        super().init_flat()
        self.regions: list[Region] = []
        """Regions by id - 1."""
        self.region_at: dict[int, Region] = {}
        """Handler start index -> its region."""

    # ------------------------------------------------------------ entering
    def open_region(self, c: Construct) -> Region:
        """Start the handler's region: its body is a new state of it."""
        parent = self.region_stack[-1] if self.region_stack else 0
        r = Region(len(self.regions) + 1, c, parent)
        self.regions.append(r)
        self.region_at[c.start] = r
        self.region_stack.append(r.id)
        s = self.new_state()
        self.goto(s)
        self.start_state(s)
        return r

    def flat_entry(self, c: Construct) -> int:
        """What entering a flat handler does before its region: the operands the
        body may disturb are evaluated, the fuel is paid. Returns the base."""
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.flush_fuel()
        self.stack.extend(params)
        return base

    def do_try_table(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        if c.impl != "flat":
            return super().do_try_table(ins, pc)
        base = self.flat_entry(c)
        clauses, catch_all = self.catch_code(c)  # labels count from outside
        self.enter(c, base)
        r = self.open_region(c)
        r.clauses = clauses
        r.catch_all = catch_all
        return pc + 1

    def do_try(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        if c.impl != "flat":
            return super().do_try(ins, pc)
        base = self.flat_entry(c)
        self.enter(c, base)
        self.open_region(c)
        return pc + 1

    def catch_code(self, c: Construct) -> tuple[list[str], bool]:
        """The clauses of try_table ``c``: tag tests, each branching to its label with
        the payload (and the exception for the ``_ref`` forms) as a branch would."""
        saved = (self.out, self.stack, self.reachable, self.fuel_pending)
        out = self.out = Emitter()
        out.indent = 0
        out.pc = c.start
        self.fuel_pending = 0
        x = f"x{c.start}"
        catch_all = False
        try:
            for cat in self.body[c.start][2]:
                self.stack = []
                self.reachable = True
                if cat.tag is not None:
                    out.emit(f"if {x}.tag is {self.tag_name(cat.tag)}:")
                    out.indent += 1
                self.unpack_payload(x, cat.tag, out.emit)
                if cat.kind.endswith("_ref"):
                    self.stack.append(Val(x, simple=True))
                self.branch(self.label(cat.label), c.start)
                if cat.tag is None:
                    catch_all = True
                    break
                out.indent -= 1
            return out.lines, catch_all
        finally:
            self.out, self.stack, self.reachable, self.fuel_pending = saved

    # ------------------------------------------------------------ legacy handlers
    def do_catch(self, ins: Instr, pc: int) -> int:
        ctl = self.ctls[-1]
        c = ctl.c
        if c.impl != "flat":
            return super().do_catch(ins, pc)
        self.leave_arm(ctl)
        r = self.region_at[c.start]
        if not ctl.in_else:  # the body (the region) ends here
            self.region_stack.pop()
            ctl.in_else = True
        del self.stack[ctl.base :]
        arm = self.new_state()
        x = f"x{c.start}"
        lines = r.clauses
        pad = ""
        if ins[0].name == "catch":
            lines.append(f"if {x}.tag is {self.tag_name(ins[1])}:")
            pad = "    "
            self.unpack_payload(x, ins[1], lambda line: lines.append(pad + line))
        else:
            r.catch_all = True
        lines.append(f"{pad}q = {arm}")
        lines.append(f"{pad}continue")
        self.start_state(arm)
        self.reachable = True
        return pc + 1

    def leave_arm(self, ctl: Ctl) -> None:
        """The end of a flat handler's body or arm: results into its slots, on to
        its end state."""
        c = ctl.c
        self.flush_fuel()
        if self.reachable:
            self.assign(ctl.slots(c.nresults), self.popn(c.nresults))
            ctl.reached = True
            self.goto(self.state_of(ctl))

    def do_handler_end(self, ctl: Ctl, pc: int, delegate: int | None = None) -> int:
        c = ctl.c
        if c.impl != "flat":
            return super().do_handler_end(ctl, pc, delegate)
        self.leave_arm(ctl)
        if not ctl.in_else:  # a try_table, or a legacy try without handlers
            self.region_stack.pop()
        if delegate is not None:
            target = self.st.delegate_target(c.start)
            self.region_at[c.start].delegate_to = target.start + 1 if target is not None else -1
        self.ctls.pop()
        del self.open[c.start]
        del self.stack[ctl.base :]
        self.reachable = ctl.reached
        if ctl.reached:
            self.start_state(self.state_of(ctl))
            self.stack.extend(name_val(n, slot=ctl.base + i)
                              for i, n in enumerate(ctl.slots(c.nresults)))
        return pc + 1

    # ------------------------------------------------------------ the except clause
    def region_lines(self, r: Region) -> tuple[list[str], bool]:
        """Region ``r``'s part of the except clause, and whether it always jumps."""
        c = r.c
        body: list[str] = []
        if r.delegate_to is not None:
            body.append(f"dg = {r.delegate_to}")
        else:
            if self.st.delegates:
                body.append("dg = 0")
            if r.clauses:
                body.append(f"x{c.start} = ex.exn")
                body.extend(r.clauses)
        if self.st.delegates:
            return [f"if not dg or dg == {c.start + 1}:", *("    " + line for line in body)], False
        return body, r.catch_all

    def dispatch_handler(self) -> list[str]:
        regions = self.regions
        chains: dict[int, list[str]] = {0: ["raise"]}
        parts = [self.region_lines(r) for r in regions]
        for r in regions:
            lines: list[str] = []
            k = r.id
            while k:
                part, jumps = parts[k - 1]
                lines.extend(part)
                if jumps:
                    break
                k = regions[k - 1].parent
            else:
                lines.append("raise")
            chains[r.id] = lines
        head = ["except Thrown as ex:"]
        head += ("    " + line for line in self.reload_lines())  # as after any call
        table = tuple(self.state_region.get(s, 0) for s in range(self.nstates))
        head.append(f"    hr = {table!r}[q]")
        out = head

        def tree(lo: int, hi: int, pad: str) -> None:
            if hi - lo == 1:
                out.extend(pad + line for line in chains[lo])
                return
            mid = (lo + hi) // 2
            out.append(f"{pad}if hr < {mid}:")
            tree(lo, mid, pad + "    ")
            out.append(f"{pad}else:")
            tree(mid, hi, pad + "    ")

        tree(0, len(regions) + 1, "    ")
        return out
