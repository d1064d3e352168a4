"""Linear memory: loads, stores, size, grow and the bulk operations.

A memory is reached through its MemCell (base address, size in bytes), whose
pointer the vmctx holds. Every access is bounds-checked explicitly against the
current size: ``address + offset + width <= size``, computed in 64 bits for 32-bit
memories (no overflow possible) and with an overflow check for memory64. The check
is left out only where it is proven unnecessary: a constant address whose access
ends within the memory's declared minimum size (a memory never shrinks, and an
imported one is at least as large as declared).

Linear-memory accesses carry a TBAA tag distinct from runtime state, so LLVM knows a
store to linear memory cannot change a memory's size or base, and keeps those in
registers across loops that do not call anything.
"""

from __future__ import annotations

from ...syntax.module import Instr
from .. import abi
from .function import TBAA_CTX, TBAA_MEM, FunctionGen, handler
from .metering import charge_length, literal_operand, store_fuel

MASK64 = (1 << 64) - 1

# name -> (value type, memory type, extension)
_LOADS = {
    "i32.load": ("i32", "i32", ""), "i64.load": ("i64", "i64", ""),
    "f32.load": ("float", "float", ""), "f64.load": ("double", "double", ""),
    "i32.load8_s": ("i32", "i8", "sext"), "i32.load8_u": ("i32", "i8", "zext"),
    "i32.load16_s": ("i32", "i16", "sext"), "i32.load16_u": ("i32", "i16", "zext"),
    "i64.load8_s": ("i64", "i8", "sext"), "i64.load8_u": ("i64", "i8", "zext"),
    "i64.load16_s": ("i64", "i16", "sext"), "i64.load16_u": ("i64", "i16", "zext"),
    "i64.load32_s": ("i64", "i32", "sext"), "i64.load32_u": ("i64", "i32", "zext"),
}  # fmt: skip
# name -> memory type (the value is truncated to it when narrower)
_STORES = {
    "i32.store": "i32", "i64.store": "i64", "f32.store": "float", "f64.store": "double",
    "i32.store8": "i8", "i32.store16": "i16", "i64.store8": "i8", "i64.store16": "i16",
    "i64.store32": "i32",
}  # fmt: skip


def size_bytes(g: FunctionGen, m: int) -> str:
    cell = g.mem_cell(m)
    return g.load_field("i64", cell, abi.MEM_SIZE)


def base_ptr(g: FunctionGen, m: int) -> str:
    cell = g.mem_cell(m)
    return g.load_field("ptr", cell, abi.MEM_BASE)


def to_i64(g: FunctionGen, t: str, v: str) -> str:
    """An address or length operand as an unsigned i64."""
    if t == "i64":
        return v
    if v.lstrip("-").isdigit():
        return str(int(v) & 0xFFFF_FFFF)
    return g.value(f"zext i32 {v} to i64")


def effective_address(g: FunctionGen, m: int, offset: int, width: int) -> str:
    """Pop an address, check ``[addr + offset, +width)`` is in bounds; returns a pointer.

    A 32-bit memory checks ``addr <= size - (offset + width)``, signed (exact: no
    wrap in 64 bits, a negative bound fails every address): in a loop without calls
    the bound is computed once before it; after a call, where the size is loaded
    again, it is a subtraction and a compare, and of the accesses from one address a
    wider check that comes first makes the narrower ones after it redundant, which
    LLVM then drops (CPython's code reads several fields of one struct between
    calls; ``addr + end <= size`` did that too but cost call-free loops an addition
    per access: sieve/matmul ~20 % slower). memory64 checks
    ``addr < usub.sat(size + 1, offset + width)``: an address so large that ``addr +
    offset`` would wrap is above any bound (sizes stay far below 2**64).
    """
    t, a = g.stack.pop()
    mem = g.info.memories[m]
    ea = to_i64(g, t, a)
    end = offset + width
    if end > MASK64 or (ea.isdigit() and int(ea) + end > MASK64):
        g.trap_now(abi.TRAP_MEMORY_OOB)
        g.start(g.new_label())  # unreachable continuation keeps the code well formed
        g.dead = False
        return "null"
    if ea.isdigit():
        if int(ea) + end > mem.min_bytes:
            ok = g.value(f"icmp ule i64 {int(ea) + end}, {size_bytes(g, m)}")
            g.trap_unless(ok, abi.TRAP_MEMORY_OOB)
        addr = str(int(ea) + offset)
    else:
        if mem.addr64 or end >= 1 << 33:
            ok = g.value(f"icmp ult i64 {ea}, {bound(g, m, end)}")
        else:  # sizes and ends below 2**33: no wrap in 64 bits
            last = g.value(f"sub nsw i64 {size_bytes(g, m)}, {end}")
            ok = g.value(f"icmp sle i64 {ea}, {last}")
        g.trap_unless(ok, abi.TRAP_MEMORY_OOB)
        if not offset:
            addr = ea
        elif mem.addr64:
            addr = g.value(f"add i64 {ea}, {offset}")
        else:
            addr = g.value(f"add nuw i64 {ea}, {offset}")
    base = base_ptr(g, m)
    return g.value(f"getelementptr i8, ptr {base}, i64 {addr}")


