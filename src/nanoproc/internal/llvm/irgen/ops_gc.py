"""GC instructions: structs, arrays, i31, casts and the extern/any conversions.

Objects live in the store's native heap (see ``..gcheap`` for the layout and the
reference encoding). Allocation pops the size class's free list inline (the heap's
address is in StoreCtx.gc_heap; each class's head is a word of the heap) and calls
the runtime's slow path only when that list is empty; field accesses are plain
loads and stores after a null check. Casts compare the object's descriptor (its
header word) with the target's, which the instance's vmctx holds in the target
type's slot; a non-final target also checks the descriptor's supertype display.

A store of a host object into a GC object (a possible one: an externref, or an
anyref carrying a host object) calls the helper that keeps it alive (H_GC_HOLD).
"""

from __future__ import annotations

from ...errors import UnsupportedFeature
from ...exec.gctypes import MAX_ARRAY_LENGTH
from ...syntax.module import Instr
from ...syntax.types import (
    ANY_HIERARCHY,
    EXN_HIERARCHY,
    F32,
    F64,
    FUNC_HIERARCHY,
    I32,
    I64,
    ArrayType,
    FuncType,
    PackedType,
    RefType,
    StorageType,
    StructType,
)
from .. import abi
from ..gcheap import (
    ARRAY_DATA,
    ARRAY_LEN,
    HEAP_ALLOC,
    HEAP_ALLOC_SLOW,
    HEAP_CLASS_OF,
    HEAP_FREE,
    KIND_ARRAY,
    KIND_STRUCT,
    RTT_DEPTH,
    RTT_DISPLAY,
    RTT_KIND,
    SMALL_MAX,
    class_of,
    storage_bytes,
    struct_layout,
)
from .function import INVARIANT, LIKELY, TBAA_CTX, FunctionGen, handler
from .metering import charge_length, literal_operand
from .ops_control import _conditional
from .ops_memory import data_slot

TBAA_GC = "!10"
"""Access tag of GC object fields (disjoint from linear memory and runtime state)."""
UNLIKELY = "!11"


# ---------------------------------------------------------------- types
def _struct(g: FunctionGen, t: int) -> StructType:
    ct = g.info.module.deftypes[t].comp
    assert isinstance(ct, StructType)
    return ct


def _array(g: FunctionGen, t: int) -> ArrayType:
    ct = g.info.module.deftypes[t].comp
    assert isinstance(ct, ArrayType)
    return ct


def _lltype(st: StorageType) -> str:
    """The LLVM type a field of this storage type is kept in."""
    if isinstance(st, PackedType):
        return "i8" if st.bits == 8 else "i16"
    if st is I32:
        return "i32"
    if st is I64:
        return "i64"
    if st is F32:
        return "float"
    if st is F64:
        return "double"
    if isinstance(st, RefType):
        return "ptr"
    raise UnsupportedFeature("simd", "v128 fields in the llvm tier")


def _stack_type(st: StorageType) -> str:
    return "i32" if isinstance(st, PackedType) else _lltype(st)


def _hierarchy(g: FunctionGen, st: StorageType) -> str:
    """``func``, ``any``, ``extern`` or ``exn`` for a reference field,
    else ``""``."""
    if not isinstance(st, RefType):
        return ""
    h = st.heap
    if isinstance(h, int):
        return "func" if isinstance(g.info.module.deftypes[h].comp, FuncType) else "any"
    if h in FUNC_HIERARCHY:
        return "func"
    if h in EXN_HIERARCHY:
        return "exn"
    return "any" if h in ANY_HIERARCHY else "extern"


def _depth(g: FunctionGen, t: int) -> int:
    d = 0
    st = g.info.module.deftypes[t]
    while st.supers:
        d += 1
        st = g.info.module.deftypes[st.supers[0]]
    return d


# ---------------------------------------------------------------- context
def heap_ptr(g: FunctionGen) -> str:
    """The store's heap (loaded once per function)."""
    name = g.cached.get("gcheap")
    if name is None:
        name = g.cached["gcheap"] = "%gch"
        g.prelude.append(f"  %gch.p = getelementptr inbounds i8, ptr %sc, i64 {abi.SC['gc_heap']}")
        g.prelude.append(f"  %gch = load ptr, ptr %gch.p, align 8, !tbaa {TBAA_CTX}, "
                         f"!invariant.load {INVARIANT}")
    return name


