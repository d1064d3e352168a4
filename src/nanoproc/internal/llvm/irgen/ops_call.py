"""Calls: direct, imported, indirect, by reference, and their tail-call forms.

Every Wasm function has the same native convention, ``tailcc RET f(ptr ctx,
params...)``: a defined function gets its own instance's vmctx, an imported one or
a funcref target gets the ``ctx`` of its FuncRecord (another instance's vmctx, or a
host function's context). ``tailcc`` makes LLVM guarantee that calls marked
``tail`` reuse the caller's frame, whatever the callee's signature, so
``return_call*`` runs mutual recursion in constant stack.

Before calling something that may be a host function (an import, an indirect or a
reference call) the caller stores its vmctx in StoreCtx.caller: host functions
that take a Caller need to know which instance called them.
"""

from __future__ import annotations

from ...syntax.module import Instr
from ...syntax.types import FuncType
from .. import abi
from .function import INVARIANT, TBAA_CTX, FunctionGen, handler
from .metering import reload_fuel, store_fuel
from .ops_memory import to_i64
from .ops_vars import table_bounds, table_entry
from .types import huge_shape, is_wide, lltype, ret_type, shape_of


def _signature(ft: FuncType) -> tuple[str, list[str]]:
    return ret_type(shape_of(ft)[1]), [lltype(t) for t in ft.results]


def _args(g: FunctionGen, ft: FuncType) -> str:
    vals = g.popn(len(ft.params))
    return "".join(f", {t} {v}" for t, v in vals)


def _record_target(g: FunctionGen, rec: str, invariant: bool) -> tuple[str, str]:
    inv = f", !invariant.load {INVARIANT}" if invariant else ""
    code = g.value(f"load ptr, ptr {rec}, align 8, !tbaa {TBAA_CTX}{inv}")
    ctxp = g.field_ptr(rec, abi.REC_CTX)
    ctx = g.value(f"load ptr, ptr {ctxp}, align 8, !tbaa {TBAA_CTX}{inv}")
    return code, ctx


def _call(g: FunctionGen, callee: str, ctx: str, ft: FuncType, args: str, tail: bool) -> None:
    """The call itself (the fuel counter was stored before it: the callee continues
    from it) and its results (the counter reloaded after it)."""
    ret, results = _signature(ft)
    if huge_shape(shape_of(ft)):
        g.huge = True
    if is_wide(shape_of(ft)[1]):
        # Results through memory: a tail call hands on this function's own buffer
        # (validation made its results the callee's).
        buf = "%out" if tail else g.result_buffer(results)
        call = f"call tailcc void {callee}(ptr {ctx}, ptr {buf}{args})"
        g.emit(f"tail {call}" if tail else call)
        if tail:
            g.emit("ret void")
            g.mark_dead()
            return
        g.stackmap()
        reload_fuel(g)
        g.push_results(buf, results)
        return
    call = f"call tailcc {ret} {callee}(ptr {ctx}{args})"
    if tail:
        if g.has_regions:
            g.leave_regions(None)  # this frame's handlers go with it
        if ret == "void":
            g.emit(f"tail {call}")
            g.emit("ret void")
        else:
            r = g.value(f"tail {call}")
            g.emit(f"ret {ret} {r}")
        g.mark_dead()
        return
    if ret == "void":
        g.emit(call)
        g.stackmap()
        reload_fuel(g)
    else:
        r = g.value(call)
        g.stackmap()
        reload_fuel(g)
        g.push_results(r, results)


def _direct(g: FunctionGen, ins: Instr, tail: bool) -> None:
    f = ins[1]
    ft = g.info.func_types[f]
    args = _args(g, ft)
    store_fuel(g)
    if not g.info.direct(f):  # an import, or a function outside a partial unit
        code, ctx = _record_target(g, g.func_record(f), invariant=True)
        g.set_caller()
        _call(g, code, ctx, ft, args, tail)
    else:
        g.calls.add(f)
        _call(g, "@" + g.info.func_symbol(f), "%vmctx", ft, args, tail)


def _indirect(g: FunctionGen, ins: Instr, tail: bool) -> None:
    typeidx, t = ins[1], ins[2]
    ft = g.info.module.functype(typeidx)
    ti, i = g.stack.pop()
    args = _args(g, ft)
    store_fuel(g)  # a trap of the lookup sees the call counted, as in wasmtime
    cell, idx = table_bounds(g, t, to_i64(g, ti, i), abi.TRAP_UNDEFINED_ELEMENT)
    rec = table_entry(g, cell, idx)
    nonnull = g.value(f"icmp ne ptr {rec}, null")
    g.trap_unless(nonnull, abi.TRAP_INDIRECT_NULL)
    have = g.load_field("i64", rec, abi.REC_TYPE, invariant=True)
    want = g.type_id(typeidx)
    same = g.value(f"icmp eq i64 {have}, {want}")
    ok_label = g.new_label()
    sub_label = g.new_label()
    g.emit(f"br i1 {same}, label %{ok_label}, label %{sub_label}")
    g.start(sub_label)
    sub = g.call_helper(abi.H_SUBTYPE, have, want)
    is_sub = g.value(f"icmp ne i64 {sub}, 0")
    g.trap_unless(is_sub, abi.TRAP_BAD_SIGNATURE)
    g.emit(f"br label %{ok_label}")
    g.start(ok_label)
    code, ctx = _record_target(g, rec, invariant=True)
    g.set_caller()
    _call(g, code, ctx, ft, args, tail)


def _by_ref(g: FunctionGen, ins: Instr, tail: bool) -> None:
    ft = g.info.module.functype(ins[1])
    _, ref = g.stack.pop()
    args = _args(g, ft)
    store_fuel(g)
    nonnull = g.value(f"icmp ne ptr {ref}, null")
    g.trap_unless(nonnull, abi.TRAP_NULL_FUNCTION)
    code, ctx = _record_target(g, ref, invariant=True)
    g.set_caller()
    _call(g, code, ctx, ft, args, tail)


@handler("call")
def _h_call(g: FunctionGen, ins: Instr) -> None:
    _direct(g, ins, False)


@handler("return_call")
def _h_return_call(g: FunctionGen, ins: Instr) -> None:
    _direct(g, ins, True)


@handler("call_indirect")
def _h_call_indirect(g: FunctionGen, ins: Instr) -> None:
    _indirect(g, ins, False)


@handler("return_call_indirect")
def _h_return_call_indirect(g: FunctionGen, ins: Instr) -> None:
    _indirect(g, ins, True)


@handler("call_ref")
def _h_call_ref(g: FunctionGen, ins: Instr) -> None:
    _by_ref(g, ins, False)


@handler("return_call_ref")
def _h_return_call_ref(g: FunctionGen, ins: Instr) -> None:
    _by_ref(g, ins, True)
