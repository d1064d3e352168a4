"""Calls: direct, indirect, by reference, and tail calls.

A direct call is ``f<idx>(args)``: a global lookup and a plain Python call, with no
bookkeeping, so CPython inlines the frame (no C stack). Indirect calls check the
table bounds, null and the callee's canonical type inline and only fall back to a
helper for subtypes and host functions.

Tail calls: a function that tail-calls itself loops back to its start. Other tail
calls return a ``TailCall`` marker from the function's *body*; the function's entry
point runs the body in a trampoline loop, so mutual tail recursion runs in constant
Python stack.
"""

from __future__ import annotations

from ..syntax.module import Instr
from ..syntax.types import FuncType
from .exprs import Val
from .translate import Translator, _zero, register


def _width(t: object) -> int:
    return {"i32": 32, "i64": 64}.get(getattr(t, "name", ""), 0)


def _arg_codes(tr: Translator, args: list[Val]) -> list[str]:
    return [tr.exact(a).code if a.width else a.code for a in args]


def _emit_call(tr: Translator, call: str, ft: FuncType) -> None:
    """Emit the call statement and push its results (fuel is stored before the call
    by the caller of this function, and reloaded after it here)."""
    n = len(ft.results)
    if n == 0:
        tr.out.emit(call)
        tr.reload_fuel()
        return
    names = [tr.temp() for _ in range(n)]
    tr.out.emit(f"{', '.join(names)} = {call}")
    tr.reload_fuel()
    for name, t in zip(names, ft.results):
        w = _width(t)
        tr.stack.append(Val(name, simple=True, width=w, bits=w or 64))


def _prepare_args(tr: Translator, n: int) -> list[str]:
    """Pop ``n`` arguments; materialise what must run before the call sequence."""
    args = tr.popn(n)
    tr.flush(traps=True, effects=True)
    args = [tr.materialize(a) if a.trap else a for a in args]
    return _arg_codes(tr, args)


def _indirect_callable(tr: Translator, typeidx: int, table: int, index: Val) -> str:
    """Emit the table lookup and type check; returns the temp holding the callable.

    Fuel is stored first: in wasmtime a trap of the lookup sees the call counted."""
    i = tr.simple(index)
    tr.sync_fuel()
    canon = tr.art.canon(typeidx)
    fn = tr.temp()
    t = f"T{table}"
    tr.out.emit(f"{fn} = {t}[{i.code}] if {i.code} < len({t}) else UNDEFINED()")
    tr.out.emit(
        f"{fn} = {fn}.call if {fn} is not None and {fn}.canon == {canon!r} and not {fn}.host "
        f"else ICALL({fn}, {canon!r}, INST)"
    )
    return fn


def _ref_callable(tr: Translator, ref: Val) -> str:
    r = tr.simple(ref)
    tr.sync_fuel()
    fn = tr.temp()
    tr.out.emit(f"{fn} = {r.code}.call if {r.code} is not None and not {r.code}.host "
                f"else RCALL({r.code}, INST)")
    return fn


def _counts_depth(tr: Translator, f: int) -> bool:
    """Whether a direct call to ``f`` passes the depth budget: ``f`` may recurse, or
    is an import (perhaps another instance's function: cross-instance recursion)."""
    if not tr.frames:
        return False  # no depth budget: nothing to pass (and no call graph to build)
    return f < tr.art.num_imported or f in tr.art.recursive


@register("call")
def _call(tr: Translator, ins: Instr) -> None:
    f = ins[1]
    ft = tr.art.func_types[f]
    codes = _prepare_args(tr, len(ft.params)) + tr.budget_arg(_counts_depth(tr, f))
    tr.sync_fuel()
    tr.callees.add(f)
    _emit_call(tr, f"f{f}({', '.join(codes)})", ft)


@register("call_indirect")
def _call_indirect(tr: Translator, ins: Instr) -> None:
    typeidx, table = ins[1], ins[2]
    ft = tr.art.module.functype(typeidx)
    index = tr.exact(tr.pop())
    codes = _prepare_args(tr, len(ft.params)) + tr.budget_arg(True)
    fn = _indirect_callable(tr, typeidx, table, index)
    _emit_call(tr, f"{fn}({', '.join(codes)})", ft)


@register("call_ref")
def _call_ref(tr: Translator, ins: Instr) -> None:
    ft = tr.art.module.functype(ins[1])
    ref = tr.pop()
    codes = _prepare_args(tr, len(ft.params)) + tr.budget_arg(True)
    fn = _ref_callable(tr, ref)
    _emit_call(tr, f"{fn}({', '.join(codes)})", ft)


def _tail(tr: Translator, callee: str, codes: list[str], synced: bool = False) -> None:
    """Return a TailCall marker; the callee replaces this frame, so it gets ``dp``
    (``synced``: the fuel was stored already, before an indirect lookup)."""
    if tr.frames:
        codes = [*codes, "dp"]
    args = ", ".join(codes) + ("," if len(codes) == 1 else "")
    if not synced:
        tr.sync_fuel()
    tr.out.emit(f"return TailCall(({callee}, ({args})))")
    tr.mark_unreachable()


@register("return_call")
def _return_call(tr: Translator, ins: Instr) -> None:
    f = ins[1]
    ft = tr.art.func_types[f]
    if f == tr.funcidx and tr.top is not None:
        args = tr.popn(len(ft.params))
        tr.flush(traps=True)
        tr.assign([f"l{i}" for i in range(tr.nparams)], args)
        zeros: dict[str, list[str]] = {}
        for i, t in enumerate(tr.local_types[tr.nparams :], tr.nparams):
            zeros.setdefault(_zero(t), []).append(f"l{i}")
        for zero, names in zeros.items():
            tr.out.emit(f"{' = '.join(names)} = {zero}")
        tr.sync_fuel()  # the prologue at the top of the loop loads it again
        tr.jump(tr.top)
        tr.mark_unreachable()
        return
    codes = _prepare_args(tr, len(ft.params))
    defined = f >= tr.art.num_imported
    if defined and tr.art.makes_tail_calls(f):
        tr.tail_targets.add(f)
        callee = f"b{f}"
    else:
        tr.callees.add(f)
        callee = f"f{f}"
    _tail(tr, callee, codes)


@register("return_call_indirect")
def _return_call_indirect(tr: Translator, ins: Instr) -> None:
    typeidx, table = ins[1], ins[2]
    ft = tr.art.module.functype(typeidx)
    index = tr.exact(tr.pop())
    codes = _prepare_args(tr, len(ft.params))
    fn = _indirect_callable(tr, typeidx, table, index)
    _tail(tr, f"TAILBODY({fn})", codes, synced=True)


@register("return_call_ref")
def _return_call_ref(tr: Translator, ins: Instr) -> None:
    ft = tr.art.module.functype(ins[1])
    ref = tr.pop()
    codes = _prepare_args(tr, len(ft.params))
    fn = _ref_callable(tr, ref)
    _tail(tr, f"TAILBODY({fn})", codes, synced=True)