def rtt(g: FunctionGen, t: int) -> str:
    """The descriptor of module type ``t`` (the vmctx's type slot)."""
    return g.ctx_load(("rtt", t), "ptr", g.info.layout.type_off + 8 * t)


def _i64(g: FunctionGen, v: str) -> str:
    return g.value(f"ptrtoint ptr {v} to i64")


def _not_null(g: FunctionGen, ref: str) -> None:
    ok = g.value(f"icmp ne ptr {ref}, null")
    g.trap_unless(ok, abi.TRAP_NULL_REFERENCE)


def _gep(g: FunctionGen, base: str, off: int | str) -> str:
    if off == 0:
        return base
    return g.value(f"getelementptr inbounds i8, ptr {base}, i64 {off}")


def _load(g: FunctionGen, ty: str, p: str) -> str:
    align = 8 if ty in ("ptr", "i64", "double") else 4 if ty in ("i32", "float") else \
        2 if ty == "i16" else 1
    return g.value(f"load {ty}, ptr {p}, align {align}, !tbaa {TBAA_GC}")


def _store(g: FunctionGen, ty: str, v: str, p: str) -> None:
    align = 8 if ty in ("ptr", "i64", "double") else 4 if ty in ("i32", "float") else \
        2 if ty == "i16" else 1
    g.emit(f"store {ty} {v}, ptr {p}, align {align}, !tbaa {TBAA_GC}")


def _to_field(g: FunctionGen, st: StorageType, v: str) -> str:
    """A stack value as stored in a field (packed ones truncated)."""
    if isinstance(st, PackedType):
        return g.value(f"trunc i32 {v} to {_lltype(st)}")
    return v


def _from_field(g: FunctionGen, st: StorageType, v: str, signed: bool) -> str:
    if isinstance(st, PackedType):
        return g.value(f"{'sext' if signed else 'zext'} {_lltype(st)} {v} to i32")
    return v


def _hold(g: FunctionGen, st: StorageType, v: str) -> None:
    """Keep a host object alive if ``v`` (a reference about to be stored) is one."""
    kind = _hierarchy(g, st)
    if kind in ("", "func", "exn") or v == "null":
        return  # exception objects are the collectors' (gcheap, exnheap), not Python's
    i = _i64(g, v)
    low = g.value(f"and i64 {i}, 3")
    if kind == "any":
        host = g.value(f"icmp eq i64 {low}, 2")
    else:
        untagged = g.value(f"icmp eq i64 {low}, 0")
        nonnull = g.value(f"icmp ne i64 {i}, 0")
        host = g.value(f"and i1 {untagged}, {nonnull}")
    cont = g.new_label()
    cold = g.new_label()
    g.emit(f"br i1 {host}, label %{cold}, label %{cont}, !prof {UNLIKELY}")
    g.start(cold)
    addr = g.value(f"and i64 {i}, -4")
    g.call_helper(abi.H_GC_HOLD, addr)
    g.emit(f"br label %{cont}")
    g.start(cont)


# ---------------------------------------------------------------- allocation
def _pop_free(g: FunctionGen, head: str, slow_call: str) -> str:
    """Pop the free list whose head word is at ``head``; ``slow_call`` (emitted in the
    cold block) refills it and returns a cell. Returns the cell (ptr, maybe null)."""
    cell = g.value(f"load i64, ptr {head}, align 8, !tbaa {TBAA_CTX}")
    empty = g.value(f"icmp eq i64 {cell}, 0")
    fast = g.new_label()
    slow = g.new_label()
    join = g.new_label()
    g.emit(f"br i1 {empty}, label %{slow}, label %{fast}, !prof {UNLIKELY}")
    g.start(fast)
    cp = g.value(f"inttoptr i64 {cell} to ptr")
    nxt = g.value(f"load i64, ptr {cp}, align 8, !tbaa {TBAA_GC}")
    nxt2 = g.value(f"and i64 {nxt}, -2")
    g.emit(f"store i64 {nxt2}, ptr {head}, align 8, !tbaa {TBAA_CTX}")
    g.emit(f"br label %{join}")
    g.start(slow)
    got = g.value(slow_call)
    slow_end = g.block
    g.emit(f"br label %{join}")
    g.start(join)
    return g.value(f"phi ptr [ {cp}, %{fast} ], [ {got}, %{slow_end} ]")