def bound(g: FunctionGen, m: int, end: int) -> str:
    """``usub.sat(size + 1, end)``: addresses below it can access ``end`` bytes."""
    g.intrinsic("declare i64 @llvm.usub.sat.i64(i64, i64)")
    size1 = g.value(f"add nuw i64 {size_bytes(g, m)}, 1")
    return g.value(f"call i64 @llvm.usub.sat.i64(i64 {size1}, i64 {end})")


def always_traps(g: FunctionGen, m: int, offset: int, width: int) -> bool:
    """Whether an access is out of bounds whatever the address (its offset and width
    pass the most the memory can ever hold): wasmtime compiles it as a trap and stores
    the fuel before it, like ``unreachable``. As wasmtime, only for 32-bit offsets
    (and any access to a memory that can never hold a byte)."""
    most = g.info.memories[m].max_bytes
    return most == 0 or (offset <= 0xFFFFFFFF and offset + width > most)


def _sync_if_always_traps(g: FunctionGen, m: int, offset: int, width: int) -> None:
    if g.fuel and always_traps(g, m, offset, width):
        store_fuel(g)


def _load(vt: str, mt: str, ext: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        _, offset, m = ins[1]
        width = _width(mt)
        _sync_if_always_traps(g, m, offset, width)
        p = effective_address(g, m, offset, width)
        v = g.value(f"load {mt}, ptr {p}, align 1, !tbaa {TBAA_MEM}")
        if ext:
            v = g.value(f"{ext} {mt} {v} to {vt}")
        g.push(vt, v)

    return h


def _store(mt: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        _, offset, m = ins[1]
        _sync_if_always_traps(g, m, offset, _width(mt))
        vt, v = g.stack.pop()
        if mt != vt:
            v = g.value(f"trunc {vt} {v} to {mt}")
        p = effective_address(g, m, offset, _width(mt))
        g.emit(f"store {mt} {v}, ptr {p}, align 1, !tbaa {TBAA_MEM}")

    return h


def _width(mt: str) -> int:
    return {"i8": 1, "i16": 2, "i32": 4, "i64": 8, "float": 4, "double": 8}[mt]


for _name, (_vt, _mt, _ext) in _LOADS.items():
    handler(_name)(_load(_vt, _mt, _ext))
for _name, _mt in _STORES.items():
    handler(_name)(_store(_mt))


@handler("memory.size")
def _memory_size(g: FunctionGen, ins: Instr) -> None:
    m = ins[1]
    mem = g.info.memories[m]
    pages = g.value(f"lshr i64 {size_bytes(g, m)}, {mem.page_log2}")
    if mem.addr64:
        g.push("i64", pages)
    else:
        g.push("i32", g.value(f"trunc i64 {pages} to i32"))


@handler("memory.grow")
def _memory_grow(g: FunctionGen, ins: Instr) -> None:
    m = ins[1]
    known = literal_operand(g)
    t, n = g.stack.pop()
    n64 = to_i64(g, t, n)
    r = g.call_helper(abi.H_MEMORY_GROW, str(m), n64)
    charge_length(g, n64, known, grow_result=r)
    if g.info.memories[m].addr64:
        g.push("i64", r)
    else:
        g.push("i32", g.value(f"trunc i64 {r} to i32"))


def check_range(g: FunctionGen, start: str, length: str, limit: str, kind: int) -> None:
    """Trap unless ``[start, start + length)`` lies within ``[0, limit)`` (all unsigned
    i64; written so that nothing can overflow)."""
    fits = g.value(f"icmp ule i64 {length}, {limit}")
    room = g.value(f"sub i64 {limit}, {length}")
    below = g.value(f"icmp ule i64 {start}, {room}")
    ok = g.value(f"select i1 {fits}, i1 {below}, i1 false")
    g.trap_unless(ok, kind)


def _declare_bulk(g: FunctionGen) -> None:
    g.intrinsic("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")
    g.intrinsic("declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)")
    g.intrinsic("declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)")


@handler("memory.fill")
def _memory_fill(g: FunctionGen, ins: Instr) -> None:
    m = ins[1]
    tn, n = g.stack.pop()
    _, val = g.stack.pop()
    td, d = g.stack.pop()
    n64, d64 = to_i64(g, tn, n), to_i64(g, td, d)
    check_range(g, d64, n64, size_bytes(g, m), abi.TRAP_MEMORY_OOB)
    _declare_bulk(g)
    dst = g.value(f"getelementptr i8, ptr {base_ptr(g, m)}, i64 {d64}")
    byte = g.value(f"trunc i32 {val} to i8")
    g.emit(f"call void @llvm.memset.p0.i64(ptr {dst}, i8 {byte}, i64 {n64}, i1 false)")
    charge_length(g, n64, literal_operand(g))


@handler("memory.copy")
def _memory_copy(g: FunctionGen, ins: Instr) -> None:
    md, ms = ins[1], ins[2]
    tn, n = g.stack.pop()
    ts, s = g.stack.pop()
    td, d = g.stack.pop()
    n64, s64, d64 = to_i64(g, tn, n), to_i64(g, ts, s), to_i64(g, td, d)
    check_range(g, s64, n64, size_bytes(g, ms), abi.TRAP_MEMORY_OOB)
    check_range(g, d64, n64, size_bytes(g, md), abi.TRAP_MEMORY_OOB)
    _declare_bulk(g)
    src = g.value(f"getelementptr i8, ptr {base_ptr(g, ms)}, i64 {s64}")
    dst = g.value(f"getelementptr i8, ptr {base_ptr(g, md)}, i64 {d64}")
    g.emit(f"call void @llvm.memmove.p0.p0.i64(ptr {dst}, ptr {src}, i64 {n64}, i1 false)")
    charge_length(g, n64, literal_operand(g))


def data_slot(g: FunctionGen, seg: int) -> str:
    off = g.info.layout.data_off + 16 * seg
    return g.value(f"getelementptr inbounds i8, ptr %vmctx, i64 {off}")


@handler("memory.init")
def _memory_init(g: FunctionGen, ins: Instr) -> None:
    seg, m = ins[1], ins[2]
    tn, n = g.stack.pop()
    ts, s = g.stack.pop()
    td, d = g.stack.pop()
    n64, s64, d64 = to_i64(g, tn, n), to_i64(g, ts, s), to_i64(g, td, d)
    slot = data_slot(g, seg)
    seg_len = g.load_field("i64", slot, 8)
    check_range(g, s64, n64, seg_len, abi.TRAP_MEMORY_OOB)
    check_range(g, d64, n64, size_bytes(g, m), abi.TRAP_MEMORY_OOB)
    _declare_bulk(g)
    seg_ptr = g.load_field("ptr", slot, 0)
    src = g.value(f"getelementptr i8, ptr {seg_ptr}, i64 {s64}")
    dst = g.value(f"getelementptr i8, ptr {base_ptr(g, m)}, i64 {d64}")
    g.emit(f"call void @llvm.memcpy.p0.p0.i64(ptr {dst}, ptr {src}, i64 {n64}, i1 false)")
    charge_length(g, n64, literal_operand(g))


@handler("data.drop")
def _data_drop(g: FunctionGen, ins: Instr) -> None:
    slot = data_slot(g, ins[1])
    g.emit(f"store i64 0, ptr {g.field_ptr(slot, 8)}, align 8, !tbaa {TBAA_CTX}")
