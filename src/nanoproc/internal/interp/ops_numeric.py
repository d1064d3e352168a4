"""Numeric instructions: inline Python expressions with exact Wasm semantics.

Integer results are left *inexact* (unmasked) where the consumer can tolerate it
(see :mod:`.exprs`); a bound on their magnitude (``bits``) keeps big-int growth in
check and lets provably small results skip masking altogether. Float semantics
that Python operators get wrong go through :mod:`..exec.numerics` helpers, inlined
as a fast path plus a helper call for the special cases where that pays.
"""

from __future__ import annotations

import operator

from ..exec.values import f32_from_bits, f64_from_bits
from ..syntax.module import Instr
from .exprs import Val, combine
from .translate import HANDLERS, MASKV, SIGN, Handler, Translator, register

_PYOPS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge,
}  # fmt: skip




def _obj(v: Val) -> str:
    """``v``'s code as the object of a method call (``5.bit_length()`` is a syntax error)."""
    return f"({v.code})" if v.code[:1].isdigit() else v.code


def _limit_bits(tr: Translator, a: Val, b: Val, w: int, grow: int) -> tuple[Val, Val]:
    """Mask the larger operand when the result could exceed a sane size."""
    cap = 2 * w + 8
    while a.bits + b.bits > cap + grow or max(a.bits, b.bits) + 1 > cap:
        if a.bits >= b.bits and not a.exact:
            a = tr.exact(a)
        elif not b.exact:
            b = tr.exact(b)
        elif not a.exact:
            a = tr.exact(a)
        else:
            break
    return a, b


# ---------------------------------------------------------------- constants
@register("i32.const")
def _i32_const(tr: Translator, ins: Instr) -> None:
    tr.push(tr.iconst(ins[1], 32))


@register("i64.const")
def _i64_const(tr: Translator, ins: Instr) -> None:
    tr.push(tr.iconst(ins[1], 64))


@register("f32.const")
def _f32_const(tr: Translator, ins: Instr) -> None:
    tr.push(tr.fconst(f32_from_bits(ins[1])))


@register("f64.const")
def _f64_const(tr: Translator, ins: Instr) -> None:
    tr.push(tr.fconst(f64_from_bits(ins[1])))


# ---------------------------------------------------------------- integer arithmetic
def _int_result(code: str, w: int, bits: int, *parts: Val) -> Val:
    """A non-negative integer expression: exact when provably below 2**w."""
    exact = bits <= w and all(p.exact for p in parts)
    return combine(code, *parts, exact=exact, width=w, bits=bits)


