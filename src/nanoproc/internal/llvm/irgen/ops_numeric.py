"""Numeric instructions: constants, integer and float arithmetic, comparisons, and
conversions, driven by the operator table's names (``i32.add`` -> ``add i32``).

Where LLVM and Wasm differ, the Wasm rule is spelled out: shift counts are masked,
division traps on zero and on overflow (and ``rem_s`` of INT_MIN by -1 is 0),
float-to-int truncation traps on NaN and out-of-range values, and f32 constants
that are NaNs are built from their bits so the payload survives.
"""

from __future__ import annotations

from ...syntax.module import Instr
from .. import abi
from .function import FunctionGen, handler
from .types import f32_is_nan, f32_literal, f64_literal

INT = {"i32": 32, "i64": 64}
FLOAT = {"f32": "float", "f64": "double"}


# ---------------------------------------------------------------- constants
@handler("i32.const")
def _i32_const(g: FunctionGen, ins: Instr) -> None:
    g.push("i32", str(_signed(ins[1], 32)))


@handler("i64.const")
def _i64_const(g: FunctionGen, ins: Instr) -> None:
    g.push("i64", str(_signed(ins[1], 64)))


@handler("f32.const")
def _f32_const(g: FunctionGen, ins: Instr) -> None:
    bits = ins[1] & 0xFFFF_FFFF
    if f32_is_nan(bits):
        g.push("float", g.value(f"bitcast i32 {_signed(bits, 32)} to float"))
    else:
        g.push("float", f32_literal(bits))


@handler("f64.const")
def _f64_const(g: FunctionGen, ins: Instr) -> None:
    g.push("double", f64_literal(ins[1]))


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


