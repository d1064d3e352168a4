"""Malformed-binary fuzzing: mutations of valid modules.

The property is that nothing but the API's own exceptions ever comes out: loading a
mutated binary raises WasmtimeError (or a subclass) or succeeds; running what
loaded raises Trap or WasmtimeError or returns. Any other Python exception is a
bug, and so is a hang (the campaign's watchdog catches those). Mutations favour
what breaks parsers: LEB128 continuation bits, length fields, section ids,
truncation, and spliced or duplicated chunks.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

from ..internal.syntax.types import F32, F64, I32, I64
from .runners import FUEL
from .values import argument

NUMERIC = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}

INTERESTING = [0x00, 0x01, 0x40, 0x60, 0x7F, 0x80, 0xFF, 0x0B, 0x41, 0x70, 0x6F]


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return value, pos


def code_section(data: bytes) -> tuple[int, int] | None:
    """The byte range of the code section's contents, if the module has one."""
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, start = _leb(data, pos + 1)
        if sid == 10:
            return start, min(start + size, len(data))
        pos = start + size
    return None


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one to four random mutations (never the 8-byte header alone).

    Half the time they stay inside the code section, where function sizes keep the
    rest of the module decodable: that reaches the validator and the tiers, not only
    the decoder."""
    out = bytearray(data)
    lo, hi = 8, len(out)
    code = code_section(data)
    if code is not None and code[1] - code[0] > 4 and rng.random() < 0.5:
        lo, hi = code
    for _ in range(rng.randint(1, 4)):
        if hi <= lo or len(out) <= lo:
            break
        pos = rng.randrange(lo, min(hi, len(out)))
        k = rng.randrange(8)
        if k == 0:
            out[pos] ^= 1 << rng.randrange(8)
        elif k == 1:
            out[pos] = rng.choice(INTERESTING)
        elif k == 2:
            out.insert(pos, rng.randrange(256))
        elif k == 3:
            del out[pos]
        elif k == 4:
            del out[rng.randrange(pos, len(out) + 1):]
        elif k == 5:
            out[pos:pos + 1] = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        elif k == 6:
            start = rng.randrange(8, len(out))
            out[pos:pos] = out[start:start + rng.randint(1, 16)]
        else:
            out[pos] |= 0x80  # a LEB128 byte that claims a continuation
    return bytes(out)


def exercise(api: ModuleType, engine: Any, data: bytes, rng: random.Random) -> str:
    """Load, instantiate and call ``data``; what happened, in one word. Exceptions
    other than the API's propagate (the caller reports them as bugs)."""
    try:
        module = api.Module(engine, data)
    except api.WasmtimeError:
        return "rejected"
    store = api.Store(engine)
    store.set_fuel(FUEL // 10)
    try:
        instance = api.Instance(store, module, [])
    except (api.WasmtimeError, api.Trap):
        return "not instantiated"
    exports = instance.exports(store)
    for et in module.exports:
        ty = et.type
        if not isinstance(ty, api.FuncType):
            continue
        kinds = [str(p) for p in ty.params]
        if "v128" in kinds:
            continue
        args = [argument(rng, NUMERIC[k]) if k in NUMERIC else None for k in kinds]
        try:
            exports[et.name](store, *args)
        except (api.WasmtimeError, api.Trap):
            pass
        store.set_fuel(FUEL // 10)
    return "ran"
