"""Structured control flow: block, loop, if/else, end, branches, return, unreachable,
select, drop, nop, and the null-reference branches."""

from __future__ import annotations

from ...syntax.module import Instr
from .. import abi
from .function import Ctl, FunctionGen, handler
from .metering import flush, loop_header, store_fuel


@handler("nop")
def _nop(g: FunctionGen, ins: Instr) -> None:
    pass


@handler("drop")
def _drop(g: FunctionGen, ins: Instr) -> None:
    g.stack.pop()


@handler("select", "select_t")
def _select(g: FunctionGen, ins: Instr) -> None:
    c = g.pop()
    tb, b = g.stack.pop()
    _, a = g.stack.pop()
    cond = g.value(f"icmp ne i32 {c}, 0")
    g.push(tb, g.value(f"select i1 {cond}, {tb} {a}, {tb} {b}"))


@handler("unreachable")
def _unreachable(g: FunctionGen, ins: Instr) -> None:
    store_fuel(g)
    g.trap_now(abi.TRAP_UNREACHABLE)
    g.mark_dead()


def _deeper(g: FunctionGen) -> None:
    if len(g.ctls) > g.max_depth:
        g.max_depth = len(g.ctls)


@handler("block")
def _block(g: FunctionGen, ins: Instr) -> None:
    params, results = g.block_type(ins[1])
    g.ctls.append(Ctl("block", params, results, len(g.stack) - len(params), g.new_label()))
    _deeper(g)


@handler("loop")
def _loop(g: FunctionGen, ins: Instr) -> None:
    params, results = g.block_type(ins[1])
    head = g.new_label()
    ctl = Ctl("loop", params, results, len(g.stack) - len(params), "", head=head)
    n = len(params)
    entry_vals = [v for _, v in g.stack[-n:]] if n else []
    flush(g)
    ctl.head_in.append((g.block, entry_vals))
    g.emit(f"br label %{head}")
    g.start(head)
    ctl.head_slot = len(g.lines)
    if n:
        del g.stack[-n:]
        for i, t in enumerate(params):
            name = f"%{head}.{i}"
            ctl.head_phis.append(name)
            g.push(t, name)
    g.ctls.append(ctl)
    _deeper(g)
    loop_header(g)


@handler("if")
def _if(g: FunctionGen, ins: Instr) -> None:
    c = g.pop()
    params, results = g.block_type(ins[1])
    n = len(params)
    ctl = Ctl("if", params, results, len(g.stack) - n, g.new_label())
    ctl.if_params = list(g.stack[-n:]) if n else []
    then = g.new_label()
    ctl.else_label = g.new_label()
    cond = g.value(f"icmp ne i32 {c}, 0")
    flush(g)
    g.emit(f"br i1 {cond}, label %{then}, label %{ctl.else_label}")
    g.start(then)
    g.ctls.append(ctl)
    _deeper(g)


@handler("else")
def _else(g: FunctionGen, ins: Instr) -> None:
    ctl = g.ctls[-1]
    if not g.dead:
        g.jump(ctl)
    del g.stack[ctl.height :]
    g.stack.extend(ctl.if_params)
    g.start(ctl.else_label)
    ctl.else_seen = True
    g.dead = False
    g.skip = 0


@handler("end")
def _end(g: FunctionGen, ins: Instr) -> None:
    ctl = g.ctls[-1]
    if ctl.kind == "func":
        return  # the body's implicit end is not in the instruction list
    if ctl.kind == "loop":
        _end_loop(g, ctl)
        return
    if not g.dead:
        g.jump(ctl)
    if ctl.kind == "if" and not ctl.else_seen:
        # The implicit else passes the parameters through as results.
        g.start(ctl.else_label)
        ctl.end_in.append((ctl.else_label, [v for _, v in ctl.if_params]))
        g.emit(f"br label %{ctl.end}")
    g.ctls.pop()
    del g.stack[ctl.height :]
    if not ctl.end_in:
        g.dead = True
        g.skip = 0
        return
    g.dead = False
    g.start(ctl.end)
    for i, t in enumerate(ctl.results):
        incoming = ", ".join(f"[ {vals[i]}, %{pred} ]" for pred, vals in ctl.end_in)
        g.push(t, g.value(f"phi {t} {incoming}"))


