"""Locals, globals, tables and references.

Globals live in 8-byte cells shared with Python (the vmctx holds a pointer per
global). Tables are read natively from their TableCell mirror (an array of 8-byte
handles kept in step with the Python list by the runtime); every table *change*
goes through a Python helper, which updates the list and the mirror together.
A reference is a pointer: a FuncRecord for funcrefs, the Python object's address
for other references, null for null.
"""

from __future__ import annotations

from ...syntax.module import Instr
from ...syntax.types import RefType
from .. import abi
from ..refs import is_funcref
from .function import INVARIANT, TBAA_CTX, FunctionGen, handler
from .metering import charge_length, literal_operand
from .ops_memory import to_i64


@handler("local.get")
def _local_get(g: FunctionGen, ins: Instr) -> None:
    i = ins[1]
    t = g.local_types[i]
    g.push(t, g.value(f"load {t}, ptr %l{i}, align 8"))


@handler("local.set")
def _local_set(g: FunctionGen, ins: Instr) -> None:
    i = ins[1]
    _, v = g.stack.pop()
    g.emit(f"store {g.local_types[i]} {v}, ptr %l{i}, align 8")


@handler("local.tee")
def _local_tee(g: FunctionGen, ins: Instr) -> None:
    i = ins[1]
    t, v = g.stack[-1]
    g.emit(f"store {t} {v}, ptr %l{i}, align 8")


@handler("global.get")
def _global_get(g: FunctionGen, ins: Instr) -> None:
    gi = ins[1]
    gt = g.info.globals[gi]
    t = g.info.global_lltype(gi)
    cell = g.global_cell(gi)
    inv = "" if gt.mutable else f", !invariant.load {INVARIANT}"
    g.push(t, g.value(f"load {t}, ptr {cell}, align 8, !tbaa {TBAA_CTX}{inv}"))


@handler("global.set")
def _global_set(g: FunctionGen, ins: Instr) -> None:
    gi = ins[1]
    t, v = g.stack.pop()
    vt = g.info.globals[gi].type
    if isinstance(vt, RefType) and not is_funcref(vt, g.info.module):
        # Python must keep the object alive: the helper stores it.
        h = g.value(f"ptrtoint ptr {v} to i64")
        g.call_helper(abi.H_GLOBAL_SET, str(gi), h)
        return
    cell = g.global_cell(gi)
    g.emit(f"store {t} {v}, ptr {cell}, align 8, !tbaa {TBAA_CTX}")


# ---------------------------------------------------------------- tables
def table_bounds(g: FunctionGen, t: int, index: str, kind: int) -> tuple[str, str]:
    """Check ``index`` (unsigned i64) against table ``t``; returns (cell, index)."""
    cell = g.table_cell(t)
    size = g.load_field("i64", cell, abi.TAB_SIZE)
    ok = g.value(f"icmp ult i64 {index}, {size}")
    g.trap_unless(ok, kind)
    return cell, index


def table_entry(g: FunctionGen, cell: str, index: str) -> str:
    data = g.load_field("ptr", cell, abi.TAB_DATA)
    p = g.value(f"getelementptr inbounds ptr, ptr {data}, i64 {index}")
    return g.value(f"load ptr, ptr {p}, align 8, !tbaa {TBAA_CTX}")


@handler("table.get")
def _table_get(g: FunctionGen, ins: Instr) -> None:
    ti, i = g.stack.pop()
    cell, idx = table_bounds(g, ins[1], to_i64(g, ti, i), abi.TRAP_TABLE_OOB)
    g.push("ptr", table_entry(g, cell, idx))


@handler("table.set")
def _table_set(g: FunctionGen, ins: Instr) -> None:
    _, v = g.stack.pop()
    ti, i = g.stack.pop()
    h = g.value(f"ptrtoint ptr {v} to i64")
    g.call_helper(abi.H_TABLE_SET, str(ins[1]), to_i64(g, ti, i), h)


@handler("table.size")
def _table_size(g: FunctionGen, ins: Instr) -> None:
    t = ins[1]
    size = g.load_field("i64", g.table_cell(t), abi.TAB_SIZE)
    if g.info.table_addr64[t]:
        g.push("i64", size)
    else:
        g.push("i32", g.value(f"trunc i64 {size} to i32"))


@handler("table.grow")
def _table_grow(g: FunctionGen, ins: Instr) -> None:
    t = ins[1]
    known = literal_operand(g)
    tn, n = g.stack.pop()
    _, init = g.stack.pop()
    h = g.value(f"ptrtoint ptr {init} to i64")
    n64 = to_i64(g, tn, n)
    r = g.call_helper(abi.H_TABLE_GROW, str(t), h, n64)
    charge_length(g, n64, known, grow_result=r)
    if g.info.table_addr64[t]:
        g.push("i64", r)
    else:
        g.push("i32", g.value(f"trunc i64 {r} to i32"))


@handler("table.fill")
def _table_fill(g: FunctionGen, ins: Instr) -> None:
    tn, n = g.stack.pop()
    _, v = g.stack.pop()
    ti, i = g.stack.pop()
    h = g.value(f"ptrtoint ptr {v} to i64")
    n64 = to_i64(g, tn, n)
    g.call_helper(abi.H_TABLE_FILL, str(ins[1]), to_i64(g, ti, i), h, n64)
    charge_length(g, n64, literal_operand(g))


@handler("table.copy")
def _table_copy(g: FunctionGen, ins: Instr) -> None:
    tn, n = g.stack.pop()
    ts, s = g.stack.pop()
    td, d = g.stack.pop()
    tables = str((ins[1] << 32) | ins[2])
    n64 = to_i64(g, tn, n)
    g.call_helper(abi.H_TABLE_COPY, tables, to_i64(g, td, d), to_i64(g, ts, s), n64)
    charge_length(g, n64, literal_operand(g))


@handler("table.init")
def _table_init(g: FunctionGen, ins: Instr) -> None:
    seg, t = ins[1], ins[2]
    tn, n = g.stack.pop()
    ts, s = g.stack.pop()
    td, d = g.stack.pop()
    which = str((seg << 32) | t)
    n64 = to_i64(g, tn, n)
    g.call_helper(abi.H_TABLE_INIT, which, to_i64(g, td, d), to_i64(g, ts, s), n64)
    charge_length(g, n64, literal_operand(g))


@handler("elem.drop")
def _elem_drop(g: FunctionGen, ins: Instr) -> None:
    g.call_helper(abi.H_ELEM_DROP, str(ins[1]))


# ---------------------------------------------------------------- references
@handler("ref.null")
def _ref_null(g: FunctionGen, ins: Instr) -> None:
    g.push("ptr", "null")


@handler("ref.is_null")
def _ref_is_null(g: FunctionGen, ins: Instr) -> None:
    _, v = g.stack.pop()
    c = g.value(f"icmp eq ptr {v}, null")
    g.push("i32", g.value(f"zext i1 {c} to i32"))


@handler("ref.func")
def _ref_func(g: FunctionGen, ins: Instr) -> None:
    g.push("ptr", g.func_record(ins[1]))


@handler("ref.as_non_null")
def _ref_as_non_null(g: FunctionGen, ins: Instr) -> None:
    _, v = g.stack[-1]
    ok = g.value(f"icmp ne ptr {v}, null")
    g.trap_unless(ok, abi.TRAP_NULL_REFERENCE)