def _checked(g: FunctionGen, obj: str) -> str:
    ok = g.value(f"icmp ne ptr {obj}, null")
    g.trap_unless(ok, abi.TRAP_ALLOCATION_TOO_LARGE)
    return obj


def alloc_fixed(g: FunctionGen, size: int) -> str:
    """A new object of ``size`` bytes (a compile-time constant); its header unset."""
    heap = heap_ptr(g)
    if size > SMALL_MAX:
        fn = g.load_field("ptr", heap, HEAP_ALLOC, invariant=True)
        return _checked(g, g.value(f"call ptr {fn}(ptr {heap}, i64 {size})"))
    c = class_of(size)
    head = _gep(g, heap, HEAP_FREE + 8 * c)
    fn = g.load_field("ptr", heap, HEAP_ALLOC_SLOW, invariant=True)
    return _checked(g, _pop_free(g, head, f"call ptr {fn}(ptr {heap}, i32 {c})"))


def alloc_bytes(g: FunctionGen, size: str) -> str:
    """A new object of ``size`` bytes (an i64 value); its header unset."""
    heap = heap_ptr(g)
    small = g.value(f"icmp ule i64 {size}, {SMALL_MAX}")
    lsmall = g.new_label()
    lbig = g.new_label()
    join = g.new_label()
    g.emit(f"br i1 {small}, label %{lsmall}, label %{lbig}, !prof {LIKELY}")
    g.start(lsmall)
    gran = g.value(f"lshr i64 {g.value(f'add i64 {size}, 7')}, 3")
    cp = g.value(f"getelementptr inbounds i8, ptr {heap}, i64 {HEAP_CLASS_OF}")
    cp2 = g.value(f"getelementptr inbounds i8, ptr {cp}, i64 {gran}")
    c8 = g.value(f"load i8, ptr {cp2}, align 1, !tbaa {TBAA_CTX}")
    c64 = g.value(f"zext i8 {c8} to i64")
    c32 = g.value(f"zext i8 {c8} to i32")
    head = g.value(f"getelementptr inbounds i64, ptr {heap}, i64 {c64}")
    fn = g.load_field("ptr", heap, HEAP_ALLOC_SLOW, invariant=True)
    got_small = _pop_free(g, head, f"call ptr {fn}(ptr {heap}, i32 {c32})")
    small_end = g.block
    g.emit(f"br label %{join}")
    g.start(lbig)
    fn2 = g.load_field("ptr", heap, HEAP_ALLOC, invariant=True)
    got_big = g.value(f"call ptr {fn2}(ptr {heap}, i64 {size})")
    big_end = g.block
    g.emit(f"br label %{join}")
    g.start(join)
    obj = g.value(f"phi ptr [ {got_small}, %{small_end} ], [ {got_big}, %{big_end} ]")
    return _checked(g, obj)


def _new_array(g: FunctionGen, t: int, n32: str) -> tuple[str, str, StorageType]:
    """A new array of type ``t`` with ``n32`` (i32) elements, its header and length set
    and its elements not initialised: (object, n as i64, element type)."""
    st = _array(g, t).field.storage
    _lltype(st)
    n = g.value(f"zext i32 {n32} to i64")
    fits = g.value(f"icmp ule i64 {n}, {MAX_ARRAY_LENGTH}")
    g.trap_unless(fits, abi.TRAP_ALLOCATION_TOO_LARGE)
    es = storage_bytes(st)
    size = g.value(f"add i64 {g.value(f'mul i64 {n}, {es}')}, {ARRAY_DATA}")
    obj = alloc_bytes(g, size)
    g.emit(f"store ptr {rtt(g, t)}, ptr {obj}, align 8, !tbaa {TBAA_GC}")
    _store(g, "i32", n32, _gep(g, obj, ARRAY_LEN))
    return obj, n, st


def _elem_ptr(g: FunctionGen, obj: str, st: StorageType, i64: str) -> str:
    data = _gep(g, obj, ARRAY_DATA)
    return g.value(f"getelementptr inbounds {_lltype(st)}, ptr {data}, i64 {i64}")


def _declare_bulk(g: FunctionGen) -> None:
    g.intrinsic("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")
    g.intrinsic("declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)")
    g.intrinsic("declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)")


