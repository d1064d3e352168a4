"""Edge-case values: constants for generated code and arguments for exported functions.

Integers are the signed Python ints both APIs take and return; floats are Python
floats (f32 values exactly representable as f32). Bit patterns are used where the
difference matters (NaN payloads, -0.0).
"""

from __future__ import annotations

import math
import random
import struct

from ..internal.syntax.types import F32, F64, I32, I64, ValType

I32_EDGES = [0, 1, -1, 2, 7, 31, 32, 255, 256, 65535, 65536, 0x7FFFFFFF, -0x80000000,
             -0x7FFFFFFF, 0x12345678, -65536]  # fmt: skip
I64_EDGES = [0, 1, -1, 63, 64, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
             -0x8000000000000000, -0x7FFFFFFFFFFFFFFF, 0x123456789ABCDEF0, -(1 << 32)]  # fmt: skip

F32_EDGE_BITS = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000, 0x3FC00000,
    0x40200000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FA00001, 0x00000001,
    0x80000001, 0x007FFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x4F000000, 0xCF000000, 0x4F800000,
    0x5F000000, 0xDF000000, 0x5F800000, 0x4EFFFFFF,
]  # fmt: skip
"""0, -0, +-1, +-0.5, 1.5, 2.5, +-inf, NaNs (with payloads), subnormals, max, and the
boundaries of float -> int conversions (2^31, 2^32, 2^63, 2^64)."""

F64_EDGE_BITS = [
    0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
    0x3FE0000000000000, 0xBFE0000000000000, 0x3FF8000000000000, 0x4004000000000000,
    0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
    0x7FF4000000000001, 0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF,
    0x41E0000000000000, 0xC1E0000000000000, 0x41F0000000000000, 0x43E0000000000000,
    0xC3E0000000000000, 0x43F0000000000000, 0x41DFFFFFFFC00000, 0xC1E0000000200000,
]  # fmt: skip

CANONICAL_NAN: dict[ValType, int] = {F32: 0x7FC00000, F64: 0x7FF8000000000000}


def f32_of(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])


def f64_of(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0])


def const_imm(rng: random.Random, t: ValType) -> int:
    """An immediate for ``t.const``: edge values most of the time (floats as bits)."""
    edge = rng.random() < 0.6
    if t is I32:
        return rng.choice(I32_EDGES) if edge else rng.randrange(-(1 << 31), 1 << 31)
    if t is I64:
        return rng.choice(I64_EDGES) if edge else rng.randrange(-(1 << 63), 1 << 63)
    if t is F32:
        if edge:
            return rng.choice(F32_EDGE_BITS)
        return struct.unpack("<I", struct.pack("<f", rng.uniform(-1e4, 1e4)))[0]
    if edge:
        return rng.choice(F64_EDGE_BITS)
    return struct.unpack("<Q", struct.pack("<d", rng.uniform(-1e9, 1e9)))[0]


def argument(rng: random.Random, t: ValType) -> int | float:
    """A Python argument value of type ``t`` (as both APIs take it)."""
    if t is I32:
        return rng.choice(I32_EDGES) if rng.random() < 0.7 else rng.randrange(-(1 << 31), 1 << 31)
    if t is I64:
        return rng.choice(I64_EDGES) if rng.random() < 0.7 else rng.randrange(-(1 << 63), 1 << 63)
    if t is F32:
        return f32_of(const_imm(rng, F32))
    if t is F64:
        return f64_of(const_imm(rng, F64))
    raise ValueError(f"no arguments of type {t}")


def same_value(a: object, b: object) -> bool:
    """Equality of results: floats by bit pattern, except that all NaNs are equal
    (Wasm leaves the payload of an arithmetic NaN open)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
