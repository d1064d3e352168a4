"""SIMD instructions (v128) in the interp tier.

A v128 is one Python int in ``[0, 2**128)``, lane 0 in the low bits, everywhere: on
the operand stack, in locals, globals, parameters and results (see
:mod:`.simd_lanes` for why). What a few big-int operations can do is inlined here
(SWAR: "SIMD within a register"): bitwise operations, lane-wise add/sub/neg/abs,
equality, all_true, shifts by a constant, splats, lane extraction and replacement,
and most loads and stores. Everything else calls a function of :mod:`.simd_lanes`
(bound into the generated code's builtins as ``V_<shape>_<op>``).

Every v128 expression is exact: its value is already in ``[0, 2**128)``.

Loads and stores are bounds-checked as the scalar ones are: ``struct`` accessors and
indexing of the exactly sized memory view raise on an out-of-bounds address, which
becomes the trap.
"""

from __future__ import annotations

from operator import itemgetter

from ..syntax.module import Instr
from ..syntax.ops import BY_NAME
from .exprs import Val, combine
from .ops_memory import _address, _always_traps, _sync_before_trap
from .simd_lanes import (
    BYTES,
    LOAD_EXTEND,
    M128,
    OPS,
    helper_name,
    hi_bits,
    lane_mask,
    shift_masks,
)
from .translate import HANDLERS, Handler, Translator, trap_pc

WIDTH = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32, "f64x2": 64}


