"""Typing rules: control, calls, exceptions, parametric and variable instructions."""

from __future__ import annotations

from typing import Any

from ..syntax.module import Instr
from ..syntax.types import EXNREF, FUNCREF, I32, NumType, RefType, ValType
from .context import Invalid
from .stack import Checker, rule
from .subtyping import BOT, match_results, match_valtype

_EXN = RefType(False, "exn")


def block_type(v: Checker, bt: Any) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    """``[params] -> [results]`` of a block type, canonical."""
    if bt is None:
        return (), ()
    if isinstance(bt, int) and not isinstance(bt, bool):
        ft = v.ctx.functype(bt)
        return ft.params, ft.results
    return (), (v.ctx.val(bt),)


# ---------------------------------------------------------------- control
@rule("unreachable")
def _unreachable(v: Checker, ins: Instr) -> None:
    v.unreachable()


@rule("block", "loop")
def _block(v: Checker, ins: Instr) -> None:
    if ins[1] is None:
        v.push_ctrl(ins[0].name, (), ())
        return
    params, results = block_type(v, ins[1])
    v.pop_vals(params)
    v.push_ctrl(ins[0].name, params, results)


@rule("if")
def _if(v: Checker, ins: Instr) -> None:
    params, results = block_type(v, ins[1])
    v.pop(I32)
    v.pop_vals(params)
    v.push_ctrl("if", params, results)


@rule("else")
def _else(v: Checker, ins: Instr) -> None:
    frame = v.ctrls[-1]
    if frame.kind != "if":
        raise Invalid("else without matching if")
    v.pop_ctrl()
    v.push_ctrl("else", frame.start, frame.end)


@rule("end")
def _end(v: Checker, ins: Instr) -> None:
    if len(v.ctrls) == 1:
        raise Invalid("unexpected end: no open block")
    frame = v.pop_ctrl()
    if frame.kind == "if" and not match_results(frame.start, frame.end):
        # The missing else passes the block's parameters through unchanged.
        raise Invalid("type mismatch: if without else must have matching parameters and results")
    v.push_vals(frame.end)


@rule("try_table")
def _try_table(v: Checker, ins: Instr) -> None:
    params, results = block_type(v, ins[1])
    for c in ins[2]:
        labels = v.label(c.label)
        if c.kind in ("catch", "catch_ref"):
            carried: tuple[Any, ...] = v.ctx.tag(c.tag).params
            if c.kind == "catch_ref":
                carried = carried + (_EXN,)
        elif c.kind == "catch_all":
            carried = ()
        elif c.kind == "catch_all_ref":
            carried = (_EXN,)
        else:
            raise Invalid(f"invalid catch clause {c.kind!r}")
        if not match_results(carried, labels):
            raise Invalid(f"type mismatch: {c.kind} clause does not match its label's types")
    v.pop_vals(params)
    v.push_ctrl("try_table", params, results)


@rule("br")
def _br(v: Checker, ins: Instr) -> None:
    v.pop_vals(v.label(ins[1]))
    v.unreachable()


@rule("br_if")
def _br_if(v: Checker, ins: Instr) -> None:
    labels = v.label(ins[1])
    vals = v.vals
    if not labels and vals[-1] is I32:
        vals.pop()
        return
    v.pop(I32)
    v.pop_vals(labels)
    v.push_vals(labels)


@rule("br_table")
def _br_table(v: Checker, ins: Instr) -> None:
    default = v.label(ins[2])
    v.pop(I32)
    arity = len(default)
    for depth in ins[1]:
        labels = v.label(depth)
        if len(labels) != arity:
            raise Invalid("type mismatch: br_table targets have different arities")
        v.push_vals(v.pop_vals(labels))
    v.pop_vals(default)
    v.unreachable()


@rule("return")
def _return(v: Checker, ins: Instr) -> None:
    v.pop_vals(v.results)
    v.unreachable()


@rule("throw")
def _throw(v: Checker, ins: Instr) -> None:
    v.pop_vals(v.ctx.tag(ins[1]).params)
    v.unreachable()


@rule("throw_ref")
def _throw_ref(v: Checker, ins: Instr) -> None:
    v.pop(EXNREF)
    v.unreachable()


# ---------------------------------------------------------------- legacy exceptions
@rule("try")
def _try(v: Checker, ins: Instr) -> None:
    params, results = block_type(v, ins[1])
    v.pop_vals(params)
    v.push_ctrl("try", params, results)


@rule("catch", "catch_all")
def _catch(v: Checker, ins: Instr) -> None:
    frame = v.ctrls[-1]
    if frame.kind not in ("try", "catch"):
        raise Invalid(f"{ins[0].name} without matching try")
    v.pop_ctrl()
    name = ins[0].name
    v.push_ctrl(name, frame.start, frame.end)
    if name == "catch":
        v.push_vals(v.ctx.tag(ins[1]).params)


@rule("delegate")
def _delegate(v: Checker, ins: Instr) -> None:
    frame = v.ctrls[-1]
    if frame.kind != "try":
        raise Invalid("delegate without matching try")
    v.pop_ctrl()
    v.label(ins[1])
    v.push_vals(frame.end)


@rule("rethrow")
def _rethrow(v: Checker, ins: Instr) -> None:
    depth = ins[1]
    if not (isinstance(depth, int) and 0 <= depth < len(v.ctrls)) or v.ctrls[-1 - depth].kind not in (
        "catch", "catch_all"
    ):
        raise Invalid("invalid rethrow label")
    v.unreachable()