def _fill(g: FunctionGen, obj: str, st: StorageType, start: str, n: str, v: str | None) -> None:
    """Elements ``start`` .. ``start + n`` (i64) of array ``obj`` set to ``v`` (a field
    value; None for zero)."""
    _declare_bulk(g)
    es = storage_bytes(st)
    p = _elem_ptr(g, obj, st, start)
    if v is None or es == 1:
        byte = "0" if v is None else v
        nbytes = g.value(f"mul i64 {n}, {es}") if es != 1 else n
        g.emit(f"call void @llvm.memset.p0.i64(ptr {p}, i8 {byte}, i64 {nbytes}, i1 false)")
        return
    ty = _lltype(st)
    pre = g.block
    head = g.new_label()
    body = g.new_label()
    done = g.new_label()
    g.emit(f"br label %{head}")
    g.start(head)
    i = g.tmp()
    i1 = g.tmp()
    g.emit(f"{i} = phi i64 [ 0, %{pre} ], [ {i1}, %{body} ]")
    end = g.value(f"icmp eq i64 {i}, {n}")
    g.emit(f"br i1 {end}, label %{done}, label %{body}")
    g.start(body)
    q = g.value(f"getelementptr inbounds {ty}, ptr {p}, i64 {i}")
    _store(g, ty, v, q)
    g.emit(f"{i1} = add i64 {i}, 1")
    g.emit(f"br label %{head}")
    g.start(done)


def _bounds(g: FunctionGen, start: str, n: str, length: str, kind: int) -> None:
    """Trap ``kind`` unless ``start + n <= length`` (all i64, no overflow possible)."""
    end = g.value(f"add i64 {start}, {n}")
    ok = g.value(f"icmp ule i64 {end}, {length}")
    g.trap_unless(ok, kind)


def _array_len(g: FunctionGen, obj: str) -> str:
    return g.value(f"zext i32 {_load(g, 'i32', _gep(g, obj, ARRAY_LEN))} to i64")


# ---------------------------------------------------------------- structs
@handler("struct.new", "struct.new_default")
def _struct_new(g: FunctionGen, ins: Instr) -> None:
    t = ins[1]
    fields = _struct(g, t).fields
    default = ins[0].name == "struct.new_default"
    vals = [None] * len(fields) if default else [v for _, v in g.popn(len(fields))]
    for f, v in zip(fields, vals):
        _lltype(f.storage)
        if v is not None:
            _hold(g, f.storage, v)
    offsets, size = struct_layout(fields)
    obj = alloc_fixed(g, size)
    g.emit(f"store ptr {rtt(g, t)}, ptr {obj}, align 8, !tbaa {TBAA_GC}")
    for f, off, v in zip(fields, offsets, vals):
        ty = _lltype(f.storage)
        val = _to_field(g, f.storage, v) if v is not None else (
            "null" if ty == "ptr" else "0.0" if ty in ("float", "double") else "0")
        _store(g, ty, val, _gep(g, obj, off))
    g.push("ptr", obj)


def _struct_get(g: FunctionGen, ins: Instr, signed: bool) -> None:
    t, i = ins[1], ins[2]
    fields = _struct(g, t).fields
    st = fields[i].storage
    offsets, _ = struct_layout(fields)
    ref = g.pop()
    _not_null(g, ref)
    v = _load(g, _lltype(st), _gep(g, ref, offsets[i]))
    g.push(_stack_type(st), _from_field(g, st, v, signed))


@handler("struct.get")
def _struct_get_plain(g: FunctionGen, ins: Instr) -> None:
    _struct_get(g, ins, False)


@handler("struct.get_s")
def _struct_get_s(g: FunctionGen, ins: Instr) -> None:
    _struct_get(g, ins, True)


@handler("struct.get_u")
def _struct_get_u(g: FunctionGen, ins: Instr) -> None:
    _struct_get(g, ins, False)


@handler("struct.set")
def _struct_set(g: FunctionGen, ins: Instr) -> None:
    t, i = ins[1], ins[2]
    fields = _struct(g, t).fields
    st = fields[i].storage
    offsets, _ = struct_layout(fields)
    v = g.pop()
    ref = g.pop()
    _not_null(g, ref)
    _hold(g, st, v)
    _store(g, _lltype(st), _to_field(g, st, v), _gep(g, ref, offsets[i]))


