"""Exception handling constructs: try_table and the legacy try/catch/catch_all/delegate,
lowered to Python's own exceptions (the instructions are in :mod:`.ops_exc`).

A Wasm exception unwinds Python frames as :class:`..exec.exceptions.Thrown`. A
``try_table`` becomes ``try:`` around its body (and around the body's loop, when
branches leave it) with one ``except Thrown`` clause that compares the exception's
tag with each catch clause's in turn and branches to the clause's label with the
payload (and the exception, for the ``_ref`` forms), or re-raises. A legacy ``try``
becomes ``try:`` too, its loop (if any) outside it, and its catch handlers run
inside the ``except`` clause, where ``rethrow`` re-raises the caught exception.

``delegate l`` hands the exception to the handlers of an outer construct: the
handlers in between must let it pass. Functions with a delegate keep the target's
id in the local ``dg`` while the exception travels there; every handler of such a
function re-raises when ``dg`` names another handler, and clears it when it is its
own (or the exception leaves the function, and ``dg`` with it).

Python allows 20 statically nested blocks: a ``try`` counts as one, like a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import UnsupportedFeature
from ..syntax.module import Instr
from ..syntax.types import I32, I64
from .control import CONTROL, MAX_PY_LOOPS, ControlFlow, Ctl
from .exprs import Val, name_val

if TYPE_CHECKING:
    from .artifact import ModuleArtifact
    from .structure import Construct


def _payload_vals(tr: ControlFlow, names: list[str], params: tuple[object, ...]) -> list[Val]:
    out = []
    for name, t in zip(names, params):
        w = 32 if t is I32 else 64 if t is I64 else 0
        out.append(Val(name, simple=True, width=w, bits=w or 64))
    return out


class ExcFlow(ControlFlow):
    """The exception-handling part of the translator (mixed into Translator)."""

    art: ModuleArtifact

    def tag_name(self, tagidx: int) -> str:
        return f"X{tagidx}"

    def tag_params(self, tagidx: int) -> tuple[object, ...]:
        mod = self.art.module
        return tuple(mod.functype(mod.tag_types()[tagidx].typeidx).params)

    def unpack_payload(self, x: str, tagidx: int | None, emit: Callable[[str], object]) -> None:
        """Emit (through ``emit``) the unpacking of exception ``x``'s payload for a
        clause catching ``tagidx`` (None: catch_all, no payload) into temporaries, and
        push them."""
        params = self.tag_params(tagidx) if tagidx is not None else ()
        if not params:
            return
        names = [self.temp() for _ in params]
        if len(names) == 1:
            emit(f"{names[0]} = {x}.payload[0]")
        else:
            emit(f"{', '.join(names)} = {x}.payload")
        self.stack.extend(_payload_vals(self, names, params))

    # ------------------------------------------------------------ entering
    def open_try(self, ctl_kind: str) -> None:
        if len(self.loops) + self.py_trys >= MAX_PY_LOOPS:
            raise UnsupportedFeature(
                "deeply nested control flow", "more nested blocks than Python allows"
            )
        self.out.emit("try:")
        self.out.indent += 1
        self.check_indent()
        self.py_trys += 1

    def do_try_table(self, ins: Instr, pc: int) -> int:
        c = self.st.at[pc]
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.flush_fuel()
        self.stack.extend(params)
        self.open_try("try_table")
        ctl = self.enter(c, base)
        ctl.mark = self.out.mark()
        if c.impl == "wrap":
            self.open_loop(ctl)
        return pc + 1

    def do_try(self, ins: Instr, pc: int) -> int:
        """Legacy ``try``: its loop (when branches target it) encloses the ``try:``."""
        c = self.st.at[pc]
        base = len(self.stack) - c.nparams
        params = self.popn(c.nparams)
        self.flush_for(c, base)
        self.flush_fuel()
        self.stack.extend(params)
        ctl = self.enter(c, base)
        if c.impl == "wrap":
            self.open_loop(ctl)
        self.open_try("try")
        ctl.mark = self.out.mark()
        ctl.params = list(params)
        return pc + 1

    # ------------------------------------------------------------ handlers
    def handler_head(self, c: Construct, var: str) -> None:
        """``except Thrown as var:``, and the delegate check (see module docstring)."""
        out = self.out
        out.emit(f"except Thrown as {var}:")
        out.indent += 1
        if self.st.delegates:
            out.emit(f"if dg and dg != {c.start + 1}: raise")
            out.emit("dg = 0")
        self.reload_fuel()

    def end_try_table(self, ctl: Ctl) -> None:
        """Emit the ``except`` clause of a try_table whose body was just closed (the
        try_table's label is no longer on the label stack)."""
        c = ctl.c
        out = self.out
        if out.lines_since(ctl.mark) == 0:
            out.emit("pass")
        out.indent -= 1
        e = f"e{c.start}"
        x = f"x{c.start}"
        self.handler_head(c, e)
        out.emit(f"{x} = {e}.exn")
        catches = self.body[c.start][2]
        saved = list(self.stack)
        was = self.reachable
        first = True
        for cat in catches:
            self.reachable = True
            if cat.tag is not None:
                out.emit(f"{'if' if first else 'elif'} {x}.tag is {self.tag_name(cat.tag)}:")
            else:
                out.emit("else:" if not first else "if True:")
            first = False
            out.indent += 1
            self.unpack_payload(x, cat.tag, out.emit)
            if cat.kind.endswith("_ref"):
                self.stack.append(Val(x, simple=True))
            self.branch(self.label(cat.label), c.start)
            self.stack = list(saved)
            out.indent -= 1
            if cat.tag is None:
                break
        else:
            if not first:
                out.emit("else:")
                out.indent += 1
            out.emit("raise")
            if not first:
                out.indent -= 1
        out.indent -= 1
        self.reachable = was
        self.py_trys -= 1

    def finish_try(self, ctl: Ctl, reached: bool, pc: int) -> int:
        """Close a legacy try after its handlers (or delegate clause)."""
        c = ctl.c
        self.py_trys -= 1
        if ctl.loop is not None:
            self.close_loop(ctl)
        self.ctls.pop()
        del self.open[c.start]
        del self.stack[ctl.base :]
        self.reachable = reached
        if reached:
            self.stack.extend(
                name_val(n, slot=ctl.base + i) for i, n in enumerate(ctl.slots(c.nresults))
            )
        return pc + 1

    def do_catch(self, ins: Instr, pc: int) -> int:
        """A legacy ``catch``/``catch_all``: ends the try body (or previous handler)."""
        ctl = self.ctls[-1]
        c = ctl.c
        out = self.out
        self.flush_fuel()
        if self.reachable:
            vals = self.popn(c.nresults)
            self.assign(ctl.slots(c.nresults), vals)
            ctl.reached = True
        if out.lines_since(ctl.mark) == 0:
            out.emit("pass")
        out.indent -= 1
        x = f"x{c.start}"
        if not ctl.in_else:
            # first handler: the except clause
            self.handler_head(c, f"e{c.start}")
            out.emit(f"{x} = e{c.start}.exn")
            ctl.in_else = True
            first = True
        else:
            first = False
        del self.stack[ctl.base :]
        name = ins[0].name
        if name == "catch":
            out.emit(f"{'if' if first else 'elif'} {x}.tag is {self.tag_name(ins[1])}:")
        else:
            out.emit("else:" if not first else "if True:")
        out.indent += 1
        ctl.mark = out.mark()
        if name == "catch":
            self.unpack_payload(x, ins[1], out.emit)
        else:
            ctl.k = 1  # a catch_all was seen: no implicit re-raise
        self.reachable = True
        return pc + 1

    def end_try(self, ctl: Ctl) -> bool:
        """The ``end`` of a legacy try (after its body or its last handler). Returns
        whether the end is reachable."""
        c = ctl.c
        out = self.out
        if self.reachable:
            vals = self.popn(c.nresults)
            self.assign(ctl.slots(c.nresults), vals)
            ctl.reached = True
        if out.lines_since(ctl.mark) == 0:
            out.emit("pass")
        out.indent -= 1
        if not ctl.in_else:
            # no handler at all: the exception passes (after the delegate check)
            self.handler_head(c, f"e{c.start}")
            out.emit("raise")
            out.indent -= 1
        else:
            if not ctl.k:
                out.emit("else:")
                out.indent += 1
                out.emit("raise")
                out.indent -= 1
            out.indent -= 1
        return ctl.reached

    def do_handler_end(self, ctl: Ctl, pc: int, delegate: int | None = None) -> int:
        """The ``end`` (or ``delegate``, with its label) of a legacy try."""
        self.flush_fuel()
        if delegate is not None:
            return self.finish_try(ctl, self.end_delegate(ctl, delegate), pc)
        return self.finish_try(ctl, self.end_try(ctl), pc)

    def end_delegate(self, ctl: Ctl, label: int) -> bool:
        """``delegate label``: the body's exceptions go to the handler of an outer
        construct; the handlers in between let them pass (``dg``)."""
        c = ctl.c
        out = self.out
        if self.reachable:
            vals = self.popn(c.nresults)
            self.assign(ctl.slots(c.nresults), vals)
            ctl.reached = True
        if out.lines_since(ctl.mark) == 0:
            out.emit("pass")
        out.indent -= 1
        target = self.st.delegate_target(c.start)
        self.handler_head(c, f"e{c.start}")
        out.emit(f"dg = {target.start + 1 if target is not None else -1}")
        out.emit("raise")
        out.indent -= 1
        return ctl.reached


def _try_table(tr: ControlFlow, ins: Instr, pc: int) -> int:
    assert isinstance(tr, ExcFlow)
    return tr.do_try_table(ins, pc)


def _try(tr: ControlFlow, ins: Instr, pc: int) -> int:
    assert isinstance(tr, ExcFlow)
    return tr.do_try(ins, pc)


def _catch(tr: ControlFlow, ins: Instr, pc: int) -> int:
    assert isinstance(tr, ExcFlow)
    return tr.do_catch(ins, pc)


_plain_end = CONTROL["end"]


def _end(tr: ControlFlow, ins: Instr, pc: int) -> int:
    ctl = tr.ctls[-1]
    kind = ctl.c.kind
    if kind == "try" or (kind == "try_table" and ctl.c.impl == "flat"):
        assert isinstance(tr, ExcFlow)
        return tr.do_handler_end(ctl, pc)
    nxt = _plain_end(tr, ins, pc)
    if kind == "try_table":
        assert isinstance(tr, ExcFlow)
        # the handlers branch from the try_table's start: the stack below it
        after = tr.stack
        reachable = tr.reachable
        tr.stack = after[: ctl.base]
        tr.end_try_table(ctl)
        tr.stack = after
        tr.reachable = reachable
    return nxt


def _delegate(tr: ControlFlow, ins: Instr, pc: int) -> int:
    assert isinstance(tr, ExcFlow)
    return tr.do_handler_end(tr.ctls[-1], pc, ins[1])


CONTROL["try_table"] = _try_table
CONTROL["try"] = _try
CONTROL["catch"] = _catch
CONTROL["catch_all"] = _catch
CONTROL["delegate"] = _delegate
CONTROL["end"] = _end
