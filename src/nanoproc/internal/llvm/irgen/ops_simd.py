"""SIMD instructions (v128) as LLVM vector operations.

A v128 value is an LLVM ``<2 x i64>`` on the operand stack, in locals and in
global cells; each instruction bitcasts its operands to the lane type it works on
(``<16 x i8>``, ``<4 x float>``, ...), which costs nothing, and LLVM maps the vector
operations onto the host's SIMD instructions. Where Wasm and LLVM differ the Wasm
rule is spelled out: shift counts are taken modulo the lane width, saturating
narrowing clamps first, float-to-int conversions saturate, f32x4/f64x2 arithmetic
NaNs are quieted (as the scalar ones, see ops_numeric.canonical).

Relaxed instructions compute what wasmtime computes on x86-64 (with FMA), written
in target-independent IR so every host gives the same bits (docs/simd.md); on
x86-64 a few use the instruction wasmtime uses directly.

Memory accesses go through :func:`.ops_memory.effective_address`, so every load
and store form keeps the tier's bounds check.
"""

from __future__ import annotations

import platform

from ...syntax.module import Instr
from ...syntax.ops import BY_NAME
from .function import TBAA_MEM, FunctionGen, handler
from .ops_memory import _sync_if_always_traps, effective_address

V = "<2 x i64>"
"""The type every v128 value has between instructions."""

ELEM = {"i8x16": "i8", "i16x8": "i16", "i32x4": "i32", "i64x2": "i64", "f32x4": "float",
        "f64x2": "double"}
COUNT = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}
BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "float": 32, "double": 64}
X86 = platform.machine().lower() in ("x86_64", "amd64")


def vt(shape: str) -> str:
    return f"<{COUNT[shape]} x {ELEM[shape]}>"


def _vec(n: int, e: str) -> str:
    return f"<{n} x {e}>"


def cast(g: FunctionGen, v: str, src: str, dst: str) -> str:
    return v if src == dst else g.value(f"bitcast {src} {v} to {dst}")


def pop(g: FunctionGen, shape: str = "i64x2") -> str:
    """Pop a v128 as ``shape``'s vector type."""
    t, v = g.stack.pop()
    assert t == V, t
    return cast(g, v, V, vt(shape))


def push(g: FunctionGen, v: str, shape: str = "i64x2") -> None:
    g.push(V, cast(g, v, vt(shape), V))


def const_vec(n: int, e: str, lanes: list[int | str]) -> str:
    return "<" + ", ".join(f"{e} {x}" for x in lanes) + ">"


def splat_const(shape: str, x: int | str) -> str:
    return const_vec(COUNT[shape], ELEM[shape], [x] * COUNT[shape])


def splat(g: FunctionGen, n: int, e: str, x: str) -> str:
    t = _vec(n, e)
    ins = g.value(f"insertelement {t} poison, {e} {x}, i32 0")
    return g.value(f"shufflevector {t} {ins}, {t} poison, <{n} x i32> zeroinitializer")


def intrinsic(g: FunctionGen, name: str, ret: str, *args: tuple[str, str]) -> str:
    g.intrinsic(f"declare {ret} @{name}({', '.join(t for t, _ in args)})")
    return g.value(f"call {ret} @{name}({', '.join(f'{t} {v}' for t, v in args)})")


def _suffix(n: int, e: str) -> str:
    return f"v{n}{'f32' if e == 'float' else 'f64' if e == 'double' else e}"


def vcall(g: FunctionGen, base: str, n: int, e: str, *vals: str) -> str:
    """``llvm.<base>.v<n><e>(vals...)`` on vectors of that type."""
    t = _vec(n, e)
    return intrinsic(g, f"llvm.{base}.{_suffix(n, e)}", t, *[(t, v) for v in vals])


def canonical(g: FunctionGen, n: int, e: str, v: str) -> str:
    """The NaN lanes of an arithmetic result made quiet (see ops_numeric.canonical; jit
    prunes it again where the arithmetic survived optimisation)."""
    return vcall(g, "canonicalize", n, e, v)


def quiet(g: FunctionGen, n: int, e: str, v: str) -> str:
    """The NaN lanes of ``v`` made quiet, in integer operations: for results of
    operations other than plain arithmetic. (LLVM may narrow a ``<4 x float>``
    canonicalize to ``<2 x float>`` around shuffles, which x86 cannot lower.)"""
    t = _vec(n, e)
    it = _vec(n, "i32" if e == "float" else "i64")
    q = 0x0040_0000 if e == "float" else 0x0008_0000_0000_0000
    nan = g.value(f"fcmp uno {t} {v}, {v}")
    bits = g.value(f"bitcast {t} {v} to {it}")
    qb = g.value(f"or {it} {bits}, {const_vec(n, it[it.index('x') + 2:-1], [q] * n)}")
    qf = g.value(f"bitcast {it} {qb} to {t}")
    return g.value(f"select <{n} x i1> {nan}, {t} {qf}, {t} {v}")