# ---------------------------------------------------------------- arrays
@handler("array.new", "array.new_default")
def _array_new(g: FunctionGen, ins: Instr) -> None:
    t = ins[1]
    known = literal_operand(g)
    n32 = g.pop()
    v = g.pop() if ins[0].name == "array.new" else None
    st = _array(g, t).field.storage
    if v is not None:
        _hold(g, st, v)
    obj, n, st = _new_array(g, t, n32)
    fv = None if v is None else _to_field(g, st, v)
    if fv in ("0", "null", "0.0", "0x0000000000000000"):
        fv = None
    _fill(g, obj, st, "0", n, fv)
    charge_length(g, n, known)
    g.push("ptr", obj)


@handler("array.new_fixed")
def _array_new_fixed(g: FunctionGen, ins: Instr) -> None:
    t, count = ins[1], ins[2]
    st = _array(g, t).field.storage
    ty = _lltype(st)
    vals = [v for _, v in g.popn(count)]
    for v in vals:
        _hold(g, st, v)
    size = ARRAY_DATA + count * storage_bytes(st)
    obj = alloc_fixed(g, size)
    g.emit(f"store ptr {rtt(g, t)}, ptr {obj}, align 8, !tbaa {TBAA_GC}")
    _store(g, "i32", str(count), _gep(g, obj, ARRAY_LEN))
    for k, v in enumerate(vals):
        _store(g, ty, _to_field(g, st, v), _elem_ptr(g, obj, st, str(k)))
    g.push("ptr", obj)


@handler("array.new_data")
def _array_new_data(g: FunctionGen, ins: Instr) -> None:
    t, seg = ins[1], ins[2]
    known = literal_operand(g)
    n32 = g.pop()
    s32 = g.pop()
    st = _array(g, t).field.storage
    es = storage_bytes(st)
    slot = data_slot(g, seg)
    seg_len = g.load_field("i64", slot, 8)
    s = g.value(f"zext i32 {s32} to i64")
    n = g.value(f"zext i32 {n32} to i64")
    nbytes = g.value(f"mul i64 {n}, {es}")
    _bounds(g, s, nbytes, seg_len, abi.TRAP_MEMORY_OOB)
    obj, n, st = _new_array(g, t, n32)
    _declare_bulk(g)
    seg_ptr = g.load_field("ptr", slot, 0)
    src = g.value(f"getelementptr i8, ptr {seg_ptr}, i64 {s}")
    g.emit(f"call void @llvm.memcpy.p0.p0.i64(ptr {_gep(g, obj, ARRAY_DATA)}, ptr {src}, "
           f"i64 {nbytes}, i1 false)")
    charge_length(g, n, known)
    g.push("ptr", obj)


@handler("array.new_elem")
def _array_new_elem(g: FunctionGen, ins: Instr) -> None:
    t, seg = ins[1], ins[2]
    known = literal_operand(g)
    n32 = g.pop()
    s32 = g.pop()
    s = g.value(f"zext i32 {s32} to i64")
    n = g.value(f"zext i32 {n32} to i64")
    r = g.call_helper(abi.H_ARRAY_NEW_ELEM, str((t << 32) | seg), s, n)
    charge_length(g, n, known)
    g.push("ptr", g.value(f"inttoptr i64 {r} to ptr"))


def _index(g: FunctionGen, ref: str, i32: str) -> str:
    """Null and bounds checks of element ``i32`` of array ``ref``; its index as i64."""
    _not_null(g, ref)
    i = g.value(f"zext i32 {i32} to i64")
    ok = g.value(f"icmp ult i64 {i}, {_array_len(g, ref)}")
    g.trap_unless(ok, abi.TRAP_ARRAY_OOB)
    return i


def _array_get(g: FunctionGen, ins: Instr, signed: bool) -> None:
    st = _array(g, ins[1]).field.storage
    i32 = g.pop()
    ref = g.pop()
    i = _index(g, ref, i32)
    v = _load(g, _lltype(st), _elem_ptr(g, ref, st, i))
    g.push(_stack_type(st), _from_field(g, st, v, signed))


@handler("array.get")
def _array_get_plain(g: FunctionGen, ins: Instr) -> None:
    _array_get(g, ins, False)


@handler("array.get_s")
def _array_get_s(g: FunctionGen, ins: Instr) -> None:
    _array_get(g, ins, True)


@handler("array.get_u")
def _array_get_u(g: FunctionGen, ins: Instr) -> None:
    _array_get(g, ins, False)