def _rep(w: int, lane: int) -> int:
    return lane * (M128 // lane_mask(w))


def _hex(v: int) -> str:
    return hex(v)


def _v(code: str, *parts: Val) -> Val:
    """A v128 expression over ``parts``."""
    return combine(code, *parts, exact=True, width=0, bits=128)


def as_bytes(tr: Translator, v: Val) -> str:
    """Code for ``v``'s 16 bytes: the bytes a BYTES helper returned when ``v`` is still
    its pending result (no int in between), a literal for a constant, else converted."""
    made = tr.__dict__.get("simd_bytes")
    if made is not None:
        hit = made.get(id(v))
        if hit is not None and hit[0] is v:
            return hit[1]  # type: ignore[no-any-return]
    if v.const is not None:
        return repr(v.const.to_bytes(16, "little"))
    return f"({v.code}).to_bytes(16, 'little')"


def from_bytes(tr: Translator, code: str, *parts: Val) -> Val:
    """The v128 whose 16 bytes ``code`` computes (remembered for as_bytes)."""
    v = _v(f"int.from_bytes({code}, 'little')", *parts)
    made = tr.__dict__.setdefault("simd_bytes", {})
    made[id(v)] = (v, code)  # the entry keeps v alive: its id cannot be reused
    return v


def _i32(code: str, *parts: Val, bits: int = 32, exact: bool = True, isbool: bool = False) -> Val:
    return combine(code, *parts, exact=exact, width=32, bits=bits, isbool=isbool)


# ---------------------------------------------------------------- constants, bitwise
def _v128_const(tr: Translator, ins: Instr) -> None:
    value = int.from_bytes(ins[1], "little")
    tr.push(Val(_hex(value), simple=True, const=value, width=0, bits=128))


HANDLERS["v128.const"] = _v128_const


def _binary(template: str, simple: bool = False) -> Handler:
    def h(tr: Translator, ins: Instr) -> None:
        b = tr.pop()
        a = tr.pop()
        if simple:
            a, b = tr.simple(a), tr.simple(b)
        tr.push(_v(template.format(a=a.code, b=b.code), a, b))

    return h


def _unary(template: str, simple: bool = False) -> Handler:
    def h(tr: Translator, ins: Instr) -> None:
        a = tr.pop()
        if simple:
            a = tr.simple(a)
        tr.push(_v(template.format(a=a.code), a))

    return h


HANDLERS["v128.not"] = _unary(f"({{a}} ^ {_hex(M128)})")
HANDLERS["v128.and"] = _binary("({a} & {b})")
HANDLERS["v128.or"] = _binary("({a} | {b})")
HANDLERS["v128.xor"] = _binary("({a} ^ {b})")
HANDLERS["v128.andnot"] = _binary("({a} & ~{b})")


def _bitselect(tr: Translator, ins: Instr) -> None:
    c = tr.pop()
    b = tr.pop()
    a = tr.simple(tr.pop())  # a, then b: Wasm's order of evaluation (and of traps)
    b = tr.simple(b)
    tr.push(_v(f"({b.code} ^ (({a.code} ^ {b.code}) & {c.code}))", a, b, c))


HANDLERS["v128.bitselect"] = _bitselect


def _any_true(tr: Translator, ins: Instr) -> None:
    a = tr.pop()
    tr.push(_i32(f"({a.code} != 0)", a, bits=1, isbool=True))


HANDLERS["v128.any_true"] = _any_true


# ---------------------------------------------------------------- lane-wise integer (SWAR)
def _swar(shape: str) -> None:
    w = WIDTH[shape]
    h = _hex(hi_bits(w))
    lo = _hex(M128 ^ hi_bits(w))
    lm = _hex(lane_mask(w))
    top = w - 1
    HANDLERS[f"{shape}.add"] = _binary(f"((({{a}} & {lo}) + ({{b}} & {lo})) ^ (({{a}} ^ {{b}}) & {h}))",
                                       simple=True)
    HANDLERS[f"{shape}.sub"] = _binary(
        f"((({{a}} | {h}) - ({{b}} & {lo})) ^ (({{a}} ^ {{b}} ^ {h}) & {h}))", simple=True)
    HANDLERS[f"{shape}.neg"] = _unary(f"(({h} - ({{a}} & {lo})) ^ (~{{a}} & {h}))", simple=True)
    # ne: a lane of a ^ b is nonzero iff its top bit, or the carry out of adding
    # 0x7F.. to its other bits, is set

    def compare(eq: bool) -> Handler:
        def handler(tr: Translator, ins: Instr) -> None:
            b = tr.pop()
            a = tr.pop()
            t = tr.temp()
            x = f"({t} := ({a.code} ^ {b.code}))"
            code = f"(((((({x} & {lo}) + {lo}) | {t}) & {h}) >> {top}) * {lm})"
            if eq:
                code = f"({code} ^ {_hex(M128)})"
            tr.push(_v(code, a, b))

        return handler

    HANDLERS[f"{shape}.eq"] = compare(True)
    HANDLERS[f"{shape}.ne"] = compare(False)

    def all_true(tr: Translator, ins: Instr) -> None:
        a = tr.simple(tr.pop())
        tr.push(_i32(f"((((({a.code} & {lo}) + {lo}) | {a.code}) & {h}) == {h})", a, bits=1,
                     isbool=True))

    HANDLERS[f"{shape}.all_true"] = all_true

    if shape != "i8x16":  # i8x16.abs is a byte table lookup (simd_lanes)
        def absolute(tr: Translator, ins: Instr) -> None:
            a = tr.simple(tr.pop())
            s = tr.temp()
            tr.push(_v(f"(({a.code} ^ (({s} := (({a.code} & {h}) >> {top})) * {lm})) + {s})", a))

        HANDLERS[f"{shape}.abs"] = absolute

    def shift(kind: str) -> Handler:
        fallback = helper_name(f"{shape}.{kind}")

        def handler(tr: Translator, ins: Instr) -> None:
            k = tr.pop()
            a = tr.pop()
            if k.const is None:
                k = tr.exact(k)
                tr.push(_v(f"{fallback}({a.code}, {k.code})", a, k))
                return
            n = k.const & (w - 1)
            if n == 0:
                tr.push(a)
                return
            shl_mask, shr_mask, fill = shift_masks(w, n)
            if kind == "shl":
                code = f"(({a.code} << {n}) & {_hex(shl_mask)})"
            elif kind == "shr_u":
                code = f"(({a.code} >> {n}) & {_hex(shr_mask)})"
            else:
                a = tr.simple(a)
                code = (f"((({a.code} >> {n}) & {_hex(shr_mask)}) | "
                        f"((({a.code} & {h}) >> {top}) * {_hex(fill)}))")
            tr.push(_v(code, a))

        return handler

    for kind in ("shl", "shr_u", "shr_s"):
        HANDLERS[f"{shape}.{kind}"] = shift(kind)


for _shape in ("i8x16", "i16x8", "i32x4", "i64x2"):
    _swar(_shape)


def _fbits(shape: str) -> None:
    sign = hi_bits(WIDTH[shape])
    HANDLERS[f"{shape}.abs"] = _unary(f"({{a}} & {_hex(M128 ^ sign)})")
    HANDLERS[f"{shape}.neg"] = _unary(f"({{a}} ^ {_hex(sign)})")


_fbits("f32x4")
_fbits("f64x2")


# ---------------------------------------------------------------- splat, lanes
def _splat(shape: str) -> Handler:
    w = WIDTH[shape]
    rep = _hex(_rep(w, 1))

    def h(tr: Translator, ins: Instr) -> None:
        x = tr.pop()
        if shape == "f32x4":
            code = f"F32BITS({x.code})"
        elif shape == "f64x2":
            code = f"F64BITS({x.code})"
        elif w < 32 and not (x.exact and x.bits <= w):
            code = f"({x.code} & {_hex(lane_mask(w))})"
        else:
            code = tr.exact(x).code
            x = tr.exact(x)
        tr.push(_v(f"({code} * {rep})", x))

    return h


for _shape in WIDTH:
    HANDLERS[f"{_shape}.splat"] = _splat(_shape)


def _lane_bits(tr: Translator, a: Val, w: int, lane: int) -> str:
    """The bits of lane ``lane`` of ``a``, unsigned."""
    s = w * lane
    if s + w == 128:
        return f"({a.code} >> {s})" if s else a.code
    shifted = f"({a.code} >> {s})" if s else a.code
    return f"({shifted} & {_hex(lane_mask(w))})"


def _extract(shape: str, signed: bool) -> Handler:
    w = WIDTH[shape]

    def h(tr: Translator, ins: Instr) -> None:
        a = tr.pop()
        bits = _lane_bits(tr, a, w, ins[1])
        if shape == "f32x4":
            tr.push(combine(f"F32FROM({bits})", a))
        elif shape == "f64x2":
            tr.push(combine(f"F64FROM({bits})", a))
        elif signed:
            s = 1 << (w - 1)
            tr.push(_i32(f"(({bits} ^ {s:#x}) - {s:#x})", a, bits=w, exact=False))
        elif w == 64:
            tr.push(combine(bits, a, exact=True, width=64, bits=64))
        else:
            tr.push(_i32(bits, a, bits=w))

    return h


for _shape, _w in WIDTH.items():
    if _w < 32:
        HANDLERS[f"{_shape}.extract_lane_s"] = _extract(_shape, True)
        HANDLERS[f"{_shape}.extract_lane_u"] = _extract(_shape, False)
    else:
        HANDLERS[f"{_shape}.extract_lane"] = _extract(_shape, False)


def _replace(shape: str) -> Handler:
    w = WIDTH[shape]

    def h(tr: Translator, ins: Instr) -> None:
        x = tr.pop()
        a = tr.pop()
        s = w * ins[1]
        clear = M128 ^ (lane_mask(w) << s)
        if shape == "f32x4":
            bits = f"F32BITS({x.code})"
        elif shape == "f64x2":
            bits = f"F64BITS({x.code})"
        elif x.exact and x.bits <= w:
            bits = x.code
        else:
            bits = f"({x.code} & {_hex(lane_mask(w))})"
        moved = f"({bits} << {s})" if s else bits
        tr.push(_v(f"(({a.code} & {_hex(clear)}) | {moved})", a, x))

    return h


for _shape in WIDTH:
    HANDLERS[f"{_shape}.replace_lane"] = _replace(_shape)


def _shuffle(tr: Translator, ins: Instr) -> None:
    """The lanes are known: an ``itemgetter`` of them (a constant of the code) picks the
    bytes of ``a`` (and ``b`` when any lane is 16 or more) in one call."""
    b = tr.pop()
    a = tr.pop()
    lanes = bytes(ins[1])
    if all(i < 16 for i in lanes):
        if b.trap:  # unused, but evaluated (and may trap) after a
            a = tr.simple(a)
            tr.materialize(b)
        src, parts = as_bytes(tr, a), [a]
    elif all(i >= 16 for i in lanes):
        if a.trap:  # unused, but evaluated (and may trap) before b
            tr.materialize(a)
        src, parts = as_bytes(tr, b), [b]
        lanes = bytes(i - 16 for i in lanes)
    else:
        src = f"{as_bytes(tr, a)} + {as_bytes(tr, b)}"
        parts = [a, b]
    name = f"SHUF_{lanes.hex()}"
    tr.consts[name] = itemgetter(*lanes)
    tr.push(from_bytes(tr, f"bytes({name}({src}))", *parts))


HANDLERS["i8x16.shuffle"] = _shuffle


# ---------------------------------------------------------------- everything else: helpers
def _helper_call(name: str, arity: int) -> Handler:
    fn = helper_name(name)
    result = BY_NAME[name].results[0].name

    def h(tr: Translator, ins: Instr) -> None:
        args = tr.popn(arity)
        if name in BYTES:
            code = f"{fn}({', '.join(as_bytes(tr, a) for a in args)})"
            tr.push(from_bytes(tr, code, *args))
            return
        code = f"{fn}({', '.join(a.code for a in args)})"
        if result == "i32":
            tr.push(_i32(code, *args))
        else:
            tr.push(_v(code, *args))

    return h


for _name, _fn in OPS.items():
    if _name not in HANDLERS:
        HANDLERS[_name] = _helper_call(_name, len(BY_NAME[_name].params))


# ---------------------------------------------------------------- memory
def _mem_value(tr: Translator, ins: Instr, template: str, gives_bytes: bool) -> None:
    """Push a v128 read from memory: ``template`` with ``{m}`` and ``{ea}``;
    ``gives_bytes``: its code computes the vector's bytes, not the int."""
    always = _always_traps(tr, ins)
    if always:
        _sync_before_trap(tr)
    ea, a = _address(tr, ins)
    m = ins[1][2]
    code = template.format(m=m, ea=ea)
    v = from_bytes(tr, code, a) if gives_bytes else _v(code, a)
    v.state = True
    if not v.trap:
        v.trap = True
        v.pc = tr.out.pc
    tr.push(tr.materialize(v) if always else v)


_LOADS = {
    "v128.load8_splat": f"(M{{m}}[{{ea}}] * {_hex(_rep(8, 1))})",
    "v128.load16_splat": f"(LU16(M{{m}}, {{ea}})[0] * {_hex(_rep(16, 1))})",
    "v128.load32_splat": f"(LI32(M{{m}}, {{ea}})[0] * {_hex(_rep(32, 1))})",
    "v128.load64_splat": f"(LI64(M{{m}}, {{ea}})[0] * {_hex(_rep(64, 1))})",
    "v128.load32_zero": "LI32(M{m}, {ea})[0]",
    "v128.load64_zero": "LI64(M{m}, {ea})[0]",
}
"""Loads computing the int; the others (v128.load and the extending loads) compute
the vector's 16 bytes."""


def _load(template: str, gives_bytes: bool) -> Handler:
    def h(tr: Translator, ins: Instr) -> None:
        _mem_value(tr, ins, template, gives_bytes)

    return h


for _name, _tpl in _LOADS.items():
    HANDLERS[_name] = _load(_tpl, False)
for _name in LOAD_EXTEND:
    HANDLERS[_name] = _load(f"{helper_name(_name)}(M{{m}}, {{ea}})", True)
HANDLERS["v128.load"] = _load("LB16(M{m}, {ea})[0]", True)

_LANE_LOAD = {8: "M{m}[{ea}]", 16: "LU16(M{m}, {ea})[0]", 32: "LI32(M{m}, {ea})[0]",
              64: "LI64(M{m}, {ea})[0]"}


def _load_lane(w: int) -> Handler:
    def h(tr: Translator, ins: Instr) -> None:
        always = _always_traps(tr, ins)
        if always:
            _sync_before_trap(tr)
        v = tr.pop()
        addr = tr.pop()
        if v.trap and addr.trap:
            addr = tr.materialize(addr)  # the expression below evaluates v first
        tr.stack.append(addr)
        ea, a = _address(tr, ins)
        m = ins[1][2]
        s = w * ins[2]
        clear = M128 ^ (lane_mask(w) << s)
        loaded = _LANE_LOAD[w].format(m=m, ea=ea)
        moved = f"({loaded} << {s})" if s else loaded
        r = _v(f"(({v.code} & {_hex(clear)}) | {moved})", v, a)
        r.state = True
        if not r.trap:
            r.trap = True
            r.pc = tr.out.pc
        tr.push(tr.materialize(r) if always else r)

    return h


def _store(tr: Translator, ins: Instr, template: str, value_simple: bool) -> None:
    """Emit a store statement; ``template`` has ``{m}``, ``{ea}``, ``{v}``."""
    if _always_traps(tr, ins):
        _sync_before_trap(tr)
    v = tr.pop()
    a = tr.pop()
    if value_simple and not v.simple:
        if a.trap:
            a = tr.materialize(a)  # the address comes first in Wasm's order
        v = tr.materialize(v)
    elif "] = " in template and a.trap and v.trap:
        a = tr.materialize(a)  # ``M[ea] = v`` evaluates v before ea
    tr.stack.append(a)
    ea, _ = _address(tr, ins)
    tr.flush(traps=True, effects=True)
    m = ins[1][2]
    tr.out.emit(template.format(m=m, ea=ea, v=v.code), trap_pc([a, v]))


def _v128_store(tr: Translator, ins: Instr) -> None:
    v = tr.stack[-1]
    made = tr.__dict__.get("simd_bytes")
    if made is not None and id(v) in made and made[id(v)][0] is v:
        # the value's bytes are at hand (a BYTES helper or a load made them)
        tr.stack[-1] = _v(made[id(v)][1], v)
        _store(tr, ins, "SB16(M{m}, {ea}, {v})", False)
        return
    _store(tr, ins, "SQQ(M{m}, {ea}, {v} & 0xFFFFFFFFFFFFFFFF, {v} >> 64)", True)


HANDLERS["v128.store"] = _v128_store

_LANE_STORE = {8: "M{m}[{ea}] = {bits}", 16: "SU16(M{m}, {ea}, {bits})",
               32: "SI32(M{m}, {ea}, {bits})", 64: "SI64(M{m}, {ea}, {bits})"}


def _store_lane(w: int) -> Handler:
    def h(tr: Translator, ins: Instr) -> None:
        s = w * ins[2]
        shifted = "({v} >> " + str(s) + ")" if s else "{v}"
        bits = shifted if s + w == 128 else f"({shifted} & {_hex(lane_mask(w))})"
        template = _LANE_STORE[w].replace("{bits}", bits)
        _store(tr, ins, template, False)

    return h


for _w in (8, 16, 32, 64):
    HANDLERS[f"v128.load{_w}_lane"] = _load_lane(_w)
    HANDLERS[f"v128.store{_w}_lane"] = _store_lane(_w)