def _end_loop(g: FunctionGen, ctl: Ctl) -> None:
    """A loop's end is only reached by falling through: results stay as they are. Its
    header phis are complete now that every back edge has been seen."""
    if not g.dead:
        flush(g)
    phis = []
    for i, (name, t) in enumerate(zip(ctl.head_phis, ctl.params)):
        incoming = ", ".join(f"[ {vals[i]}, %{pred} ]" for pred, vals in ctl.head_in)
        phis.append(f"  {name} = phi {t} {incoming}")
    g.lines[ctl.head_slot : ctl.head_slot] = phis
    g.ctls.pop()
    if g.dead:
        del g.stack[ctl.height :]
        return
    results = g.popn(len(ctl.results))
    del g.stack[ctl.height :]
    g.stack.extend(results)


@handler("br")
def _br(g: FunctionGen, ins: Instr) -> None:
    g.jump(g.label(ins[1]))
    g.mark_dead()


def _conditional(g: FunctionGen, target: Ctl, cond: str, carried: int) -> None:
    """Branch to ``target`` when ``cond`` (i1) holds, carrying the top ``carried`` values."""
    vals = [v for _, v in g.stack[-carried:]] if carried else []
    cont = g.new_label()
    flush(g)
    if target.kind == "func":
        ret = g.new_label()
        g.emit(f"br i1 {cond}, label %{ret}, label %{cont}")
        g.start(ret)
        g.emit_return(g.stack[-carried:] if carried else [], keep_pending=True)
    elif g.active and g.region_left(target) is not None:
        # The branch leaves a try region: restore the handler on its edge only.
        pad = g.new_label()
        g.emit(f"br i1 {cond}, label %{pad}, label %{cont}")
        g.start(pad)
        g.leave_regions(target)
        g.emit(f"br label %{g.branch_to(target, vals)}")
    else:
        dest = g.branch_to(target, vals)
        g.emit(f"br i1 {cond}, label %{dest}, label %{cont}")
    g.start(cont)


@handler("br_if")
def _br_if(g: FunctionGen, ins: Instr) -> None:
    c = g.pop()
    target = g.label(ins[1])
    cond = g.value(f"icmp ne i32 {c}, 0")
    _conditional(g, target, cond, len(target.label_types))


@handler("br_table")
def _br_table(g: FunctionGen, ins: Instr) -> None:
    idx = g.pop()
    labels: tuple[int, ...] = ins[1]
    default: int = ins[2]
    flush(g)
    # A target that takes no values is the switch's successor itself; one that takes
    # values (its phis need this block's values once) or returns gets a pad block.
    # Fewer blocks: a big switch is where LLVM's CFG passes spend their time. (Not
    # in functions with try regions: leaving one goes through the pad's exit code.)
    pads: dict[int, str] = {}
    direct: dict[int, str] = {}
    for d in (*labels, default):
        if d in pads or d in direct:
            continue
        target = g.label(d)
        if target.kind != "func" and not target.label_types and not g.has_regions:
            direct[d] = g.branch_to(target, [])
        else:
            pads[d] = g.new_label()
    dest = {**direct, **pads}
    if len(dest) > g.max_fanout:
        g.max_fanout = len(dest)
    cases = " ".join(f"i32 {i}, label %{dest[d]}" for i, d in enumerate(labels))
    g.emit(f"switch i32 {idx}, label %{dest[default]} [ {cases} ]")
    for d, pad in pads.items():
        g.start(pad)
        g.jump(g.label(d))
    g.mark_dead()


@handler("return")
def _return(g: FunctionGen, ins: Instr) -> None:
    g.emit_return(g.popn(len(g.results)))
    g.mark_dead()


@handler("br_on_null")
def _br_on_null(g: FunctionGen, ins: Instr) -> None:
    ref = g.pop()
    target = g.label(ins[1])
    cond = g.value(f"icmp eq ptr {ref}, null")
    _conditional(g, target, cond, len(target.label_types))
    g.push("ptr", ref)


@handler("br_on_non_null")
def _br_on_non_null(g: FunctionGen, ins: Instr) -> None:
    ref = g.stack[-1][1]
    target = g.label(ins[1])
    cond = g.value(f"icmp ne ptr {ref}, null")
    _conditional(g, target, cond, len(target.label_types))
    g.stack.pop()
