"""Exception instructions of the interp tier: throw, throw_ref and the legacy rethrow
(the control constructs are in :mod:`.exc_control`)."""

from __future__ import annotations

from ..syntax.module import Instr
from .translate import Translator, register


@register("throw")
def _throw(tr: Translator, ins: Instr) -> None:
    tagidx = ins[1]
    n = len(tr.tag_params(tagidx))
    vals = tr.popn(n)
    tr.flush(traps=True)
    # A payload value that may trap is evaluated before the fuel is stored, as for a
    # call's arguments: a trap sees the store's fuel as it was before the throw.
    vals = [tr.materialize(v) if v.trap else v for v in vals]
    codes = [tr.exact(v).code if v.width else v.code for v in vals]
    tr.sync_fuel()
    payload = f"({codes[0]},)" if n == 1 else f"({', '.join(codes)})"
    tr.out.emit(f"raise Thrown(ExnInst({tr.tag_name(tagidx)}, {payload}))")
    tr.mark_unreachable()


@register("throw_ref")
def _throw_ref(tr: Translator, ins: Instr) -> None:
    v = tr.pop()
    tr.flush(traps=True)
    if v.trap:
        v = tr.materialize(v)
    tr.sync_fuel()
    tr.out.emit(f"raise THROWREF({v.code})")
    tr.mark_unreachable()


@register("rethrow")
def _rethrow(tr: Translator, ins: Instr) -> None:
    target = tr.label(ins[1])
    tr.flush(traps=True)
    tr.sync_fuel()
    tr.out.emit(f"raise Thrown(x{target.c.start})")
    tr.mark_unreachable()