# ---------------------------------------------------------------- calls
@rule("call")
def _call(v: Checker, ins: Instr) -> None:
    x = ins[1]
    funcs = v.ctx.funcs
    ft = funcs[x] if isinstance(x, int) and 0 <= x < len(funcs) else v.ctx.func(x)
    params = ft.params
    if params:
        vals = v.vals
        n = len(params)
        if tuple(vals[-n:]) == params:
            del vals[-n:]
        else:
            v.pop_vals(params)
    v.vals.extend(ft.results)


def _tail_results(v: Checker, results: tuple[ValType, ...]) -> None:
    if not match_results(results, v.results):
        raise Invalid("type mismatch: callee's results do not match the caller's results")


@rule("return_call")
def _return_call(v: Checker, ins: Instr) -> None:
    ft = v.ctx.func(ins[1])
    _tail_results(v, ft.results)
    v.pop_vals(ft.params)
    v.unreachable()


def _indirect_target(v: Checker, ins: Instr) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    table = v.ctx.table(ins[2])
    if not match_valtype(table.elem, FUNCREF):
        raise Invalid("type mismatch: call_indirect requires a table of function references")
    ft = v.ctx.functype(ins[1])
    v.pop(table.addr)
    v.pop_vals(ft.params)
    return ft.params, ft.results


@rule("call_indirect")
def _call_indirect(v: Checker, ins: Instr) -> None:
    v.push_vals(_indirect_target(v, ins)[1])


@rule("return_call_indirect")
def _return_call_indirect(v: Checker, ins: Instr) -> None:
    _tail_results(v, v.ctx.functype(ins[1]).results)
    _indirect_target(v, ins)
    v.unreachable()


@rule("call_ref")
def _call_ref(v: Checker, ins: Instr) -> None:
    ft = v.ctx.functype(ins[1])
    v.pop(RefType(True, v.ctx.type_ids[ins[1]]))
    v.pop_vals(ft.params)
    v.push_vals(ft.results)


@rule("return_call_ref")
def _return_call_ref(v: Checker, ins: Instr) -> None:
    ft = v.ctx.functype(ins[1])
    _tail_results(v, ft.results)
    v.pop(RefType(True, v.ctx.type_ids[ins[1]]))
    v.pop_vals(ft.params)
    v.unreachable()


# ---------------------------------------------------------------- parametric
@rule("drop")
def _drop(v: Checker, ins: Instr) -> None:
    v.pop_any()


@rule("select")
def _select(v: Checker, ins: Instr) -> None:
    v.pop(I32)
    t1 = v.pop_any()
    t2 = v.pop_any()
    for t in (t1, t2):
        if t is not BOT and not isinstance(t, NumType):
            raise Invalid("type mismatch: select without a type needs numeric or vector operands")
    if t1 is not BOT and t2 is not BOT and t1 != t2:
        raise v.mismatch([t1, t1, I32], [t2, t1, I32])
    v.push(t2 if t1 is BOT else t1)


@rule("select_t")
def _select_t(v: Checker, ins: Instr) -> None:
    ts = ins[1]
    if len(ts) != 1:
        raise Invalid("invalid result arity")
    t = v.ctx.val(ts[0])
    v.pop_vals((t, t, I32))
    v.push(t)


# ---------------------------------------------------------------- variables
def _local(v: Checker, x: Any) -> ValType:
    if isinstance(x, int) and 0 <= x < len(v.locals):
        return v.locals[x]
    raise Invalid(f"unknown local {x}")


@rule("local.get")
def _local_get(v: Checker, ins: Instr) -> None:
    x = ins[1]
    t = _local(v, x)
    if not v.local_ok[x]:
        raise Invalid(f"uninitialized local {x}")
    v.vals.append(t)


def _set(v: Checker, x: int) -> None:
    if not v.local_ok[x]:
        v.local_ok[x] = True
        v.inits.append(x)


@rule("local.set")
def _local_set(v: Checker, ins: Instr) -> None:
    x = ins[1]
    t = _local(v, x)
    vals = v.vals
    if vals[-1] is t:
        vals.pop()
    else:
        v.pop(t)
    _set(v, x)


@rule("local.tee")
def _local_tee(v: Checker, ins: Instr) -> None:
    x = ins[1]
    t = _local(v, x)
    v.pop(t)
    _set(v, x)
    v.vals.append(t)


def _global(v: Checker, x: Any) -> tuple[ValType, bool]:
    if isinstance(x, int) and 0 <= x < v.nglobals:
        return v.ctx.globals[x]
    raise Invalid(f"unknown global {x}")


@rule("global.get")
def _global_get(v: Checker, ins: Instr) -> None:
    v.vals.append(_global(v, ins[1])[0])


@rule("global.set")
def _global_set(v: Checker, ins: Instr) -> None:
    t, mutable = _global(v, ins[1])
    if not mutable:
        raise Invalid("immutable global")
    v.pop(t)


# ---------------------------------------------------------------- fixed signature + lane index
@rule("lane")
def _lane(v: Checker, ins: Instr) -> None:
    op = ins[0]
    imm = ins[1]
    lanes = op.lanes
    if isinstance(imm, int):
        ok = 0 <= imm < lanes
    else:
        ok = len(imm) == 16 and all(b < lanes for b in imm)
    if not ok:
        raise Invalid("invalid lane index")
    v.pop_vals(op.params)
    v.push_vals(op.results)
