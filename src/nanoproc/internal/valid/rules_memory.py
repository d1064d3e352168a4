"""Typing rules: memory and table instructions (multi-memory, memory64, table64)."""

from __future__ import annotations

from ..syntax.module import Instr
from ..syntax.ops import OPS
from ..syntax.types import I32, I64
from .context import Invalid, min_addr
from .stack import Checker, rule
from .subtyping import match_valtype

# op.idx -> (natural alignment as log2, operand lists for i32 and i64 addresses)
_MEMARG: dict[int, tuple[int, list[object], list[object]]] = {
    op.idx: (op.width.bit_length() - 1, [I32, *op.params], [I64, *op.params])
    for op in OPS
    if op.rule == "memarg"
}


@rule("memarg")
def _memarg(v: Checker, ins: Instr) -> None:
    op = ins[0]
    align, offset, mem = ins[1]
    mems = v.ctx.mems
    addr = mems[mem] if isinstance(mem, int) and 0 <= mem < len(mems) else v.ctx.mem(mem)
    natural, want32, want64 = _MEMARG[op.idx]
    if align > natural:
        raise Invalid("alignment must not be larger than natural")
    if addr is I32 and offset >= 1 << 32:
        raise Invalid("offset out of range")
    if op.lanes and not 0 <= ins[2] < op.lanes:
        raise Invalid("invalid lane index")
    want = want32 if addr is I32 else want64
    vals = v.vals
    n = len(want)
    if vals[-n:] == want:
        del vals[-n:]
    else:
        v.pop_vals(want)
    vals.extend(op.results)


@rule("memory.size")
def _memory_size(v: Checker, ins: Instr) -> None:
    v.push(v.ctx.mem(ins[1]))


@rule("memory.grow")
def _memory_grow(v: Checker, ins: Instr) -> None:
    at = v.ctx.mem(ins[1])
    v.pop(at)
    v.push(at)


@rule("memory.fill")
def _memory_fill(v: Checker, ins: Instr) -> None:
    at = v.ctx.mem(ins[1])
    v.pop_vals((at, I32, at))


@rule("memory.copy")
def _memory_copy(v: Checker, ins: Instr) -> None:
    dst = v.ctx.mem(ins[1])
    src = v.ctx.mem(ins[2])
    v.pop_vals((dst, src, min_addr(dst, src)))


@rule("memory.init")
def _memory_init(v: Checker, ins: Instr) -> None:
    at = v.ctx.mem(ins[2])
    v.ctx.data(ins[1])
    v.pop_vals((at, I32, I32))


@rule("data.drop")
def _data_drop(v: Checker, ins: Instr) -> None:
    v.ctx.data(ins[1])


@rule("table.get")
def _table_get(v: Checker, ins: Instr) -> None:
    t = v.ctx.table(ins[1])
    v.pop(t.addr)
    v.push(t.elem)


@rule("table.set")
def _table_set(v: Checker, ins: Instr) -> None:
    t = v.ctx.table(ins[1])
    v.pop_vals((t.addr, t.elem))


@rule("table.size")
def _table_size(v: Checker, ins: Instr) -> None:
    v.push(v.ctx.table(ins[1]).addr)


@rule("table.grow")
def _table_grow(v: Checker, ins: Instr) -> None:
    t = v.ctx.table(ins[1])
    v.pop_vals((t.elem, t.addr))
    v.push(t.addr)


@rule("table.fill")
def _table_fill(v: Checker, ins: Instr) -> None:
    t = v.ctx.table(ins[1])
    v.pop_vals((t.addr, t.elem, t.addr))


@rule("table.copy")
def _table_copy(v: Checker, ins: Instr) -> None:
    dst = v.ctx.table(ins[1])
    src = v.ctx.table(ins[2])
    if not match_valtype(src.elem, dst.elem):
        raise Invalid("type mismatch: table.copy between incompatible element types")
    v.pop_vals((dst.addr, src.addr, min_addr(dst.addr, src.addr)))


@rule("table.init")
def _table_init(v: Checker, ins: Instr) -> None:
    t = v.ctx.table(ins[2])
    elem = v.ctx.elem(ins[1])
    if not match_valtype(elem, t.elem):
        raise Invalid("type mismatch: element segment does not match the table's element type")
    v.pop_vals((t.addr, I32, I32))


@rule("elem.drop")
def _elem_drop(v: Checker, ins: Instr) -> None:
    v.ctx.elem(ins[1])
