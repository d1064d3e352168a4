"""Byte-level writing for the binary encoder: minimal LEB128, names, vectors.

Writers append to a ``bytearray`` (cheap amortised growth) instead of returning
small ``bytes`` objects to concatenate.
"""

from __future__ import annotations

_SMALL = [bytes([i]) for i in range(128)]


def uleb(v: int) -> bytes:
    """The shortest unsigned LEB128 encoding of ``v`` (>= 0)."""
    if v < 0x80:
        return _SMALL[v]
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(v: int) -> bytes:
    """The shortest signed LEB128 encoding of ``v``."""
    if -0x40 <= v < 0x40:
        return _SMALL[v & 0x7F]
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if (v == 0 and not b & 0x40) or (v == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def write_u(out: bytearray, v: int) -> None:
    if 0 <= v < 0x80:
        out.append(v)
    else:
        out += uleb(v)


def write_s(out: bytearray, v: int) -> None:
    if -0x40 <= v < 0x40:
        out.append(v & 0x7F)
    else:
        out += sleb(v)


def write_bytes(out: bytearray, b: bytes | bytearray) -> None:
    write_u(out, len(b))
    out += b


def write_name(out: bytearray, s: str) -> None:
    write_bytes(out, s.encode("utf-8"))


def write_section(out: bytearray, section_id: int, payload: bytes | bytearray) -> None:
    out.append(section_id)
    write_u(out, len(payload))
    out += payload