# ---------------------------------------------------------------- integers
def _int_binary(instr: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        g.push(t, g.value(f"{instr} {t} {a}, {b}"))

    return h


def _shift(instr: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        n = g.value(f"and {t} {b}, {INT[t] - 1}")
        g.push(t, g.value(f"{instr} {t} {a}, {n}"))

    return h


def _rotate(which: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        g.intrinsic(f"declare {t} @llvm.{which}.{t}({t}, {t}, {t})")
        g.push(t, g.value(f"call {t} @llvm.{which}.{t}({t} {a}, {t} {a}, {t} {b})"))

    return h


def _compare(pred: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        c = g.value(f"icmp {pred} {t} {a}, {b}")
        g.push("i32", g.value(f"zext i1 {c} to i32"))

    return h


def _divide(instr: str, signed: bool, rem: bool):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        nz = g.value(f"icmp ne {t} {b}, 0")
        g.trap_unless(nz, abi.TRAP_DIV_ZERO)
        if signed and rem:
            # INT_MIN rem -1 is 0 in Wasm (the hardware would fault): divide by 1.
            m1 = g.value(f"icmp eq {t} {b}, -1")
            b = g.value(f"select i1 {m1}, {t} 1, {t} {b}")
        elif signed:
            mn = g.value(f"icmp eq {t} {a}, {-(1 << (INT[t] - 1))}")
            m1 = g.value(f"icmp eq {t} {b}, -1")
            both = g.value(f"and i1 {mn}, {m1}")
            ok = g.value(f"xor i1 {both}, true")
            g.trap_unless(ok, abi.TRAP_INT_OVERFLOW)
        g.push(t, g.value(f"{instr} {t} {a}, {b}"))

    return h


def _bitcount(which: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        t, a = g.stack.pop()
        if which == "ctpop":
            g.intrinsic(f"declare {t} @llvm.ctpop.{t}({t})")
            g.push(t, g.value(f"call {t} @llvm.ctpop.{t}({t} {a})"))
        else:
            g.intrinsic(f"declare {t} @llvm.{which}.{t}({t}, i1)")
            g.push(t, g.value(f"call {t} @llvm.{which}.{t}({t} {a}, i1 false)"))

    return h


def _eqz(g: FunctionGen, ins: Instr) -> None:
    t, a = g.stack.pop()
    c = g.value(f"icmp eq {t} {a}, 0")
    g.push("i32", g.value(f"zext i1 {c} to i32"))


def _extend_in_place(bits: int):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        t, a = g.stack.pop()
        n = g.value(f"trunc {t} {a} to i{bits}")
        g.push(t, g.value(f"sext i{bits} {n} to {t}"))

    return h


for _w in INT:
    for _op, _ll in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("and", "and"),
                     ("or", "or"), ("xor", "xor")):  # fmt: skip
        handler(f"{_w}.{_op}")(_int_binary(_ll))
    for _op, _ll in (("shl", "shl"), ("shr_s", "ashr"), ("shr_u", "lshr")):
        handler(f"{_w}.{_op}")(_shift(_ll))
    handler(f"{_w}.rotl")(_rotate("fshl"))
    handler(f"{_w}.rotr")(_rotate("fshr"))
    for _op, _pred in (("eq", "eq"), ("ne", "ne"), ("lt_s", "slt"), ("lt_u", "ult"),
                       ("gt_s", "sgt"), ("gt_u", "ugt"), ("le_s", "sle"), ("le_u", "ule"),
                       ("ge_s", "sge"), ("ge_u", "uge")):  # fmt: skip
        handler(f"{_w}.{_op}")(_compare(_pred))
    handler(f"{_w}.div_s")(_divide("sdiv", True, False))
    handler(f"{_w}.div_u")(_divide("udiv", False, False))
    handler(f"{_w}.rem_s")(_divide("srem", True, True))
    handler(f"{_w}.rem_u")(_divide("urem", False, True))
    handler(f"{_w}.clz")(_bitcount("ctlz"))
    handler(f"{_w}.ctz")(_bitcount("cttz"))
    handler(f"{_w}.popcnt")(_bitcount("ctpop"))
    handler(f"{_w}.eqz")(_eqz)
handler("i32.extend8_s", "i64.extend8_s")(_extend_in_place(8))
handler("i32.extend16_s", "i64.extend16_s")(_extend_in_place(16))
handler("i64.extend32_s")(_extend_in_place(32))


# ---------------------------------------------------------------- floats
def canonical(g: FunctionGen, t: str, v: str) -> str:
    """``v`` through ``llvm.canonicalize``: a NaN result must be quiet in Wasm, but LLVM
    may fold ``x * 1.0`` (and the like) to ``x``, which keeps a signalling NaN. Where
    the arithmetic survives optimisation the call is pruned again (see jit)."""
    suffix = "f32" if t == "float" else "f64"
    g.intrinsic(f"declare {t} @llvm.canonicalize.{suffix}({t})")
    return g.value(f"call {t} @llvm.canonicalize.{suffix}({t} {v})")


def _float_binary(instr: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        g.push(t, canonical(g, t, g.value(f"{instr} {t} {a}, {b}")))

    return h


def _float_intrinsic(name: str, arity: int, quiet: bool = False):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        args = [g.pop() for _ in range(arity - 1)][::-1]
        t, a = g.stack.pop()
        suffix = "f32" if t == "float" else "f64"
        params = ", ".join([t] * arity)
        g.intrinsic(f"declare {t} @llvm.{name}.{suffix}({params})")
        ops = ", ".join(f"{t} {x}" for x in [a, *args])
        r = g.value(f"call {t} @llvm.{name}.{suffix}({ops})")
        g.push(t, canonical(g, t, r) if quiet else r)

    return h


def _fcompare(pred: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        b = g.pop()
        t, a = g.stack.pop()
        c = g.value(f"fcmp {pred} {t} {a}, {b}")
        g.push("i32", g.value(f"zext i1 {c} to i32"))

    return h


def _fneg(g: FunctionGen, ins: Instr) -> None:
    t, a = g.stack.pop()
    g.push(t, g.value(f"fneg {t} {a}"))


for _w in FLOAT:
    for _op, _ll in (("add", "fadd"), ("sub", "fsub"), ("mul", "fmul"), ("div", "fdiv")):
        handler(f"{_w}.{_op}")(_float_binary(_ll))
    handler(f"{_w}.min")(_float_intrinsic("minimum", 2, quiet=True))
    handler(f"{_w}.max")(_float_intrinsic("maximum", 2, quiet=True))
    handler(f"{_w}.copysign")(_float_intrinsic("copysign", 2))
    for _op, _ll in (("abs", "fabs"), ("sqrt", "sqrt"), ("ceil", "ceil"), ("floor", "floor"),
                     ("trunc", "trunc"), ("nearest", "roundeven")):  # fmt: skip
        handler(f"{_w}.{_op}")(_float_intrinsic(_ll, 1))
    handler(f"{_w}.neg")(_fneg)
    for _op, _pred in (("eq", "oeq"), ("ne", "une"), ("lt", "olt"), ("gt", "ogt"),
                       ("le", "ole"), ("ge", "oge")):  # fmt: skip
        handler(f"{_w}.{_op}")(_fcompare(_pred))


# ---------------------------------------------------------------- conversions
def _cast(instr: str, to: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        t, a = g.stack.pop()
        g.push(to, g.value(f"{instr} {t} {a} to {to}"))

    return h


handler("i32.wrap_i64")(_cast("trunc", "i32"))
handler("i64.extend_i32_s")(_cast("sext", "i64"))
handler("i64.extend_i32_u")(_cast("zext", "i64"))
def _float_convert(instr: str, to: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        t, a = g.stack.pop()
        g.push(to, canonical(g, to, g.value(f"{instr} {t} {a} to {to}")))

    return h


handler("f32.demote_f64")(_float_convert("fptrunc", "float"))
handler("f64.promote_f32")(_float_convert("fpext", "double"))
handler("i32.reinterpret_f32")(_cast("bitcast", "i32"))
handler("i64.reinterpret_f64")(_cast("bitcast", "i64"))
handler("f32.reinterpret_i32")(_cast("bitcast", "float"))
handler("f64.reinterpret_i64")(_cast("bitcast", "double"))
for _dst, _dt in (("f32", "float"), ("f64", "double")):
    for _src in INT:
        handler(f"{_dst}.convert_{_src}_s")(_cast("sitofp", _dt))
        handler(f"{_dst}.convert_{_src}_u")(_cast("uitofp", _dt))

# Trapping truncation: valid inputs lie strictly between these bounds (as doubles, which
# hold every f32 exactly); a NaN is an invalid conversion, anything else out of range an
# integer overflow. The lower bound of i64_s is itself valid (INT64_MIN).
_TRUNC_BOUNDS = {
    ("i32", "s"): (-2147483649.0, 2147483648.0, False),
    ("i32", "u"): (-1.0, 4294967296.0, False),
    ("i64", "s"): (-9223372036854775808.0, 9223372036854775808.0, True),
    ("i64", "u"): (-1.0, 18446744073709551616.0, False),
}


def _double_literal(x: float) -> str:
    import struct

    return f64_literal(struct.unpack("<Q", struct.pack("<d", x))[0])


def _trunc(dst: str, sign: str):  # type: ignore[no-untyped-def]
    lo, hi, lo_inclusive = _TRUNC_BOUNDS[(dst, sign)]

    def h(g: FunctionGen, ins: Instr) -> None:
        t, a = g.stack.pop()
        x = a if t == "double" else g.value(f"fpext float {a} to double")
        ordered = g.value(f"fcmp ord double {x}, {x}")
        g.trap_unless(ordered, abi.TRAP_BAD_CONVERSION)
        above = g.value(f"fcmp {'oge' if lo_inclusive else 'ogt'} double {x}, {_double_literal(lo)}")
        below = g.value(f"fcmp olt double {x}, {_double_literal(hi)}")
        ok = g.value(f"and i1 {above}, {below}")
        g.trap_unless(ok, abi.TRAP_INT_OVERFLOW)
        g.push(dst, g.value(f"fpto{sign}i double {x} to {dst}"))

    return h


def _trunc_sat(dst: str, sign: str):  # type: ignore[no-untyped-def]
    def h(g: FunctionGen, ins: Instr) -> None:
        t, a = g.stack.pop()
        suffix = "f32" if t == "float" else "f64"
        name = f"llvm.fpto{sign}i.sat.{dst}.{suffix}"
        g.intrinsic(f"declare {dst} @{name}({t})")
        g.push(dst, g.value(f"call {dst} @{name}({t} {a})"))

    return h


for _dst in INT:
    for _src in FLOAT:
        for _sign in ("s", "u"):
            handler(f"{_dst}.trunc_{_src}_{_sign}")(_trunc(_dst, _sign))
            handler(f"{_dst}.trunc_sat_{_src}_{_sign}")(_trunc_sat(_dst, _sign))
