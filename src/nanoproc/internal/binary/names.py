"""The ``name`` custom section (spec appendix 7.4, plus the extended-name-section
subsections that wasm-tools and the text format use).

Subsection ids: 0 module, 1 functions, 2 locals, 3 labels, 4 types, 5 tables,
6 memories, 7 globals, 8 element segments, 9 data segments, 10 fields, 11 tags.
A name section is advisory: the decoder parses it into :class:`Names` but a
malformed one is ignored rather than making the module malformed.
"""

from __future__ import annotations

from ..syntax.module import Names
from .reader import Buffer, Malformed, read_len, read_name, read_u32
from .writer import write_name, write_u

_MAPS = {1: "funcs", 4: "types", 5: "tables", 6: "memories", 7: "globals", 8: "elems",
         9: "datas", 11: "tags"}  # fmt: skip
_INDIRECT = {2: "locals", 3: "labels", 10: "fields"}


def _read_namemap(data: Buffer, pos: int) -> tuple[dict[int, str], int]:
    n, pos = read_len(data, pos)
    out: dict[int, str] = {}
    limit = len(data)
    for _ in range(n):
        idx = data[pos]  # inline one-byte LEB128s: big modules have 10^5 names
        if idx < 0x80:
            pos += 1
        else:
            idx, pos = read_u32(data, pos)
        size = data[pos]
        if size < 0x80 and pos + 1 + size <= limit:
            end = pos + 1 + size
            try:
                out[idx] = data[pos + 1 : end].decode("utf-8")
            except UnicodeDecodeError:
                raise Malformed("malformed UTF-8 encoding", pos) from None
            pos = end
        else:
            out[idx], pos = read_name(data, pos)
    return out, pos


def decode_names(data: bytes) -> Names:
    """Parse a name section's payload (after the section name). Raises Malformed/IndexError."""
    names = Names()
    pos = 0
    last = -1
    while pos < len(data):
        sid = data[pos]
        size, pos = read_len(data, pos + 1)
        end = pos + size
        if sid <= last:
            raise Malformed("out-of-order name subsection", pos)
        last = sid
        sub = data[pos:end]
        p = 0
        if sid == 0:
            names.module, p = read_name(sub, 0)
        elif sid in _MAPS:
            m, p = _read_namemap(sub, 0)
            setattr(names, _MAPS[sid], m)
        elif sid in _INDIRECT:
            n, p = read_len(sub, 0)
            outer: dict[int, dict[int, str]] = {}
            for _ in range(n):
                idx, p = read_u32(sub, p)
                outer[idx], p = _read_namemap(sub, p)
            setattr(names, _INDIRECT[sid], outer)
        else:
            p = size  # unknown subsection: skip
        if p != size:
            raise Malformed("name subsection size mismatch", pos)
        pos = end
    return names


def _write_namemap(out: bytearray, m: dict[int, str]) -> None:
    write_u(out, len(m))
    for idx in sorted(m):
        write_u(out, idx)
        write_name(out, m[idx])


def encode_names(names: Names) -> bytes:
    """The payload of a name section (without the section name), subsections in id order."""
    out = bytearray()
    for sid in range(12):
        sub = bytearray()
        if sid == 0:
            if names.module is None:
                continue
            write_name(sub, names.module)
        elif sid in _MAPS:
            m = getattr(names, _MAPS[sid])
            if not m:
                continue
            _write_namemap(sub, m)
        else:
            outer = getattr(names, _INDIRECT[sid])
            if not outer:
                continue
            write_u(sub, len(outer))
            for idx in sorted(outer):
                write_u(sub, idx)
                _write_namemap(sub, outer[idx])
        out.append(sid)
        write_u(out, len(sub))
        out += sub
    return bytes(out)
