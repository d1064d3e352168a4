"""Wasm value types as LLVM IR types, signature shapes, and constant literals.

A *shape* is a signature reduced to what the native ABI sees (one letter per value:
``i`` i32, ``I`` i64, ``f`` f32, ``F`` f64, ``V`` v128, ``r`` any reference): host-call
thunks are generated once per shape, whatever the Wasm types' names. Entry trampolines are
generated per *entry shape*, which also tells funcrefs (``r``) and exnrefs (``e``),
both handles, and GC references (``a``, tagged words Python maps) from other
references (``x``, Python objects the entry returns as such; see refs.py).
"""

from __future__ import annotations

import struct

from ...syntax.types import F32, F64, I32, I64, V128, FuncType, RefType, ValType

LLTYPE = {"i": "i32", "I": "i64", "f": "float", "F": "double", "r": "ptr", "x": "ptr", "e": "ptr",
          "a": "ptr", "V": "<2 x i64>"}
"""Shape letter -> LLVM type."""


def letter(t: ValType) -> str:
    if t is I32:
        return "i"
    if t is I64:
        return "I"
    if t is F32:
        return "f"
    if t is F64:
        return "F"
    if isinstance(t, RefType):
        return "r"
    if t is V128:
        return "V"
    raise AssertionError(f"unknown value type {t!r}")


def lltype(t: ValType) -> str:
    return LLTYPE[letter(t)]


Shape = tuple[str, str]
"""(parameter letters, result letters)."""


def shape_of(ft: FuncType) -> Shape:
    return "".join(letter(t) for t in ft.params), "".join(letter(t) for t in ft.results)


def native_shape(shape: Shape) -> Shape:
    """The shape of an entry shape (``x``, ``e`` and ``a`` references are ``r`` to
    native code)."""
    return (shape[0].replace("x", "r").replace("e", "r").replace("a", "r"),
            shape[1].replace("x", "r").replace("e", "r").replace("a", "r"))  # fmt: skip


def shape_name(shape: Shape) -> str:
    """A symbol-safe name: ``P<params>_R<results>``."""
    return f"P{shape[0]}_R{shape[1]}"


WIDE_RESULTS = 16
"""Functions with more results than this return them through memory: a hidden
``ptr %out`` parameter after the context, one 8-byte slot per result (the value in
its own type at the slot's start). LLVM's first-class aggregates compile in time
that grows with the square of their size (1,000 results took minutes)."""


HUGE_ARITY = 256
"""Code handling more parameters or results than this (a function of such a type,
its callers, entries and thunks) is compiled without optimisation (attribute group
#5): LLVM's code generation of such long straight-line copies grows with the square
of their length (1,000 results: 15 s at -O2, under a second without)."""
UNOPTIMISED = "#5"


def is_huge(letters: str) -> bool:
    """Whether a parameter or result list is long enough for :data:`HUGE_ARITY`."""
    return len(letters) > HUGE_ARITY


def huge_shape(shape: Shape) -> bool:
    return is_huge(shape[0]) or is_huge(shape[1])


def is_wide(results: str) -> bool:
    """Whether a function with these result letters returns through ``%out``."""
    return len(results) > WIDE_RESULTS


def ret_type(results: str) -> str:
    """The LLVM return type of a function with these result letters."""
    if not results or is_wide(results):
        return "void"
    if len(results) == 1:
        return LLTYPE[results]
    return "{" + ", ".join(LLTYPE[c] for c in results) + "}"


def f64_literal(bits: int) -> str:
    """An LLVM double constant with exactly these bits (NaN payloads included)."""
    return f"0x{bits & 0xFFFF_FFFF_FFFF_FFFF:016X}"


def f32_is_nan(bits: int) -> bool:
    return bits & 0x7F80_0000 == 0x7F80_0000 and bits & 0x007F_FFFF != 0


def f32_literal(bits: int) -> str:
    """An LLVM float constant (written as the double of equal value) for a non-NaN f32."""
    (value,) = struct.unpack("<f", struct.pack("<I", bits & 0xFFFF_FFFF))
    (dbits,) = struct.unpack("<Q", struct.pack("<d", value))
    return f"0x{dbits:016X}"


def zero_literal(t: str) -> str:
    if t in ("i32", "i64"):
        return "0"
    if t in ("float", "double"):
        return "0.0"
    if t == "ptr":
        return "null"
    if t.startswith("<"):
        return "zeroinitializer"
    raise AssertionError(t)
