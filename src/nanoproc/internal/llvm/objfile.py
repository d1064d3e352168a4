"""Reading what a trap's backtrace needs out of a compiled ELF object.

Two things: the size of every function symbol (so a return address can be mapped
to the function containing it), and the ``.llvm_stackmaps`` records. Generated code
puts a stackmap right after every call, with id ``(funcidx << 32) | pc``; its
instruction offset is the first address after the call's return address that
belongs to that call site (only moves of the call's results may sit in between), so
for a return address ``ra`` inside function ``f`` the call site is the record of
``f`` with the smallest offset not below ``ra - start(f)``.

Only ELF64 little-endian objects are read (what LLVM emits for x86-64 and AArch64
Linux); anything else raises ValueError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_SHT_SYMTAB = 2
_STT_FUNC = 2


@dataclass(frozen=True)
class ObjectInfo:
    """Function sizes and call sites of one object."""

    sizes: dict[str, int]
    """Function symbol -> size in bytes."""
    call_sites: dict[int, list[tuple[int, int]]]
    """Function index -> sorted [(offset after the call, pc of the call)]."""


def _sections(data: bytes) -> list[tuple[str, int, int, int, int, int]]:
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 object")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    raw = []
    for i in range(shnum):
        name, typ, _flags, _addr, off, size, link, _info, _align, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, shoff + i * shentsize)  # fmt: skip
        raw.append((name, typ, off, size, link, entsize))
    str_off = raw[shstrndx][2]
    out = []
    for name, typ, off, size, link, entsize in raw:
        out.append((_cstr(data, str_off + name), typ, off, size, link, entsize))
    return out


def _cstr(data: bytes, at: int) -> str:
    end = data.index(b"\0", at)
    return data[at:end].decode("utf-8", "replace")


def read_object(data: bytes) -> ObjectInfo:
    secs = _sections(data)
    sizes: dict[str, int] = {}
    for _name, typ, off, size, link, entsize in secs:
        if typ != _SHT_SYMTAB or not entsize:
            continue
        strtab_off = secs[link][2]
        for k in range(size // entsize):
            st_name, st_info, _other, _shndx, _value, st_size = struct.unpack_from(
                "<IBBHQQ", data, off + k * entsize)  # fmt: skip
            if st_info & 0xF == _STT_FUNC:
                sizes[_cstr(data, strtab_off + st_name)] = st_size
    call_sites: dict[int, list[tuple[int, int]]] = {}
    for name, _typ, off, size, _link, _entsize in secs:
        if name == ".llvm_stackmaps":
            _read_stackmaps(data[off : off + size], call_sites)
    for sites in call_sites.values():
        sites.sort()
    return ObjectInfo(sizes, call_sites)


def _read_stackmaps(sm: bytes, out: dict[int, list[tuple[int, int]]]) -> None:
    """Stackmap format version 3 (LLVM's StackMaps.rst)."""
    if not sm:
        return
    if sm[0] != 3:
        raise ValueError(f"unsupported stackmap version {sm[0]}")
    nfuncs, nconsts, nrecords = struct.unpack_from("<III", sm, 4)
    pos = 16 + 24 * nfuncs + 8 * nconsts
    for _ in range(nrecords):
        sid, offset, _flags, nlocs = struct.unpack_from("<QIHH", sm, pos)
        pos += 16 + 12 * nlocs
        pos += (-pos) % 8
        (nlive,) = struct.unpack_from("<H", sm, pos + 2)
        pos += 4 + 4 * nlive
        pos += (-pos) % 8
        out.setdefault(sid >> 32, []).append((offset, sid & 0xFFFF_FFFF))