def shuffle(g: FunctionGen, t: str, a: str, b: str, lanes: list[int]) -> str:
    mask = "<" + ", ".join(f"i32 {i}" for i in lanes) + ">"
    return g.value(f"shufflevector {t} {a}, {t} {b}, <{len(lanes)} x i32> {mask}")


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


# ---------------------------------------------------------------- constants, bitwise
@handler("v128.const")
def _v128_const(g: FunctionGen, ins: Instr) -> None:
    v = int.from_bytes(ins[1], "little")
    g.push(V, f"<i64 {_signed(v, 64)}, i64 {_signed(v >> 64, 64)}>")


ONES = "<i64 -1, i64 -1>"


def _bitwise(op: str, invert_b: bool = False):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g)
        a = pop(g)
        if invert_b:
            b = g.value(f"xor {V} {b}, {ONES}")
        g.push(V, g.value(f"{op} {V} {a}, {b}"))

    return h


handler("v128.and")(_bitwise("and"))
handler("v128.or")(_bitwise("or"))
handler("v128.xor")(_bitwise("xor"))
handler("v128.andnot")(_bitwise("and", True))


@handler("v128.not")
def _not(g: FunctionGen, ins: Instr) -> None:
    g.push(V, g.value(f"xor {V} {pop(g)}, {ONES}"))


def bitselect(g: FunctionGen, a: str, b: str, c: str) -> str:
    x = g.value(f"xor {V} {a}, {b}")
    m = g.value(f"and {V} {x}, {c}")
    return g.value(f"xor {V} {b}, {m}")


@handler("v128.bitselect")
def _bitselect(g: FunctionGen, ins: Instr) -> None:
    c = pop(g)
    b = pop(g)
    a = pop(g)
    g.push(V, bitselect(g, a, b, c))


@handler("v128.any_true")
def _any_true(g: FunctionGen, ins: Instr) -> None:
    x = g.value(f"bitcast {V} {pop(g)} to i128")
    nz = g.value(f"icmp ne i128 {x}, 0")
    g.push("i32", g.value(f"zext i1 {nz} to i32"))


def _mask_bits(g: FunctionGen, n: int, m: str) -> str:
    """An ``<n x i1>`` as an i32 of n bits."""
    b = g.value(f"bitcast <{n} x i1> {m} to i{n}")
    return b if n == 32 else g.value(f"zext i{n} {b} to i32")