@handler("array.set")
def _array_set(g: FunctionGen, ins: Instr) -> None:
    st = _array(g, ins[1]).field.storage
    v = g.pop()
    i32 = g.pop()
    ref = g.pop()
    i = _index(g, ref, i32)
    _hold(g, st, v)
    _store(g, _lltype(st), _to_field(g, st, v), _elem_ptr(g, ref, st, i))


@handler("array.len")
def _array_len_op(g: FunctionGen, ins: Instr) -> None:
    ref = g.pop()
    _not_null(g, ref)
    g.push("i32", _load(g, "i32", _gep(g, ref, ARRAY_LEN)))


@handler("array.fill")
def _array_fill(g: FunctionGen, ins: Instr) -> None:
    st = _array(g, ins[1]).field.storage
    known = literal_operand(g)
    n32 = g.pop()
    v = g.pop()
    d32 = g.pop()
    ref = g.pop()
    _not_null(g, ref)
    d = g.value(f"zext i32 {d32} to i64")
    n = g.value(f"zext i32 {n32} to i64")
    _bounds(g, d, n, _array_len(g, ref), abi.TRAP_ARRAY_OOB)
    _hold(g, st, v)
    _fill(g, ref, st, d, n, _to_field(g, st, v))
    charge_length(g, n, known)


@handler("array.copy")
def _array_copy(g: FunctionGen, ins: Instr) -> None:
    st = _array(g, ins[1]).field.storage
    es = storage_bytes(st)
    known = literal_operand(g)
    n32 = g.pop()
    s32 = g.pop()
    src = g.pop()
    d32 = g.pop()
    dst = g.pop()
    _not_null(g, dst)
    _not_null(g, src)
    d = g.value(f"zext i32 {d32} to i64")
    s = g.value(f"zext i32 {s32} to i64")
    n = g.value(f"zext i32 {n32} to i64")
    _bounds(g, d, n, _array_len(g, dst), abi.TRAP_ARRAY_OOB)
    _bounds(g, s, n, _array_len(g, src), abi.TRAP_ARRAY_OOB)
    _declare_bulk(g)
    dp = _elem_ptr(g, dst, st, d)
    sp = _elem_ptr(g, src, st, s)
    nbytes = g.value(f"mul i64 {n}, {es}")
    g.emit(f"call void @llvm.memmove.p0.p0.i64(ptr {dp}, ptr {sp}, i64 {nbytes}, i1 false)")
    charge_length(g, n, known)


@handler("array.init_data")
def _array_init_data(g: FunctionGen, ins: Instr) -> None:
    t, seg = ins[1], ins[2]
    st = _array(g, t).field.storage
    es = storage_bytes(st)
    known = literal_operand(g)
    n32 = g.pop()
    s32 = g.pop()
    d32 = g.pop()
    ref = g.pop()
    _not_null(g, ref)
    d = g.value(f"zext i32 {d32} to i64")
    s = g.value(f"zext i32 {s32} to i64")
    n = g.value(f"zext i32 {n32} to i64")
    _bounds(g, d, n, _array_len(g, ref), abi.TRAP_ARRAY_OOB)
    slot = data_slot(g, seg)
    nbytes = g.value(f"mul i64 {n}, {es}")
    _bounds(g, s, nbytes, g.load_field("i64", slot, 8), abi.TRAP_MEMORY_OOB)
    _declare_bulk(g)
    src = g.value(f"getelementptr i8, ptr {g.load_field('ptr', slot, 0)}, i64 {s}")
    g.emit(f"call void @llvm.memcpy.p0.p0.i64(ptr {_elem_ptr(g, ref, st, d)}, ptr {src}, "
           f"i64 {nbytes}, i1 false)")
    charge_length(g, n, known)


@handler("array.init_elem")
def _array_init_elem(g: FunctionGen, ins: Instr) -> None:
    seg = ins[2]
    known = literal_operand(g)
    n32 = g.pop()
    s32 = g.pop()
    d32 = g.pop()
    ref = g.pop()
    _not_null(g, ref)
    d = g.value(f"zext i32 {d32} to i64")
    s = g.value(f"zext i32 {s32} to i64")
    ds = g.value(f"or i64 {g.value(f'shl i64 {d}, 32')}, {s}")
    n = g.value(f"zext i32 {n32} to i64")
    g.call_helper(abi.H_ARRAY_INIT_ELEM, _i64(g, ref), str(seg), ds, n)
    charge_length(g, n, known)


