"""Byte-level reading for the binary decoder: strict LEB128, fixed-width values, names.

Every reader takes ``(data, pos)`` and returns ``(value, new_pos)``. Readers never
check bounds by hand: the decoder arranges that the end of readable input is the end
of ``data``, so running off the end raises ``IndexError``, which the decoder turns
into "unexpected end of section or function" (as the reference interpreter does).
Only slices need an explicit check, since slicing past the end does not raise.

Errors are raised as :class:`Malformed` with a position relative to ``data``; the
decoder adds the buffer's base offset when it converts them to ``DecodeError``.
The LEB128 rules, and the message wording, follow the spec's ``uN``/``sN`` grammar:
at most ``ceil(N/7)`` bytes ("integer representation too long") and the unused bits
of the last byte must be zero, or copies of the sign for signed values ("integer
too large").
"""

from __future__ import annotations

Buffer = bytes
"""Decoding always runs over ``bytes`` (fast indexing, slices that copy cheaply)."""


class Malformed(Exception):
    """Internal malformed-binary error at ``pos`` in the current buffer.

    ``retry`` marks errors that a streaming decoder, which sees only one section at
    a time, must re-check with the rest of the input in view (a length that exceeds
    the section may still fit in the module, and the reference reports what it
    finds there).
    """

    def __init__(self, message: str, pos: int, retry: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.retry = retry


def read_uleb(data: Buffer, pos: int, bits: int) -> tuple[int, int]:
    """Unsigned LEB128 of at most ``bits`` bits."""
    result = 0
    shift = 0
    n = bits
    while True:
        if n <= 0:
            raise Malformed("integer representation too long", pos)
        b = data[pos]
        if n < 7 and (b & 0x7F) >> n:
            raise Malformed("integer too large", pos)
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7
        n -= 7


def read_sleb(data: Buffer, pos: int, bits: int) -> tuple[int, int]:
    """Signed LEB128 of at most ``bits`` bits, as a Python int."""
    result = 0
    shift = 0
    n = bits
    while True:
        if n <= 0:
            raise Malformed("integer representation too long", pos)
        b = data[pos]
        if n < 7:
            mask = (-1 << (n - 1)) & 0x7F
            high = b & mask
            if high != 0 and high != mask:
                raise Malformed("integer too large", pos)
        result |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos
        n -= 7


def read_u32(data: Buffer, pos: int) -> tuple[int, int]:
    """A u32, unrolled: padded five-byte encodings are common in linked code."""
    x = data[pos]
    if x < 0x80:
        return x, pos + 1
    x &= 0x7F
    b = data[pos + 1]
    x |= (b & 0x7F) << 7
    if b < 0x80:
        return x, pos + 2
    b = data[pos + 2]
    x |= (b & 0x7F) << 14
    if b < 0x80:
        return x, pos + 3
    b = data[pos + 3]
    x |= (b & 0x7F) << 21
    if b < 0x80:
        return x, pos + 4
    b = data[pos + 4]
    if b < 0x10:
        return x | b << 28, pos + 5
    return read_uleb(data, pos, 32)  # reports the error


def read_u64(data: Buffer, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    return read_uleb(data, pos, 64)


def read_s32(data: Buffer, pos: int) -> tuple[int, int]:
    """An s32, unrolled like :func:`read_u32`."""
    x = data[pos]
    if x < 0x80:
        return (x - 0x80 if x & 0x40 else x), pos + 1
    x &= 0x7F
    b = data[pos + 1]
    x |= (b & 0x7F) << 7
    if b < 0x80:
        return (x - (1 << 14) if b & 0x40 else x), pos + 2
    b = data[pos + 2]
    x |= (b & 0x7F) << 14
    if b < 0x80:
        return (x - (1 << 21) if b & 0x40 else x), pos + 3
    b = data[pos + 3]
    x |= (b & 0x7F) << 21
    if b < 0x80:
        return (x - (1 << 28) if b & 0x40 else x), pos + 4
    b = data[pos + 4]
    if b < 0x08:
        return x | b << 28, pos + 5
    if 0x78 <= b < 0x80:
        return (x | b << 28) - (1 << 35), pos + 5
    return read_sleb(data, pos, 32)  # reports the error


def read_s64(data: Buffer, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x40:
        return b, pos + 1
    if b < 0x80:
        return b - 0x80, pos + 1
    return read_sleb(data, pos, 64)


def take(data: Buffer, pos: int, n: int) -> tuple[bytes, int]:
    """``n`` raw bytes. IndexError (end of input) if fewer remain."""
    end = pos + n
    if end > len(data) or n < 0:
        raise IndexError(end)
    return data[pos:end], end


def read_len(data: Buffer, pos: int) -> tuple[int, int]:
    """A vector or byte-string length: a u32 that must not exceed the bytes left.

    As in the reference interpreter, "left" counts from the start of the length
    itself, so a count can be checked before the elements are read (and a huge
    count cannot make the decoder loop or allocate).
    """
    n, p = read_u32(data, pos)
    if n > len(data) - pos:
        raise Malformed("length out of bounds", pos, retry=True)
    return n, p


def read_bytes(data: Buffer, pos: int) -> tuple[bytes, int]:
    """A length-prefixed byte string."""
    n, pos = read_len(data, pos)
    return take(data, pos, n)


def read_name(data: Buffer, pos: int) -> tuple[str, int]:
    """A length-prefixed UTF-8 name (Python's strict codec matches Wasm's rules)."""
    raw, end = read_bytes(data, pos)
    try:
        return raw.decode("utf-8"), end
    except UnicodeDecodeError:
        raise Malformed("malformed UTF-8 encoding", pos) from None