def _all_true(shape: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        a = pop(g, shape)
        nz = g.value(f"icmp ne {vt(shape)} {a}, zeroinitializer")
        bits = g.value(f"bitcast <{n} x i1> {nz} to i{n}")
        ok = g.value(f"icmp eq i{n} {bits}, -1")
        g.push("i32", g.value(f"zext i1 {ok} to i32"))

    del e
    return h


def _bitmask(shape: str):  # type: ignore[no-untyped-def]
    n = COUNT[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        a = pop(g, shape)
        neg = g.value(f"icmp slt {vt(shape)} {a}, zeroinitializer")
        g.push("i32", _mask_bits(g, n, neg))

    return h


# ---------------------------------------------------------------- integer lane-wise
INT_SHAPES = ("i8x16", "i16x8", "i32x4", "i64x2")


def _binop(shape: str, instr: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        push(g, g.value(f"{instr} {vt(shape)} {a}, {b}"), shape)

    return h


def _intrinsic2(shape: str, base: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        push(g, vcall(g, base, COUNT[shape], ELEM[shape], a, b), shape)

    return h


def _neg(shape: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        push(g, g.value(f"sub {vt(shape)} zeroinitializer, {pop(g, shape)}"), shape)

    return h


def _abs(shape: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        a = pop(g, shape)
        t = vt(shape)
        name = f"llvm.abs.{_suffix(n, e)}"
        push(g, intrinsic(g, name, t, (t, a), ("i1", "false")), shape)

    return h


_PRED = {"eq": "eq", "ne": "ne", "lt_s": "slt", "lt_u": "ult", "gt_s": "sgt", "gt_u": "ugt",
         "le_s": "sle", "le_u": "ule", "ge_s": "sge", "ge_u": "uge"}
_FPRED = {"eq": "oeq", "ne": "une", "lt": "olt", "gt": "ogt", "le": "ole", "ge": "oge"}


def _compare(shape: str, pred: str, fcmp: bool = False):  # type: ignore[no-untyped-def]
    n = COUNT[shape]
    lane = f"i{BITS[ELEM[shape]]}"

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        c = g.value(f"{'fcmp' if fcmp else 'icmp'} {pred} {vt(shape)} {a}, {b}")
        r = g.value(f"sext <{n} x i1> {c} to <{n} x {lane}>")
        g.push(V, cast(g, r, f"<{n} x {lane}>", V))

    return h


def _shift(shape: str, instr: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]
    w = BITS[e]

    def h(g: FunctionGen, ins: Instr) -> None:
        _, k = g.stack.pop()
        a = pop(g, shape)
        if k.lstrip("-").isdigit():
            amount = splat_const(shape, int(k) & (w - 1))
        else:
            m = g.value(f"and i32 {k}, {w - 1}")
            if w < 32:
                m = g.value(f"trunc i32 {m} to {e}")
            elif w == 64:
                m = g.value(f"zext i32 {m} to i64")
            amount = splat(g, n, e, m)
        push(g, g.value(f"{instr} {vt(shape)} {a}, {amount}"), shape)

    return h


def _avgr(shape: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]
    wide = f"<{n} x i{2 * BITS[e]}>"

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        x = g.value(f"zext {vt(shape)} {a} to {wide}")
        y = g.value(f"zext {vt(shape)} {b} to {wide}")
        s = g.value(f"add {wide} {x}, {y}")
        s1 = g.value(f"add {wide} {s}, {const_vec(n, f'i{2 * BITS[e]}', [1] * n)}")
        r = g.value(f"lshr {wide} {s1}, {const_vec(n, f'i{2 * BITS[e]}', [1] * n)}")
        push(g, g.value(f"trunc {wide} {r} to {vt(shape)}"), shape)

    return h


for _s in INT_SHAPES:
    _e = ELEM[_s]
    handler(f"{_s}.add")(_binop(_s, "add"))
    handler(f"{_s}.sub")(_binop(_s, "sub"))
    handler(f"{_s}.neg")(_neg(_s))
    handler(f"{_s}.abs")(_abs(_s))
    handler(f"{_s}.all_true")(_all_true(_s))
    handler(f"{_s}.bitmask")(_bitmask(_s))
    handler(f"{_s}.shl")(_shift(_s, "shl"))
    handler(f"{_s}.shr_s")(_shift(_s, "ashr"))
    handler(f"{_s}.shr_u")(_shift(_s, "lshr"))
    for _n, _p in _PRED.items():
        if f"{_s}.{_n}" in BY_NAME:
            handler(f"{_s}.{_n}")(_compare(_s, _p))
    if _s != "i8x16":
        handler(f"{_s}.mul")(_binop(_s, "mul"))
    if _s in ("i8x16", "i16x8", "i32x4"):
        for _n, _b in (("min_s", "smin"), ("min_u", "umin"), ("max_s", "smax"), ("max_u", "umax")):
            handler(f"{_s}.{_n}")(_intrinsic2(_s, _b))
    if _s in ("i8x16", "i16x8"):
        for _n, _b in (("add_sat_s", "sadd.sat"), ("add_sat_u", "uadd.sat"),
                       ("sub_sat_s", "ssub.sat"), ("sub_sat_u", "usub.sat")):  # fmt: skip
            handler(f"{_s}.{_n}")(_intrinsic2(_s, _b))
        handler(f"{_s}.avgr_u")(_avgr(_s))


@handler("i8x16.popcnt")
def _popcnt(g: FunctionGen, ins: Instr) -> None:
    a = pop(g, "i8x16")
    t = vt("i8x16")
    push(g, intrinsic(g, "llvm.ctpop.v16i8", t, (t, a)), "i8x16")


# ---------------------------------------------------------------- splat, lanes, shuffles
def _splat(shape: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        _, x = g.stack.pop()
        if e in ("i8", "i16"):
            x = g.value(f"trunc i32 {x} to {e}")
        push(g, splat(g, n, e, x), shape)

    return h


def _extract(shape: str, ext: str):  # type: ignore[no-untyped-def]
    e = ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        a = pop(g, shape)
        x = g.value(f"extractelement {vt(shape)} {a}, i32 {ins[1]}")
        if ext:
            x = g.value(f"{ext} {e} {x} to i32")
            g.push("i32", x)
        else:
            g.push(e, x)

    return h


def _replace(shape: str):  # type: ignore[no-untyped-def]
    e = ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        _, x = g.stack.pop()
        a = pop(g, shape)
        if e in ("i8", "i16"):
            x = g.value(f"trunc i32 {x} to {e}")
        push(g, g.value(f"insertelement {vt(shape)} {a}, {e} {x}, i32 {ins[1]}"), shape)

    return h


for _s in ELEM:
    handler(f"{_s}.splat")(_splat(_s))
    handler(f"{_s}.replace_lane")(_replace(_s))
    if _s in ("i8x16", "i16x8"):
        handler(f"{_s}.extract_lane_s")(_extract(_s, "sext"))
        handler(f"{_s}.extract_lane_u")(_extract(_s, "zext"))
    else:
        handler(f"{_s}.extract_lane")(_extract(_s, ""))


@handler("i8x16.shuffle")
def _shuffle(g: FunctionGen, ins: Instr) -> None:
    b = pop(g, "i8x16")
    a = pop(g, "i8x16")
    push(g, shuffle(g, vt("i8x16"), a, b, list(ins[1])), "i8x16")


def _pshufb(g: FunctionGen, a: str, idx: str) -> str:
    """x86 pshufb: lane ``idx & 15`` of ``a``, or 0 where ``idx`` has bit 7 set."""
    t = vt("i8x16")
    if X86:
        return intrinsic(g, "llvm.x86.ssse3.pshuf.b.128", t, (t, a), (t, idx))
    r = "zeroinitializer"
    for i in range(16):
        j = g.value(f"extractelement {t} {idx}, i32 {i}")
        lo = g.value(f"and i8 {j}, 15")
        x = g.value(f"extractelement {t} {a}, i8 {lo}")
        hi = g.value(f"icmp slt i8 {j}, 0")
        y = g.value(f"select i1 {hi}, i8 0, i8 {x}")
        r = g.value(f"insertelement {t} {r}, i8 {y}, i32 {i}")
    return r


@handler("i8x16.swizzle")
def _swizzle(g: FunctionGen, ins: Instr) -> None:
    s = pop(g, "i8x16")
    a = pop(g, "i8x16")
    t = vt("i8x16")
    out = g.value(f"icmp ugt {t} {s}, {splat_const('i8x16', 15)}")
    idx = g.value(f"select <16 x i1> {out}, {t} {splat_const('i8x16', -128)}, {t} {s}")
    push(g, _pshufb(g, a, idx), "i8x16")


@handler("i8x16.relaxed_swizzle")
def _relaxed_swizzle(g: FunctionGen, ins: Instr) -> None:
    s = pop(g, "i8x16")
    a = pop(g, "i8x16")
    push(g, _pshufb(g, a, s), "i8x16")


# ---------------------------------------------------------------- narrow, extend, widen
_NARROWER = {"i16x8": "i8x16", "i32x4": "i16x8", "i64x2": "i32x4"}


def _narrow(shape: str, signed: bool):  # type: ignore[no-untyped-def]
    src = {"i8x16": "i16x8", "i16x8": "i32x4"}[shape]
    n = COUNT[shape]
    se = ELEM[src]
    w = BITS[ELEM[shape]]
    lo, hi = ((-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1))

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, src)
        a = pop(g, src)
        both = shuffle(g, vt(src), a, b, list(range(n)))
        x = vcall(g, "smax", n, se, both, const_vec(n, se, [lo] * n))
        y = vcall(g, "smin", n, se, x, const_vec(n, se, [hi] * n))
        push(g, g.value(f"trunc <{n} x {se}> {y} to {vt(shape)}"), shape)

    return h


handler("i8x16.narrow_i16x8_s")(_narrow("i8x16", True))
handler("i8x16.narrow_i16x8_u")(_narrow("i8x16", False))
handler("i16x8.narrow_i32x4_s")(_narrow("i16x8", True))
handler("i16x8.narrow_i32x4_u")(_narrow("i16x8", False))


def _half(g: FunctionGen, shape: str, v: str, high: bool, ext: str) -> str:
    """Lanes of the low or high half of narrow ``shape`` ``v``, extended to twice the
    width (returns a vector of the wider shape's type)."""
    n = COUNT[shape] // 2
    e = ELEM[shape]
    part = shuffle(g, vt(shape), v, "poison", list(range(n, 2 * n) if high else range(n)))
    return g.value(f"{ext} <{n} x {e}> {part} to <{n} x i{2 * BITS[e]}>")


def _extend(shape: str, high: bool, signed: bool):  # type: ignore[no-untyped-def]
    narrow = _NARROWER[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        a = pop(g, narrow)
        push(g, _half(g, narrow, a, high, "sext" if signed else "zext"), shape)

    return h


def _extmul(shape: str, high: bool, signed: bool):  # type: ignore[no-untyped-def]
    narrow = _NARROWER[shape]
    ext = "sext" if signed else "zext"

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, narrow)
        a = pop(g, narrow)
        x = _half(g, narrow, a, high, ext)
        y = _half(g, narrow, b, high, ext)
        push(g, g.value(f"mul {vt(shape)} {x}, {y}"), shape)

    return h


def _pairs(g: FunctionGen, t: str, v: str, n: int) -> tuple[str, str]:
    """Even and odd lanes of an ``n``-lane vector."""
    return (shuffle(g, t, v, "poison", list(range(0, n, 2))),
            shuffle(g, t, v, "poison", list(range(1, n, 2))))  # fmt: skip


def _extadd(shape: str, signed: bool):  # type: ignore[no-untyped-def]
    narrow = _NARROWER[shape]
    n = COUNT[narrow]
    ext = "sext" if signed else "zext"

    def h(g: FunctionGen, ins: Instr) -> None:
        a = pop(g, narrow)
        wide = g.value(f"{ext} {vt(narrow)} {a} to <{n} x i{2 * BITS[ELEM[narrow]]}>")
        even, odd = _pairs(g, f"<{n} x i{2 * BITS[ELEM[narrow]]}>", wide, n)
        push(g, g.value(f"add {vt(shape)} {even}, {odd}"), shape)

    return h


for _s, _narrow_s in _NARROWER.items():
    for _high in (False, True):
        for _signed_ in (True, False):
            _half_name = "high" if _high else "low"
            _sg = "s" if _signed_ else "u"
            handler(f"{_s}.extend_{_half_name}_{_narrow_s}_{_sg}")(_extend(_s, _high, _signed_))
            handler(f"{_s}.extmul_{_half_name}_{_narrow_s}_{_sg}")(_extmul(_s, _high, _signed_))
    if _s != "i64x2":
        handler(f"{_s}.extadd_pairwise_{_narrow_s}_s")(_extadd(_s, True))
        handler(f"{_s}.extadd_pairwise_{_narrow_s}_u")(_extadd(_s, False))


@handler("i32x4.dot_i16x8_s")
def _dot(g: FunctionGen, ins: Instr) -> None:
    b = pop(g, "i16x8")
    a = pop(g, "i16x8")
    x = g.value(f"sext <8 x i16> {a} to <8 x i32>")
    y = g.value(f"sext <8 x i16> {b} to <8 x i32>")
    p = g.value(f"mul <8 x i32> {x}, {y}")
    even, odd = _pairs(g, "<8 x i32>", p, 8)
    push(g, g.value(f"add <4 x i32> {even}, {odd}"), "i32x4")


def _q15(g: FunctionGen, saturate: bool) -> None:
    b = pop(g, "i16x8")
    a = pop(g, "i16x8")
    x = g.value(f"sext <8 x i16> {a} to <8 x i32>")
    y = g.value(f"sext <8 x i16> {b} to <8 x i32>")
    p = g.value(f"mul <8 x i32> {x}, {y}")
    r = g.value(f"add <8 x i32> {p}, {const_vec(8, 'i32', [0x4000] * 8)}")
    s = g.value(f"ashr <8 x i32> {r}, {const_vec(8, 'i32', [15] * 8)}")
    if saturate:
        s = vcall(g, "smin", 8, "i32", s, const_vec(8, "i32", [32767] * 8))
    push(g, g.value(f"trunc <8 x i32> {s} to <8 x i16>"), "i16x8")


@handler("i16x8.q15mulr_sat_s")
def _q15mulr(g: FunctionGen, ins: Instr) -> None:
    _q15(g, True)


@handler("i16x8.relaxed_q15mulr_s")
def _relaxed_q15mulr(g: FunctionGen, ins: Instr) -> None:
    _q15(g, False)  # pmulhrsw: -32768 * -32768 wraps to -32768


def _pmaddubsw(g: FunctionGen, a: str, b: str) -> str:
    """Unsigned bytes of ``b`` times signed bytes of ``a``, adjacent pairs added with
    signed saturation to 16 bits (x86 pmaddubsw with ``b`` as its first operand)."""
    t = vt("i8x16")
    if X86:
        return intrinsic(g, "llvm.x86.ssse3.pmadd.ub.sw.128", "<8 x i16>", (t, b), (t, a))
    x = g.value(f"sext {t} {a} to <16 x i32>")
    y = g.value(f"zext {t} {b} to <16 x i32>")
    p = g.value(f"mul <16 x i32> {x}, {y}")
    even, odd = _pairs(g, "<16 x i32>", p, 16)
    s = g.value(f"add <8 x i32> {even}, {odd}")
    s = vcall(g, "smax", 8, "i32", s, const_vec(8, "i32", [-32768] * 8))
    s = vcall(g, "smin", 8, "i32", s, const_vec(8, "i32", [32767] * 8))
    return g.value(f"trunc <8 x i32> {s} to <8 x i16>")


@handler("i16x8.relaxed_dot_i8x16_i7x16_s")
def _relaxed_dot(g: FunctionGen, ins: Instr) -> None:
    b = pop(g, "i8x16")
    a = pop(g, "i8x16")
    push(g, _pmaddubsw(g, a, b), "i16x8")


@handler("i32x4.relaxed_dot_i8x16_i7x16_add_s")
def _relaxed_dot_add(g: FunctionGen, ins: Instr) -> None:
    c = pop(g, "i32x4")
    b = pop(g, "i8x16")
    a = pop(g, "i8x16")
    d = _pmaddubsw(g, a, b)
    w = g.value(f"sext <8 x i16> {d} to <8 x i32>")
    even, odd = _pairs(g, "<8 x i32>", w, 8)
    s = g.value(f"add <4 x i32> {even}, {odd}")
    push(g, g.value(f"add <4 x i32> {s}, {c}"), "i32x4")


# ---------------------------------------------------------------- floats
FLOAT_SHAPES = ("f32x4", "f64x2")


def _fbinary(shape: str, instr: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        push(g, canonical(g, n, e, g.value(f"{instr} {vt(shape)} {a}, {b}")), shape)

    return h


def _funary(shape: str, base: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        push(g, vcall(g, base, n, e, pop(g, shape)), shape)

    return h


def _fminmax(shape: str, base: str):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        push(g, quiet(g, n, e, vcall(g, base, n, e, a, b)), shape)

    return h


def _select_lanes(shape: str, pred: str, take_b_when_b_first: bool):  # type: ignore[no-untyped-def]
    """Lane-wise ``(b PRED a) ? b : a`` on the bits (pmin/pmax, relaxed min/max)."""
    n = COUNT[shape]
    lane = f"<{n} x i{BITS[ELEM[shape]]}>"

    def h(g: FunctionGen, ins: Instr) -> None:
        b = pop(g, shape)
        a = pop(g, shape)
        c = (g.value(f"fcmp {pred} {vt(shape)} {b}, {a}") if take_b_when_b_first
             else g.value(f"fcmp {pred} {vt(shape)} {a}, {b}"))  # fmt: skip
        ai = cast(g, a, vt(shape), lane)
        bi = cast(g, b, vt(shape), lane)
        r = g.value(f"select <{n} x i1> {c}, {lane} {bi}, {lane} {ai}")
        g.push(V, cast(g, r, lane, V))

    return h


def _fsign(shape: str, negate: bool):  # type: ignore[no-untyped-def]
    w = BITS[ELEM[shape]]
    sign = 1 << (w - 1)

    def h(g: FunctionGen, ins: Instr) -> None:
        lanes = f"<{128 // w} x i{w}>"
        a = cast(g, pop(g), V, lanes)
        if negate:
            r = g.value(f"xor {lanes} {a}, {const_vec(128 // w, f'i{w}', [_signed(sign, w)] * (128 // w))}")
        else:
            r = g.value(f"and {lanes} {a}, {const_vec(128 // w, f'i{w}', [sign - 1] * (128 // w))}")
        g.push(V, cast(g, r, lanes, V))

    return h


for _s in FLOAT_SHAPES:
    for _n, _ll in (("add", "fadd"), ("sub", "fsub"), ("mul", "fmul"), ("div", "fdiv")):
        handler(f"{_s}.{_n}")(_fbinary(_s, _ll))
    handler(f"{_s}.sqrt")(_funary(_s, "sqrt"))
    for _n, _ll in (("ceil", "ceil"), ("floor", "floor"), ("trunc", "trunc"),
                    ("nearest", "roundeven")):  # fmt: skip
        handler(f"{_s}.{_n}")(_funary(_s, _ll))
    handler(f"{_s}.min")(_fminmax(_s, "minimum"))
    handler(f"{_s}.max")(_fminmax(_s, "maximum"))
    handler(f"{_s}.pmin")(_select_lanes(_s, "olt", True))   # b < a ? b : a
    handler(f"{_s}.pmax")(_select_lanes(_s, "olt", False))  # a < b ? b : a
    handler(f"{_s}.relaxed_min")(_select_lanes(_s, "olt", True))  # minps, b first
    handler(f"{_s}.relaxed_max")(_select_lanes(_s, "ogt", True))  # maxps, b first
    handler(f"{_s}.abs")(_fsign(_s, False))
    handler(f"{_s}.neg")(_fsign(_s, True))
    for _n, _p in _FPRED.items():
        handler(f"{_s}.{_n}")(_compare(_s, _p, fcmp=True))


def _madd(shape: str, negate: bool):  # type: ignore[no-untyped-def]
    n, e = COUNT[shape], ELEM[shape]

    def h(g: FunctionGen, ins: Instr) -> None:
        c = pop(g, shape)
        b = pop(g, shape)
        a = pop(g, shape)
        if negate:
            a = g.value(f"fneg {vt(shape)} {a}")
        push(g, quiet(g, n, e, vcall(g, "fma", n, e, a, b, c)), shape)

    return h


for _s in FLOAT_SHAPES:
    handler(f"{_s}.relaxed_madd")(_madd(_s, False))
    handler(f"{_s}.relaxed_nmadd")(_madd(_s, True))


# ---------------------------------------------------------------- conversions
@handler("f32x4.convert_i32x4_s", "f32x4.convert_i32x4_u")
def _convert4(g: FunctionGen, ins: Instr) -> None:
    op = "sitofp" if ins[0].name.endswith("_s") else "uitofp"
    push(g, g.value(f"{op} <4 x i32> {pop(g, 'i32x4')} to <4 x float>"), "f32x4")


@handler("f64x2.convert_low_i32x4_s", "f64x2.convert_low_i32x4_u")
def _convert_low(g: FunctionGen, ins: Instr) -> None:
    op = "sitofp" if ins[0].name.endswith("_s") else "uitofp"
    low = shuffle(g, "<4 x i32>", pop(g, "i32x4"), "poison", [0, 1])
    push(g, g.value(f"{op} <2 x i32> {low} to <2 x double>"), "f64x2")


def _sat_name(sign: str, n: int, src: str) -> str:
    return f"llvm.fpto{sign}i.sat.v{n}i32.{_suffix(n, src)}"


@handler("i32x4.trunc_sat_f32x4_s", "i32x4.trunc_sat_f32x4_u", "i32x4.relaxed_trunc_f32x4_u")
def _trunc_sat4(g: FunctionGen, ins: Instr) -> None:
    sign = "s" if ins[0].name.endswith("_s") else "u"
    r = intrinsic(g, _sat_name(sign, 4, "float"), "<4 x i32>", ("<4 x float>", pop(g, "f32x4")))
    push(g, r, "i32x4")


def _zero_high(g: FunctionGen, v: str) -> str:
    """A ``<2 x i32>`` as an i32x4 whose high lanes are 0."""
    return shuffle(g, "<2 x i32>", v, "zeroinitializer", [0, 1, 2, 3])


@handler("i32x4.trunc_sat_f64x2_s_zero", "i32x4.trunc_sat_f64x2_u_zero",
         "i32x4.relaxed_trunc_f64x2_u_zero")
def _trunc_sat2(g: FunctionGen, ins: Instr) -> None:
    sign = "s" if "_s_" in ins[0].name else "u"
    r = intrinsic(g, _sat_name(sign, 2, "double"), "<2 x i32>", ("<2 x double>", pop(g, "f64x2")))
    push(g, _zero_high(g, r), "i32x4")


def _cvtt(g: FunctionGen, n: int, e: str, a: str) -> str:
    """cvttps2dq / cvttpd2dq: truncation toward zero; NaN and out-of-range lanes give
    0x80000000."""
    t = _vec(n, e)
    if e == "float":  # -2147483648.0 is the least f32 in range
        above = g.value(f"fcmp oge {t} {a}, {const_vec(n, e, ['0xC1E0000000000000'] * n)}")
    else:  # -2147483649.0 < x
        above = g.value(f"fcmp ogt {t} {a}, {const_vec(n, e, ['0xC1E0000000200000'] * n)}")
    below = g.value(f"fcmp olt {t} {a}, {const_vec(n, e, ['0x41E0000000000000'] * n)}")
    ok = g.value(f"and <{n} x i1> {above}, {below}")
    safe = g.value(f"select <{n} x i1> {ok}, {t} {a}, {t} zeroinitializer")
    r = g.value(f"fptosi {t} {safe} to <{n} x i32>")
    return g.value(f"select <{n} x i1> {ok}, <{n} x i32> {r}, <{n} x i32> "
                   f"{const_vec(n, 'i32', [-(1 << 31)] * n)}")


@handler("i32x4.relaxed_trunc_f32x4_s")
def _relaxed_trunc4(g: FunctionGen, ins: Instr) -> None:
    push(g, _cvtt(g, 4, "float", pop(g, "f32x4")), "i32x4")


@handler("i32x4.relaxed_trunc_f64x2_s_zero")
def _relaxed_trunc2(g: FunctionGen, ins: Instr) -> None:
    push(g, _zero_high(g, _cvtt(g, 2, "double", pop(g, "f64x2"))), "i32x4")


@handler("f32x4.demote_f64x2_zero")
def _demote(g: FunctionGen, ins: Instr) -> None:
    r = g.value(f"fptrunc <2 x double> {pop(g, 'f64x2')} to <2 x float>")
    r = quiet(g, 2, "float", r)
    push(g, shuffle(g, "<2 x float>", r, "zeroinitializer", [0, 1, 2, 3]), "f32x4")


@handler("f64x2.promote_low_f32x4")
def _promote(g: FunctionGen, ins: Instr) -> None:
    low = shuffle(g, "<4 x float>", pop(g, "f32x4"), "poison", [0, 1])
    r = g.value(f"fpext <2 x float> {low} to <2 x double>")
    push(g, quiet(g, 2, "double", r), "f64x2")


# ---------------------------------------------------------------- relaxed lane select
def _laneselect(shape: str):  # type: ignore[no-untyped-def]
    """blendv: lanes of ``a`` where the mask lane's top bit is set, else of ``b``; x86
    has no 16-bit blend, so wasmtime's i16x8 form is a bitselect."""

    def h(g: FunctionGen, ins: Instr) -> None:
        m = pop(g, shape)
        b = pop(g, shape)
        a = pop(g, shape)
        if shape == "i16x8":
            c = [cast(g, x, vt(shape), V) for x in (a, b, m)]
            g.push(V, bitselect(g, *c))
            return
        t = vt(shape)
        neg = g.value(f"icmp slt {t} {m}, zeroinitializer")
        push(g, g.value(f"select <{COUNT[shape]} x i1> {neg}, {t} {a}, {t} {b}"), shape)

    return h


for _s in INT_SHAPES:
    handler(f"{_s}.relaxed_laneselect")(_laneselect(_s))


# ---------------------------------------------------------------- memory
def _access(g: FunctionGen, ins: Instr, width: int) -> str:
    _, offset, m = ins[1]
    _sync_if_always_traps(g, m, offset, width)
    return effective_address(g, m, offset, width)


def _load(g: FunctionGen, p: str, t: str) -> str:
    return g.value(f"load {t}, ptr {p}, align 1, !tbaa {TBAA_MEM}")


@handler("v128.load")
def _v128_load(g: FunctionGen, ins: Instr) -> None:
    g.push(V, _load(g, _access(g, ins, 16), V))


@handler("v128.store")
def _v128_store(g: FunctionGen, ins: Instr) -> None:
    _, offset, m = ins[1]
    _sync_if_always_traps(g, m, offset, 16)
    v = pop(g)
    p = effective_address(g, m, offset, 16)
    g.emit(f"store {V} {v}, ptr {p}, align 1, !tbaa {TBAA_MEM}")


_EXT_LOADS = {
    "v128.load8x8_s": ("i8", "i16", "sext"), "v128.load8x8_u": ("i8", "i16", "zext"),
    "v128.load16x4_s": ("i16", "i32", "sext"), "v128.load16x4_u": ("i16", "i32", "zext"),
    "v128.load32x2_s": ("i32", "i64", "sext"), "v128.load32x2_u": ("i32", "i64", "zext"),
}  # fmt: skip


def _ext_load(src: str, dst: str, ext: str):  # type: ignore[no-untyped-def]
    n = 64 // BITS[src]

    def h(g: FunctionGen, ins: Instr) -> None:
        x = _load(g, _access(g, ins, 8), f"<{n} x {src}>")
        r = g.value(f"{ext} <{n} x {src}> {x} to <{n} x {dst}>")
        g.push(V, cast(g, r, f"<{n} x {dst}>", V))

    return h


for _name, (_src, _dst, _ext) in _EXT_LOADS.items():
    handler(_name)(_ext_load(_src, _dst, _ext))


def _load_splat(e: str):  # type: ignore[no-untyped-def]
    n = 128 // BITS[e]

    def h(g: FunctionGen, ins: Instr) -> None:
        x = _load(g, _access(g, ins, BITS[e] // 8), e)
        r = splat(g, n, e, x)
        g.push(V, cast(g, r, f"<{n} x {e}>", V))

    return h


def _load_zero(e: str):  # type: ignore[no-untyped-def]
    n = 128 // BITS[e]

    def h(g: FunctionGen, ins: Instr) -> None:
        x = _load(g, _access(g, ins, BITS[e] // 8), e)
        r = g.value(f"insertelement <{n} x {e}> zeroinitializer, {e} {x}, i32 0")
        g.push(V, cast(g, r, f"<{n} x {e}>", V))

    return h


for _e in ("i8", "i16", "i32", "i64"):
    handler(f"v128.load{BITS[_e]}_splat")(_load_splat(_e))
handler("v128.load32_zero")(_load_zero("i32"))
handler("v128.load64_zero")(_load_zero("i64"))


def _load_lane(e: str):  # type: ignore[no-untyped-def]
    n = 128 // BITS[e]
    t = f"<{n} x {e}>"

    def h(g: FunctionGen, ins: Instr) -> None:
        v = cast(g, pop(g), V, t)
        x = _load(g, _access(g, ins, BITS[e] // 8), e)
        r = g.value(f"insertelement {t} {v}, {e} {x}, i32 {ins[2]}")
        g.push(V, cast(g, r, t, V))

    return h


def _store_lane(e: str):  # type: ignore[no-untyped-def]
    n = 128 // BITS[e]
    t = f"<{n} x {e}>"

    def h(g: FunctionGen, ins: Instr) -> None:
        _, offset, m = ins[1]
        _sync_if_always_traps(g, m, offset, BITS[e] // 8)
        v = cast(g, pop(g), V, t)
        p = effective_address(g, m, offset, BITS[e] // 8)
        x = g.value(f"extractelement {t} {v}, i32 {ins[2]}")
        g.emit(f"store {e} {x}, ptr {p}, align 1, !tbaa {TBAA_MEM}")

    return h


for _e in ("i8", "i16", "i32", "i64"):
    handler(f"v128.load{BITS[_e]}_lane")(_load_lane(_e))
    handler(f"v128.store{BITS[_e]}_lane")(_store_lane(_e))