# ---------------------------------------------------------------- i31, eq, conversions
@handler("ref.i31")
def _ref_i31(g: FunctionGen, ins: Instr) -> None:
    v = g.pop()
    w = g.value(f"zext i32 {v} to i64")
    tagged = g.value(f"or i64 {g.value(f'shl i64 {w}, 1')}, 1")
    low = g.value(f"and i64 {tagged}, 4294967295")
    g.push("ptr", g.value(f"inttoptr i64 {low} to ptr"))


def _i31_get(g: FunctionGen, shift: str) -> None:
    ref = g.pop()
    _not_null(g, ref)
    w = g.value(f"trunc i64 {_i64(g, ref)} to i32")
    g.push("i32", g.value(f"{shift} i32 {w}, 1"))


@handler("i31.get_s")
def _i31_get_s(g: FunctionGen, ins: Instr) -> None:
    _i31_get(g, "ashr")


@handler("i31.get_u")
def _i31_get_u(g: FunctionGen, ins: Instr) -> None:
    _i31_get(g, "lshr")


@handler("ref.eq")
def _ref_eq(g: FunctionGen, ins: Instr) -> None:
    b = g.pop()
    a = g.pop()
    c = g.value(f"icmp eq ptr {a}, {b}")
    g.push("i32", g.value(f"zext i1 {c} to i32"))


@handler("any.convert_extern", "extern.convert_any")
def _convert(g: FunctionGen, ins: Instr) -> None:
    v = g.pop()
    i = _i64(g, v)
    odd = g.value(f"and i64 {i}, 1")
    zero = g.value(f"icmp eq i64 {i}, 0")
    isodd = g.value(f"icmp ne i64 {odd}, 0")
    keep = g.value(f"or i1 {zero}, {isodd}")
    flipped = g.value(f"xor i64 {i}, 2")
    r = g.value(f"select i1 {keep}, i64 {i}, i64 {flipped}")
    g.push("ptr", g.value(f"inttoptr i64 {r} to ptr"))


# ---------------------------------------------------------------- casts
def _is_func(g: FunctionGen, rt: RefType) -> bool:
    h = rt.heap
    if isinstance(h, int):
        return isinstance(g.info.module.deftypes[h].comp, FuncType)
    return h in FUNC_HIERARCHY


def test_ref(g: FunctionGen, v: str, rt: RefType) -> str:
    """An i1: does reference ``v`` match ``rt`` (a module-level reference type)?"""
    h = rt.heap
    i = _i64(g, v)
    isnull = g.value(f"icmp eq i64 {i}, 0")
    if isinstance(h, str):
        if h in ("any", "func", "extern", "exn"):
            r = g.value("xor i1 " + isnull + ", true")
        elif h in ("none", "nofunc", "noextern", "noexn"):
            r = "false"
        elif h == "i31":
            r = g.value(f"icmp ne i64 {g.value(f'and i64 {i}, 1')}, 0")
        elif h == "eq":
            tag = g.value(f"and i64 {i}, 3")
            r = g.value(f"and i1 {g.value(f'icmp ne i64 {tag}, 2')}, "
                        f"{g.value('xor i1 ' + isnull + ', true')}")
        else:  # struct / array
            kind = KIND_STRUCT if h == "struct" else KIND_ARRAY
            r = _object_test(g, v, i, lambda hdr: _kind_is(g, hdr, kind))
    elif _is_func(g, rt):
        r = _func_test(g, v, isnull, h)
    else:
        r = _object_test(g, v, i, lambda hdr: _rtt_matches(g, hdr, h))
    if rt.nullable:
        r = g.value(f"or i1 {r}, {isnull}")
    return r


def _kind_is(g: FunctionGen, hdr: str, kind: int) -> str:
    k = g.value(f"load i32, ptr {_gep(g, hdr, RTT_KIND)}, align 4, !tbaa {TBAA_CTX}, "
                f"!invariant.load {INVARIANT}")
    return g.value(f"icmp eq i32 {k}, {kind}")


