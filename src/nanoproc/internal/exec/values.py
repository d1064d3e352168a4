"""How runtime values are represented inside nanoproc, shared by every tier.

=========  ===================================================================
type       Python representation
=========  ===================================================================
i32        ``int`` in ``[0, 2**32)`` (unsigned; signed views are computed)
i64        ``int`` in ``[0, 2**64)``
f32        ``float`` holding an f32 value exactly. A NaN keeps its f32 payload in
           the top 23 mantissa bits of the double (the hardware widening), so
           sNaN payloads survive moves, loads, stores and sign operations.
f64        ``float``; NaN payloads are kept bit for bit
v128       ``int`` in ``[0, 2**128)``, lane 0 in the low bits
ref        ``None`` is null; a funcref is a FuncInst; an externref is the host's
           Python object itself
=========  ===================================================================

Unsigned integers make memory addresses, bounds checks and masking cheap; the
public API converts to and from wasmtime-py's signed Python ints at the edge.
"""

from __future__ import annotations

import struct

_pack_f = struct.Struct("<f").pack
_unpack_f = struct.Struct("<f").unpack
_pack_d = struct.Struct("<d").pack
_unpack_d = struct.Struct("<d").unpack
_pack_I = struct.Struct("<I").pack
_unpack_I = struct.Struct("<I").unpack
_pack_Q = struct.Struct("<Q").pack
_unpack_Q = struct.Struct("<Q").unpack

MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF
MASK128 = (1 << 128) - 1


def f64_from_bits(bits: int) -> float:
    return _unpack_d(_pack_Q(bits))[0]


def f64_to_bits(x: float) -> int:
    return _unpack_Q(_pack_d(x))[0]


def f32_from_bits(bits: int) -> float:
    """The float for an f32 bit pattern; NaNs widen without quieting."""
    if bits & 0x7F80_0000 == 0x7F80_0000 and bits & 0x007F_FFFF:
        sign = (bits >> 31) << 63
        return f64_from_bits(sign | (0x7FF << 52) | ((bits & 0x007F_FFFF) << 29))
    return _unpack_f(_pack_I(bits))[0]


def f32_to_bits(x: float) -> int:
    """The f32 bit pattern of a float that holds an f32 value."""
    if x != x:
        b = f64_to_bits(x)
        return ((b >> 63) << 31) | 0x7F80_0000 | ((b >> 29) & 0x007F_FFFF)
    return _unpack_I(_pack_f(x))[0]


def i32_signed(v: int) -> int:
    """Signed view of an internal i32."""
    return v - ((v & 0x8000_0000) << 1)


def i64_signed(v: int) -> int:
    return v - ((v & 0x8000_0000_0000_0000) << 1)