def _make_int_binops(prefix: str, w: int) -> None:
    mask = MASKV[w]
    sign = SIGN[w]
    half = (mask + 1) // 2

    def fold(a: Val, b: Val) -> bool:
        return a.const is not None and b.const is not None

    def add(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if fold(a, b):
            tr.push(tr.iconst(a.const + b.const, w))
            return
        if b.const == 0:
            tr.push(a)
            return
        a, b = _limit_bits(tr, a, b, w, 1)
        if b.const is not None and b.const > half:
            c = mask + 1 - b.const  # x + big == x - small (mod 2**w), with smaller ints
            tr.push(combine(f"({a.code} - {c})", a, exact=False, width=w,
                            bits=max(a.bits, c.bit_length()) + 1))
            return
        tr.push(_int_result(f"({a.code} + {b.code})", w, max(a.bits, b.bits) + 1, a, b))

    def sub(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if fold(a, b):
            tr.push(tr.iconst(a.const - b.const, w))
            return
        if b.const == 0:
            tr.push(a)
            return
        a, b = _limit_bits(tr, a, b, w, 1)
        if b.const is not None and b.const > half:
            c = mask + 1 - b.const  # x - big == x + small (mod 2**w)
            tr.push(_int_result(f"({a.code} + {c})", w, max(a.bits, c.bit_length()) + 1, a))
            return
        tr.push(combine(f"({a.code} - {b.code})", a, b, exact=False, width=w,
                        bits=max(a.bits, b.bits) + 1))

    def mul(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if fold(a, b):
            tr.push(tr.iconst(a.const * b.const, w))
            return
        a, b = _limit_bits(tr, a, b, w, w)
        tr.push(_int_result(f"({a.code} * {b.code})", w, a.bits + b.bits, a, b))

    def band(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if fold(a, b):
            tr.push(tr.iconst(a.const & b.const, w))
            return
        if b.const == mask:
            tr.push(tr.exact(a))
            return
        exact = a.exact or b.exact
        bits = min(x.bits for x in (a, b) if x.exact) if exact else max(a.bits, b.bits)
        tr.push(combine(f"({a.code} & {b.code})", a, b, exact=exact, width=w, bits=bits,
                        isbool=a.isbool and b.isbool))

    def bor(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if fold(a, b):
            tr.push(tr.iconst(a.const | b.const, w))
            return
        if b.const == 0:
            tr.push(a)
            return
        exact = a.exact and b.exact
        tr.push(combine(f"({a.code} | {b.code})", a, b, exact=exact, width=w,
                        bits=max(a.bits, b.bits), isbool=a.isbool and b.isbool))

    def bxor(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if fold(a, b):
            tr.push(tr.iconst(a.const ^ b.const, w))
            return
        if b.const == 0:
            tr.push(a)
            return
        exact = a.exact and b.exact
        tr.push(combine(f"({a.code} ^ {b.code})", a, b, exact=exact, width=w,
                        bits=max(a.bits, b.bits)))

    def shl(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if b.const is not None:
            k = b.const & (w - 1)
            if a.const is not None:
                tr.push(tr.iconst(a.const << k, w))
                return
            if k == 0:
                tr.push(a)
                return
            if a.bits + k > 3 * w:
                a = tr.exact(a)
            tr.push(_int_result(f"({a.code} << {k})", w, a.bits + k, a))
            return
        if not a.exact and a.bits > w:
            a = tr.exact(a)
        tr.push(combine(f"({a.code} << ({b.code} & {w - 1}))", a, b, exact=False, width=w,
                        bits=a.bits + w - 1))

    def shr_u(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.exact(tr.pop())
        if b.const is not None:
            k = b.const & (w - 1)
            if a.const is not None:
                tr.push(tr.iconst(a.const >> k, w))
                return
            if k == 0:
                tr.push(a)
                return
            tr.push(combine(f"({a.code} >> {k})", a, exact=True, width=w, bits=max(a.bits - k, 1)))
            return
        tr.push(combine(f"({a.code} >> ({b.code} & {w - 1}))", a, b, exact=True, width=w,
                        bits=a.bits))

    def shr_s(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.exact(tr.pop())
        if b.const is not None:
            k = b.const & (w - 1)
            if k == 0:
                tr.push(a)
                return
            if a.bits < w:  # known non-negative as a signed value
                tr.push(combine(f"({a.code} >> {k})", a, exact=True, width=w,
                                bits=max(a.bits - k, 1)))
                return
            tr.push(combine(f"((({a.code} ^ {sign}) - {sign}) >> {k})", a, exact=False,
                            width=w, bits=w - k))
            return
        tr.push(combine(f"((({a.code} ^ {sign}) - {sign}) >> ({b.code} & {w - 1}))", a, b,
                        exact=False, width=w, bits=w))

    def rot(left: bool) -> Handler:
        helper = f"ROT{'L' if left else 'R'}{w}"

        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.pop()
            a = tr.exact(tr.pop())
            if b.const is not None:
                k = b.const & (w - 1)
                if k == 0:
                    tr.push(a)
                    return
                if not left:
                    k = w - k
                a = tr.simple(a)
                # Unmasked: congruent to the rotation modulo 2**w (the bits shifted
                # out on the left are all above bit w); consumers mask when needed.
                tr.push(combine(f"(({a.code} << {k}) | ({a.code} >> {w - k}))", a,
                                exact=False, width=w, bits=w + k))
                return
            tr.push(combine(f"{helper}({a.code}, {b.code})", a, b, exact=True, width=w, bits=w))

        return handler

    def divu(op: str) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.exact(tr.pop())
            a = tr.exact(tr.pop())
            if b.const:
                if a.const is not None:
                    r = a.const // b.const if op == "//" else a.const % b.const
                    tr.push(tr.iconst(r, w))
                    return
                if b.const & (b.const - 1) == 0:
                    k = b.const.bit_length() - 1
                    if op == "//":
                        tr.push(combine(f"({a.code} >> {k})", a, exact=True, width=w,
                                        bits=max(a.bits - k, 1)))
                    else:
                        tr.push(combine(f"({a.code} & {b.const - 1})", a, exact=True, width=w,
                                        bits=max(k, 1)))
                    return
                tr.push(combine(f"({a.code} {op} {b.code})", a, exact=True, width=w, bits=a.bits))
                return
            v = combine(f"({a.code} {op} {b.code})", a, b, exact=True, width=w, bits=a.bits)
            v.trap = True
            v.pc = tr.out.pc
            tr.push(v)

        return handler

    def divs(helper: str) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.exact(tr.pop())
            a = tr.exact(tr.pop())
            v = combine(f"{helper}({a.code}, {b.code})", a, b, exact=True, width=w, bits=w)
            v.trap = True
            v.pc = tr.out.pc
            tr.push(v)

        return handler

    def cmp(pyop: str, signed: bool) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.exact(tr.pop())
            a = tr.exact(tr.pop())
            if fold(a, b):
                x, y = a.const, b.const
                if signed:
                    x, y = x ^ half, y ^ half
                tr.push(tr.iconst(int(_PYOPS[pyop](x, y)), 32))
                return
            if signed and not (a.bits < w and b.bits < w):
                # Compare the signed values by flipping the sign bit of both sides.
                ac = str(a.const ^ half) if a.const is not None else f"({a.code} ^ {sign})"
                bc = str(b.const ^ half) if b.const is not None else f"({b.code} ^ {sign})"
            else:
                ac, bc = a.code, b.code
            tr.push(combine(f"({ac} {pyop} {bc})", a, b, exact=True, width=32, bits=1,
                            isbool=True))

        return handler

    table = {
        "add": add, "sub": sub, "mul": mul, "and": band, "or": bor, "xor": bxor,
        "shl": shl, "shr_u": shr_u, "shr_s": shr_s, "rotl": rot(True), "rotr": rot(False),
        "div_u": divu("//"), "rem_u": divu("%"),
        "div_s": divs(f"DIVS{w}"), "rem_s": divs(f"REMS{w}"),
        "eq": cmp("==", False), "ne": cmp("!=", False),
        "lt_u": cmp("<", False), "gt_u": cmp(">", False),
        "le_u": cmp("<=", False), "ge_u": cmp(">=", False),
        "lt_s": cmp("<", True), "gt_s": cmp(">", True),
        "le_s": cmp("<=", True), "ge_s": cmp(">=", True),
    }  # fmt: skip
    for n, fn in table.items():
        HANDLERS[f"{prefix}.{n}"] = fn

    def eqz(tr: Translator, ins: Instr) -> None:
        a = tr.pop()
        if a.isbool:
            tr.push(combine(f"(not {a.code})", a, exact=True, width=32, bits=1, isbool=True))
            return
        a = tr.exact(a)
        tr.push(combine(f"({a.code} == 0)", a, exact=True, width=32, bits=1, isbool=True))

    def clz(tr: Translator, ins: Instr) -> None:
        a = tr.exact(tr.pop())
        if a.const is not None:
            tr.push(tr.iconst(w - a.const.bit_length(), w))
            return
        tr.push(combine(f"({w} - {_obj(a)}.bit_length())", a, exact=True, width=w, bits=7))

    def ctz(tr: Translator, ins: Instr) -> None:
        a = tr.exact(tr.pop())
        if a.const is not None:
            c = a.const
            tr.push(tr.iconst((c & -c).bit_length() - 1 if c else w, w))
            return
        tr.push(combine(f"CTZ{w}({a.code})", a, exact=True, width=w, bits=7))

    def popcnt(tr: Translator, ins: Instr) -> None:
        a = tr.exact(tr.pop())
        if a.const is not None:
            tr.push(tr.iconst(a.const.bit_count(), w))
            return
        tr.push(combine(f"{_obj(a)}.bit_count()", a, exact=True, width=w, bits=7))

    def extend(bits_from: int) -> Handler:
        m = (1 << bits_from) - 1
        s = 1 << (bits_from - 1)

        def handler(tr: Translator, ins: Instr) -> None:
            a = tr.pop()
            tr.push(combine(f"((({a.code} & {m:#x}) ^ {s:#x}) - {s:#x})", a, exact=False,
                            width=w, bits=bits_from))

        return handler

    HANDLERS[f"{prefix}.eqz"] = eqz
    HANDLERS[f"{prefix}.clz"] = clz
    HANDLERS[f"{prefix}.ctz"] = ctz
    HANDLERS[f"{prefix}.popcnt"] = popcnt
    HANDLERS[f"{prefix}.extend8_s"] = extend(8)
    HANDLERS[f"{prefix}.extend16_s"] = extend(16)
    if w == 64:
        HANDLERS["i64.extend32_s"] = extend(32)


_make_int_binops("i32", 32)
_make_int_binops("i64", 64)


@register("i32.wrap_i64")
def _wrap(tr: Translator, ins: Instr) -> None:
    a = tr.pop()
    if a.exact and a.bits <= 32:
        tr.push(combine(a.code, a, exact=True, width=32, bits=a.bits, simple=a.simple,
                        isbool=a.isbool, depth=a.depth, const=a.const))
        return
    tr.push(combine(f"({a.code} & 0xFFFFFFFF)", a, exact=True, width=32, bits=32))


@register("i64.extend_i32_u")
def _extend_u(tr: Translator, ins: Instr) -> None:
    a = tr.exact(tr.pop())
    tr.push(combine(a.code, a, exact=True, width=64, bits=a.bits, simple=a.simple,
                    isbool=a.isbool, depth=a.depth, const=a.const))


@register("i64.extend_i32_s")
def _extend_s(tr: Translator, ins: Instr) -> None:
    a = tr.exact(tr.pop())
    if a.bits < 32:
        tr.push(combine(a.code, a, exact=True, width=64, bits=a.bits, simple=a.simple,
                        isbool=a.isbool, depth=a.depth, const=a.const))
        return
    tr.push(combine(f"(({a.code} ^ 0x80000000) - 0x80000000)", a, exact=False, width=64,
                    bits=32))


# ---------------------------------------------------------------- floats
def _make_float_ops(prefix: str, f32: bool) -> None:
    def rounded(code: str) -> str:
        return f"F32R({code})" if f32 else code

    def arith(pyop: str) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.pop()
            a = tr.pop()
            tr.push(combine(rounded(f"({a.code} {pyop} {b.code})"), a, b))

        return handler

    def div(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if b.const:  # a non-zero constant (NaN constants have const None)
            tr.push(combine(rounded(f"({a.code} / {b.code})"), a, b))
            return
        a = tr.simple(a)
        b = tr.simple(b)
        tr.push(combine(rounded(f"({a.code} / {b.code} if {b.code} else FDIV({a.code}, {b.code}))"),
                        a, b))

    def minmax(lt: str, helper: str) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.simple(tr.pop())
            a = tr.simple(tr.pop())
            tr.push(combine(
                f"({a.code} if {a.code} {lt} {b.code} else {b.code} if {b.code} {lt} {a.code} "
                f"else {helper}({a.code}, {b.code}))", a, b))

        return handler

    def cmp(pyop: str) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.pop()
            a = tr.pop()
            tr.push(combine(f"({a.code} {pyop} {b.code})", a, b, width=32, bits=1, isbool=True))

        return handler

    def unary(template: str, need_simple: bool = False) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            a = tr.pop()
            if need_simple:
                a = tr.simple(a)
            tr.push(combine(template.format(a=a.code), a))

        return handler

    def copysign(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        tr.push(combine(f"COPYSIGN({a.code}, {b.code})", a, b))

    sqrt = "F32R(SQRT({a}) if {a} >= 0.0 else FSQRT({a}))" if f32 else \
        "(SQRT({a}) if {a} >= 0.0 else FSQRT({a}))"  # fmt: skip
    table = {
        "add": arith("+"), "sub": arith("-"), "mul": arith("*"), "div": div,
        "min": minmax("<", "FMIN"), "max": minmax(">", "FMAX"), "copysign": copysign,
        "eq": cmp("=="), "ne": cmp("!="), "lt": cmp("<"), "gt": cmp(">"),
        "le": cmp("<="), "ge": cmp(">="),
        "abs": unary("abs({a})"), "neg": unary("(-{a})"),
        "sqrt": unary(sqrt, need_simple=True),
        "ceil": unary("FCEIL({a})"), "floor": unary("FFLOOR({a})"),
        "trunc": unary("FTRUNC({a})"), "nearest": unary("FNEAREST({a})"),
    }  # fmt: skip
    for n, fn in table.items():
        HANDLERS[f"{prefix}.{n}"] = fn


_make_float_ops("f32", True)
_make_float_ops("f64", False)


# ---------------------------------------------------------------- conversions
def _conv(name: str, template: str, *, width: int = 0, exact: bool = True, bits: int = 64,
          trap: bool = False, need_exact: bool = False) -> None:
    def handler(tr: Translator, ins: Instr) -> None:
        a = tr.pop()
        if need_exact:
            a = tr.exact(a)
        v = combine(template.format(a=a.code), a, exact=exact, width=width, bits=bits)
        if trap:
            v.trap = True
            v.pc = tr.out.pc
        tr.push(v)

    HANDLERS[name] = handler


for _src in ("f32", "f64"):
    _conv(f"i32.trunc_{_src}_s", "TRS32({a})", width=32, bits=32, trap=True)
    _conv(f"i32.trunc_{_src}_u", "TRU32({a})", width=32, bits=32, trap=True)
    _conv(f"i64.trunc_{_src}_s", "TRS64({a})", width=64, bits=64, trap=True)
    _conv(f"i64.trunc_{_src}_u", "TRU64({a})", width=64, bits=64, trap=True)
    _conv(f"i32.trunc_sat_{_src}_s", "TSS32({a})", width=32, bits=32)
    _conv(f"i32.trunc_sat_{_src}_u", "TSU32({a})", width=32, bits=32)
    _conv(f"i64.trunc_sat_{_src}_s", "TSS64({a})", width=64, bits=64)
    _conv(f"i64.trunc_sat_{_src}_u", "TSU64({a})", width=64, bits=64)

_conv("f32.convert_i32_s", "F32R(float(({a} ^ 0x80000000) - 0x80000000))", need_exact=True)
_conv("f32.convert_i32_u", "F32R(float({a}))", need_exact=True)
_conv("f32.convert_i64_s", "F32I(({a} ^ 0x8000000000000000) - 0x8000000000000000)",
      need_exact=True)
_conv("f32.convert_i64_u", "F32I({a})", need_exact=True)
_conv("f64.convert_i32_s", "float(({a} ^ 0x80000000) - 0x80000000)", need_exact=True)
_conv("f64.convert_i32_u", "float({a})", need_exact=True)
_conv("f64.convert_i64_s", "float(({a} ^ 0x8000000000000000) - 0x8000000000000000)",
      need_exact=True)
_conv("f64.convert_i64_u", "float({a})", need_exact=True)
_conv("f32.demote_f64", "F32R({a})")
_conv("f64.promote_f32", "({a} * 1.0)")
_conv("i32.reinterpret_f32", "F32BITS({a})", width=32, bits=32)
_conv("i64.reinterpret_f64", "F64BITS({a})", width=64, bits=64)
_conv("f32.reinterpret_i32", "F32FROM({a})", need_exact=True)
_conv("f64.reinterpret_i64", "F64FROM({a})", need_exact=True)