def _object_test(g: FunctionGen, v: str, i: str, check) -> str:  # type: ignore[no-untyped-def]
    """``check(header)`` for a GC object, false for null, i31s and host objects."""
    tag = g.value(f"and i64 {i}, 3")
    obj = g.value(f"and i1 {g.value(f'icmp eq i64 {tag}, 0')}, {g.value(f'icmp ne i64 {i}, 0')}")
    start = g.block
    yes = g.new_label()
    done = g.new_label()
    g.emit(f"br i1 {obj}, label %{yes}, label %{done}")
    g.start(yes)
    hdr = g.value(f"load ptr, ptr {v}, align 8, !tbaa {TBAA_GC}")
    r = check(hdr)
    end = g.block
    g.emit(f"br label %{done}")
    g.start(done)
    return g.value(f"phi i1 [ false, %{start} ], [ {r}, %{end} ]")


def _rtt_matches(g: FunctionGen, hdr: str, t: int) -> str:
    """Whether descriptor ``hdr`` is module type ``t`` or a subtype of it."""
    want = rtt(g, t)
    same = g.value(f"icmp eq ptr {hdr}, {want}")
    if g.info.module.deftypes[t].final:
        return same
    depth = _depth(g, t)
    start = g.block
    deep = g.new_label()
    disp = g.new_label()
    done = g.new_label()
    g.emit(f"br i1 {same}, label %{done}, label %{deep}")
    g.start(deep)
    d = g.value(f"load i32, ptr {_gep(g, hdr, RTT_DEPTH)}, align 4, !tbaa {TBAA_CTX}, "
                f"!invariant.load {INVARIANT}")
    deeper = g.value(f"icmp ugt i32 {d}, {depth}")
    g.emit(f"br i1 {deeper}, label %{disp}, label %{done}")
    g.start(disp)
    dp = g.value(f"load ptr, ptr {_gep(g, hdr, RTT_DISPLAY)}, align 8, !tbaa {TBAA_CTX}, "
                 f"!invariant.load {INVARIANT}")
    ep = g.value(f"getelementptr inbounds ptr, ptr {dp}, i64 {depth}")
    e = g.value(f"load ptr, ptr {ep}, align 8, !tbaa {TBAA_CTX}, !invariant.load {INVARIANT}")
    ok = g.value(f"icmp eq ptr {e}, {want}")
    g.emit(f"br label %{done}")
    g.start(done)
    return g.value(f"phi i1 [ true, %{start} ], [ false, %{deep} ], [ {ok}, %{disp} ]")


def _func_test(g: FunctionGen, v: str, isnull: str, t: int) -> str:
    """Whether funcref ``v`` is non-null with a type matching module type ``t``."""
    start = g.block
    chk = g.new_label()
    sub = g.new_label()
    done = g.new_label()
    g.emit(f"br i1 {isnull}, label %{done}, label %{chk}")
    g.start(chk)
    have = g.load_field("i64", v, abi.REC_TYPE, invariant=True)
    want = g.type_id(t)
    same = g.value(f"icmp eq i64 {have}, {want}")
    g.emit(f"br i1 {same}, label %{done}, label %{sub}")
    g.start(sub)
    r = g.call_helper(abi.H_SUBTYPE, have, want)
    ok = g.value(f"icmp ne i64 {r}, 0")
    sub_end = g.block
    g.emit(f"br label %{done}")
    g.start(done)
    return g.value(f"phi i1 [ false, %{start} ], [ true, %{chk} ], [ {ok}, %{sub_end} ]")


@handler("ref.test")
def _ref_test(g: FunctionGen, ins: Instr) -> None:
    v = g.pop()
    r = test_ref(g, v, ins[1])
    g.push("i32", g.value(f"zext i1 {r} to i32"))


@handler("ref.cast")
def _ref_cast(g: FunctionGen, ins: Instr) -> None:
    v = g.stack[-1][1]
    r = test_ref(g, v, ins[1])
    g.trap_unless(r, abi.TRAP_CAST_FAILURE)


def _br_on_cast(g: FunctionGen, ins: Instr, on_fail: bool) -> None:
    label, _rt1, rt2 = ins[1]
    v = g.stack[-1][1]
    r = test_ref(g, v, rt2)
    if on_fail:
        r = g.value(f"xor i1 {r}, true")
    target = g.label(label)
    _conditional(g, target, r, len(target.label_types))


@handler("br_on_cast")
def _br_on_cast_ok(g: FunctionGen, ins: Instr) -> None:
    _br_on_cast(g, ins, False)


@handler("br_on_cast_fail")
def _br_on_cast_fail(g: FunctionGen, ins: Instr) -> None:
    _br_on_cast(g, ins, True)
