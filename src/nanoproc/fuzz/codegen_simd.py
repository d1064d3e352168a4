"""SIMD for the body generator (:mod:`.codegen`): v128 expressions and statements.

Exported functions keep scalar signatures and exported globals scalar types
(wasmtime-py cannot pass a v128), so vectors are observed through memory (the
runner hashes it after every call) and through the scalars made from them
(extract_lane, any_true, all_true, bitmask).

NaNs: a lane-wise float operation whose NaN results the spec leaves open is followed
by a canonicalisation of its NaN lanes (``bitselect`` with the canonical NaN under a
self-equality mask), so every v128 value has one meaning everywhere. Scalar floats
entering a vector (splat, replace_lane) are canonicalised first like any other
escaping float.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..internal.syntax.ops import OPS
from ..internal.syntax.types import F32, F64, I32, I64, V128, ValType
from .values import const_imm

if TYPE_CHECKING:
    from .codegen import FuncGen

SCALARS: tuple[ValType, ...] = (I32, I64, F32, F64)

VEC_OPS = [op for op in OPS if op.feature in ("simd", "relaxed_simd") and op.rule is None
           and op.results == (V128,) and op.name != "v128.const"]
"""Operators producing a v128 (with lane or shuffle immediates where they have them)."""
SCALAR_OPS: dict[ValType, list[Any]] = {
    t: [op for op in OPS if op.feature == "simd" and op.rule is None and op.results == (t,)]
    for t in SCALARS
}
"""Operators making a scalar from vectors (extract_lane, any_true, bitmask, ...)."""

NAN_OPEN = {
    "add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc", "nearest",
    "demote_f64x2_zero", "promote_low_f32x4", "relaxed_madd", "relaxed_nmadd",
}  # fmt: skip
"""Float operations whose NaN lanes may differ between engines (canonicalised)."""

LOADS = ["v128.load", "v128.load8x8_s", "v128.load8x8_u", "v128.load16x4_s",
         "v128.load16x4_u", "v128.load32x2_s", "v128.load32x2_u", "v128.load8_splat",
         "v128.load16_splat", "v128.load32_splat", "v128.load64_splat", "v128.load32_zero",
         "v128.load64_zero"]  # fmt: skip
CANONICAL = {"f32x4": (0x7FC00000).to_bytes(4, "little") * 4,
             "f64x2": (0x7FF8000000000000).to_bytes(8, "little") * 2}


def _imms(g: FuncGen, op: Any) -> tuple[Any, ...]:
    if "lane" in op.imms:
        return (g.rng.randrange(op.lanes),)
    if op.name == "i8x16.shuffle":
        return (bytes(g.rng.randrange(32) for _ in range(16)),)
    return ()


def vec_operator(g: FuncGen, depth: int) -> None:
    """An operator leaving one v128 (its operands generated first)."""
    r = g.rng
    if r.random() < 0.08:
        lane_load(g, depth)
        return
    op = r.choice(VEC_OPS)
    for t in op.params:
        kind = g.expr(t, depth + 1)
        if t in (F32, F64) and kind == "other":
            g.canonicalize(t)  # its bits enter the vector
    g.out.append((op, *_imms(g, op)))
    shape, name = op.name.split(".", 1)
    if shape in CANONICAL and name in NAN_OPEN:
        canonicalize_vec(g, "f32x4" if name == "demote_f64x2_zero" else
                         "f64x2" if name == "promote_low_f32x4" else shape)


def scalar_operator(g: FuncGen, t: ValType, depth: int) -> None:
    """A scalar of type ``t`` made from vectors."""
    op = g.rng.choice(SCALAR_OPS[t])
    for p in op.params:
        g.expr(p, depth + 1)
    g.out.append((op, *_imms(g, op)))


def canonicalize_vec(g: FuncGen, shape: str) -> None:
    """Replace the NaN lanes (of ``shape``) of the v128 on top of the stack by the
    canonical NaN."""
    s = g.scratch.get(V128)
    if s is None:
        s = g.scratch[V128] = g.new_local(V128, reserve=True)
    g.emit("local.tee", s)
    g.emit("v128.const", CANONICAL[shape])
    g.emit("local.get", s)
    g.emit("local.get", s)
    g.emit(f"{shape}.eq")
    g.emit("v128.bitselect")


def lane_load(g: FuncGen, depth: int) -> None:
    bits = g.rng.choice((8, 16, 32, 64))
    name = f"v128.load{bits}_lane"
    g.address(depth)
    g.expr(V128, depth + 1)
    g.emit(name, g.memarg(name), g.rng.randrange(128 // bits))


def load(g: FuncGen, depth: int) -> None:
    name = g.rng.choice(LOADS)
    g.address(depth)
    g.emit(name, g.memarg(name))


def store(g: FuncGen, depth: int) -> None:
    g.address(depth)
    g.expr(V128, depth + 1)
    if g.rng.random() < 0.6:
        g.emit("v128.store", g.memarg("v128.store"))
        return
    bits = g.rng.choice((8, 16, 32, 64))
    name = f"v128.store{bits}_lane"
    g.emit(name, g.memarg(name), g.rng.randrange(128 // bits))


def const(g: FuncGen) -> bytes:
    """A v128.const immediate: lanes of one shape, edge values most of the time."""
    r = g.rng
    k = r.randrange(6)
    if k == 0:
        return r.randbytes(16)
    t, n = ((I32, 4), (I64, 2), (F32, 4), (F64, 2), (I32, 4), (I32, 4))[k]
    size = 16 // n
    out = b""
    for _ in range(n):
        v = const_imm(r, t)
        if k >= 4:  # bytes or halves: small lanes in 32-bit groups
            v = int.from_bytes(bytes(r.choice((0, 1, 0x7F, 0x80, 0xFF, 0xFE, r.randrange(256)))
                                     for _ in range(4)), "little")
        out += (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    return out
