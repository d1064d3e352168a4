"""Reading what a trap's backtrace needs out of a compiled ELF object.

Three things: the size of every function symbol (so a return address can be mapped
to the function containing it), the ``.llvm_stackmaps`` records, and each Wasm
function's frame size. Generated code puts a stackmap right after every call, with
id ``(funcidx << 32) | pc``; its
instruction offset is the first address after the call's return address that
belongs to that call site (only moves of the call's results may sit in between), so
for a return address ``ra`` inside function ``f`` the call site is the record of
``f`` with the smallest offset not below ``ra - start(f)``.

Every function also has a stackmap at its entry (id ``(funcidx << 32) | ENTRY_PC``),
so that the stackmap section lists its frame size as compiled (see
:attr:`ObjectInfo.frames`).

Only ELF64 little-endian objects are read (what LLVM emits for x86-64 and AArch64
Linux); anything else raises ValueError.
"""

from __future__ import annotations

import struct

from ..records import Frozen

_set = object.__setattr__
_SHT_SYMTAB = 2
_STT_FUNC = 2

ENTRY_PC = 0xFFFF_FFFF
"""The pc of the stackmap at a function's entry (no instruction has it)."""


class ObjectInfo(Frozen):
    """Function sizes and call sites of one object."""

    __match_args__ = ("sizes", "call_sites", "frames")
    sizes: dict[str, int]
    """Function symbol -> size in bytes."""
    call_sites: dict[int, list[tuple[int, int]]]
    """Function index -> sorted [(offset after the call, pc of the call)]."""
    frames: dict[int, int]
    """Function index -> bytes its frame takes below the return address (pushed
    registers, spills, locals): what its prologue allocates."""

    def __init__(self, sizes: dict[str, int], call_sites: dict[int, list[tuple[int, int]]],
                 frames: dict[int, int]) -> None:  # fmt: skip
        _set(self, "sizes", sizes)
        _set(self, "call_sites", call_sites)
        _set(self, "frames", frames)


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
    call_sites, frames = read_stackmaps(data, secs)
    return ObjectInfo(sizes, call_sites, frames)


def _stackmaps(data: bytes, secs: list[tuple[str, int, int, int, int, int]] | None = None
               ) -> bytes:  # fmt: skip
    for name, _typ, off, size, _link, _entsize in _sections(data) if secs is None else secs:
        if name == ".llvm_stackmaps":
            return data[off : off + size]
    return b""


def read_stackmaps(data: bytes, secs: list[tuple[str, int, int, int, int, int]] | None = None
                   ) -> tuple[dict[int, list[tuple[int, int]]], dict[int, int]]:  # fmt: skip
    """The call sites and frame sizes of object ``data`` (see :class:`ObjectInfo`):
    every stackmap record is read, so loading code leaves this until a backtrace
    needs it."""
    call_sites: dict[int, list[tuple[int, int]]] = {}
    frames: dict[int, int] = {}
    _read_stackmaps(_stackmaps(data, secs), call_sites, frames)
    for sites in call_sites.values():
        sites.sort()
    return call_sites, frames


def stackmap_section(data: bytes) -> bytes:
    """Object ``data``'s stackmap section (empty if it has none): all that
    :func:`read_stackmap_sections` and :func:`section_max_stack` need of it."""
    return _stackmaps(data)


def read_stackmap_sections(sections: list[bytes]
                           ) -> tuple[dict[int, list[tuple[int, int]]], dict[int, int]]:  # fmt: skip
    """:func:`read_stackmaps` of the objects whose stackmap sections these are."""
    call_sites: dict[int, list[tuple[int, int]]] = {}
    frames: dict[int, int] = {}
    for sm in sections:
        _read_stackmaps(sm, call_sites, frames)
    for sites in call_sites.values():
        sites.sort()
    return call_sites, frames


def max_stack_size(data: bytes) -> int:
    """The biggest frame of a function of object ``data`` (from the stackmaps'
    function table alone: cheap, unlike reading every record)."""
    return section_max_stack(_stackmaps(data))


def section_max_stack(sm: bytes) -> int:
    """:func:`max_stack_size` from the object's stackmap section."""
    if not sm:
        return 0
    if sm[0] != 3:
        raise ValueError(f"unsupported stackmap version {sm[0]}")
    (nfuncs,) = struct.unpack_from("<I", sm, 4)
    return max((struct.unpack_from("<Q", sm, 16 + 24 * i + 8)[0] for i in range(nfuncs)),
               default=0)  # fmt: skip


def _read_stackmaps(sm: bytes, out: dict[int, list[tuple[int, int]]],
                    frames: dict[int, int]) -> None:
    """Stackmap format version 3 (LLVM's StackMaps.rst): a record per function
    (address, stack size, record count) in the order of the records."""
    if not sm:
        return
    if sm[0] != 3:
        raise ValueError(f"unsupported stackmap version {sm[0]}")
    nfuncs, nconsts, nrecords = struct.unpack_from("<III", sm, 4)
    funcs = [struct.unpack_from("<QQQ", sm, 16 + 24 * i)[1:] for i in range(nfuncs)]
    pos = 16 + 24 * nfuncs + 8 * nconsts
    fi = 0
    left = funcs[0][1] if funcs else 0
    for _ in range(nrecords):
        while not left and fi + 1 < len(funcs):
            fi += 1
            left = funcs[fi][1]
        left -= 1
        sid, offset, _flags, nlocs = struct.unpack_from("<QIHH", sm, pos)
        pos += 16 + 12 * nlocs
        pos += (-pos) % 8
        (nlive,) = struct.unpack_from("<H", sm, pos + 2)
        pos += 4 + 4 * nlive
        pos += (-pos) % 8
        funcidx, pc = sid >> 32, sid & 0xFFFF_FFFF
        frames[funcidx] = funcs[fi][0]
        if pc != ENTRY_PC:
            out.setdefault(funcidx, []).append((offset, pc))
