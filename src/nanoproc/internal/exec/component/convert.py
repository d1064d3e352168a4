"""Checks and conversions of host Python values that generated lowering code calls
on its slow paths (the fast paths test ``x.__class__`` inline).

A value of the wrong type raises TypeError, one out of range ValueError, before any
of it reaches Wasm memory (wasmtime-py does not range-check integers: nanoproc does,
docs/api-differences.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..numerics import f32_round
from .values import Record, ResourceAny, ResourceHost, Variant

NAN = math.nan

_RANGES = {"u8": (0, 0xFF), "s8": (-0x80, 0x7F), "u16": (0, 0xFFFF), "s16": (-0x8000, 0x7FFF),
           "u32": (0, 0xFFFF_FFFF), "s32": (-0x8000_0000, 0x7FFF_FFFF),
           "u64": (0, (1 << 64) - 1), "s64": (-(1 << 63), (1 << 63) - 1)}  # fmt: skip


def to_int(x: Any, kind: str) -> int:
    """``x`` as an integer of component type ``kind`` (bool is refused, as a bool
    is not a number here even though Python says it is an int)."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"expected int for {kind}, found {type(x).__name__}")
    lo, hi = _RANGES[kind]
    if not lo <= x <= hi:
        raise ValueError(f"integer {x} out of range for {kind}")
    return int(x)


def to_bool(x: Any) -> bool:
    if x is True or x is False:
        return x  # type: ignore[no-any-return]
    raise TypeError(f"expected bool, found {type(x).__name__}")


def to_float(x: Any, kind: str) -> float:
    if isinstance(x, float):
        v = float(x)
    elif isinstance(x, int) and not isinstance(x, bool):
        v = float(x)
    else:
        raise TypeError(f"expected float for {kind}, found {type(x).__name__}")
    return f32_round(v) if kind == "f32" else v


def to_char(x: Any) -> int:
    if not isinstance(x, str) or len(x) != 1:
        raise TypeError("expected a single-character str for char")
    c = ord(x)
    if 0xD800 <= c <= 0xDFFF:
        raise ValueError("char is a surrogate, not a Unicode scalar value")
    return c


def to_bytes(x: Any) -> bytes:
    """``list<u8>`` from bytes, bytearray, memoryview or a list of ints."""
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if isinstance(x, memoryview):
        return x.tobytes()
    if isinstance(x, (list, tuple)):
        try:
            return bytes(x)
        except (TypeError, ValueError):
            raise ValueError("list<u8> element not an int in 0..255") from None
    raise TypeError(f"expected bytes for list<u8>, found {type(x).__name__}")


def to_seq(x: Any, what: str) -> list[Any] | tuple[Any, ...]:
    if isinstance(x, (list, tuple)):
        return x
    raise TypeError(f"expected a list for {what}, found {type(x).__name__}")


def to_tuple(x: Any, n: int) -> tuple[Any, ...] | list[Any]:
    if isinstance(x, (tuple, list)) and len(x) == n:
        return x
    if isinstance(x, (tuple, list)):
        raise ValueError(f"expected a tuple of {n} values, found {len(x)}")
    raise TypeError(f"expected a tuple, found {type(x).__name__}")


def fields(x: Any, names: tuple[str, ...]) -> list[Any]:
    """The fields of a record value: a Record (or any object with the attributes,
    kebab-case or snake_case) or a mapping keyed by field name."""
    out = []
    if isinstance(x, Mapping):
        for n in names:
            if n in x:
                out.append(x[n])
            elif n.replace("-", "_") in x:
                out.append(x[n.replace("-", "_")])
            else:
                raise TypeError(f"record value has no field `{n}`")
        return out
    if isinstance(x, (int, float, str, bytes, list, tuple, set, type(None))):
        raise TypeError(f"expected a Record, found {type(x).__name__}")
    for n in names:
        try:
            out.append(getattr(x, n))
        except AttributeError:
            try:
                out.append(getattr(x, n.replace("-", "_")))
            except AttributeError:
                raise TypeError(f"record value has no field `{n}`") from None
    return out


def flags_mask(x: Any, bits: dict[str, int]) -> int:
    if isinstance(x, str) or not isinstance(x, (set, frozenset, list, tuple)):
        raise TypeError(f"expected a set of flag names, found {type(x).__name__}")
    m = 0
    for label in x:
        b = bits.get(label)
        if b is None:
            raise ValueError(f"unknown flag {label!r}")
        m |= b
    return m


def unflags(m: int, labels: tuple[str, ...]) -> set[str]:
    return {label for i, label in enumerate(labels) if m >> i & 1}


def enum_index(x: Any, index: dict[str, int]) -> int:
    i = index.get(x) if isinstance(x, str) else None
    if i is None:
        raise ValueError(f"{x!r} is not a case of the enum ({', '.join(index)})")
    return i


def variant_case(x: Any, index: dict[str, int]) -> tuple[int, Any]:
    if not isinstance(x, Variant):
        raise TypeError(f"expected a Variant, found {type(x).__name__}")
    i = index.get(x.tag)
    if i is None:
        raise ValueError(f"{x.tag!r} is not a case of the variant ({', '.join(index)})")
    return i, x.payload


def matches(x: Any, classes: tuple[type, ...]) -> bool:
    """Whether ``x`` is a value of a case whose Python classes are ``classes``
    (wasmtime-py's untagged variants; a bool is not taken for an int)."""
    if x is None:
        return object in classes
    if x.__class__ is bool:
        return bool in classes
    return isinstance(x, tuple(c for c in classes if c is not object))


def new_record(d: dict[str, Any]) -> Record:
    r = object.__new__(Record)
    r.__dict__ = d
    return r


RESOURCE_CLASSES = (ResourceAny, ResourceHost)
