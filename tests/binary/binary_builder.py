"""Tiny helpers to write test modules byte by byte (independent of the encoder)."""

from __future__ import annotations

HEADER = b"\x00asm\x01\x00\x00\x00"


def u(v: int) -> bytes:
    """Minimal unsigned LEB128, written out longhand so tests do not trust the encoder."""
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def s(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        done = (v == 0 and not b & 0x40) or (v == -1 and b & 0x40)
        out.append(b | (0 if done else 0x80))
        if done:
            return bytes(out)


def vec(*items: bytes) -> bytes:
    return u(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    raw = text.encode()
    return u(len(raw)) + raw


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + u(len(payload)) + payload


def module(*sections: bytes) -> bytes:
    return HEADER + b"".join(sections)


FUNC_VOID = b"\x60\x00\x00"


def func_module(
    *bodies: bytes, types: bytes = FUNC_VOID, extra: bytes = b"", before_code: bytes = b""
) -> bytes:
    """A module with one function type and one function per body (``locals + instrs + end``)."""
    return module(
        section(1, vec(types)),
        section(3, vec(*[b"\x00"] * len(bodies))),
        extra,
        before_code,
        section(10, vec(*[u(len(b)) + b for b in bodies])),
    )


def body(instrs: bytes, locals_: bytes = b"\x00") -> bytes:
    """A function body: locals vector (default none), instructions, end."""
    return locals_ + instrs + b"\x0b"
