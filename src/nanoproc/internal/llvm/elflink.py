"""Linking relocatable x86-64 ELF objects into memory without LLVM.

A warm start finds a module's object code in the compile cache; linking it through
llvmlite (import ~30-60 ms, then ORC/JITLink ~0.1 s for a 1 MB module) was most of
what such a start cost beyond wasmtime-py's. The objects our code generator emits
use a small set of relocations (position-independent code, small code model), so
this module links them itself: sections laid out in one anonymous mapping (code
read+execute, constants read-only, data read+write: never writable and executable
at once), symbols resolved across the objects (a strong definition wins over weak
ones, the first weak one over later ones, as the glue's ``weak_odr`` symbols need),
external names looked up in the process (the Python C API, libc: what JITLink's
``add_current_process`` finds), calls to them through stubs, GOT slots where the
code asks for them.

Anything outside that set (another architecture, an unknown relocation, TLS,
initialisers, common symbols) raises :class:`Unsupported`, and the caller links
through LLVM instead (:func:`.link.link`). Unwind tables are not registered: no
generated code unwinds through its frames (traps record return addresses and
``longjmp``).
"""

from __future__ import annotations

import ctypes
import marshal
import struct
import weakref
from functools import cache
from typing import Any

from ..records import Record

PAGE = 4096

EM_X86_64 = 62
SHT_PROGBITS, SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 1, 2, 4, 8, 9
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY = 14, 15, 16
SHT_X86_64_UNWIND = 0x70000001
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
SHN_UNDEF, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFFF1, 0xFFF2, 0xFFFF
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_SECTION, STT_FILE, STT_TLS = 3, 4, 6

R_X86_64_NONE, R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32 = 0, 1, 2, 4
R_X86_64_GOTPCREL, R_X86_64_PC64 = 9, 24
R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX = 41, 42
_GOT_KINDS = (R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX)

STUB = b"\xff\x25\x00\x00\x00\x00"
"""``jmp *0(%rip)``: an absolute jump through the 8 bytes that follow it."""
STUB_SIZE = 16

_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")


class Unsupported(Exception):
    """The objects need something this linker does not do (link them through LLVM)."""


class _Section(Record):
    __match_args__ = ("obj", "index", "name", "kind", "data", "size", "align", "offset")
    obj: int
    index: int
    name: str
    kind: str
    """"x" (code), "r" (read-only data) or "w" (writable data)."""
    data: bytes | None
    """None for NOBITS (zero-filled)."""
    size: int
    align: int
    offset: int
    """Offset in the image, once laid out."""

    def __init__(self, obj: int, index: int, name: str, kind: str, data: bytes | None, size: int,
                 align: int, offset: int = 0) -> None:  # fmt: skip
        self.obj = obj
        self.index = index
        self.name = name
        self.kind = kind
        self.data = data
        self.size = size
        self.align = align
        self.offset = offset


class _Object(Record):
    __match_args__ = ("data", "sections", "symbols", "sizes", "placed")
    data: bytes
    sections: list[tuple[str, int, int, int, int, int, int, int]]
    """(name, type, flags, offset, size, link, info, align) per section header."""
    symbols: list[tuple[str, int, int, int, int]]
    """(name, bind, type, shndx, value) per symbol table entry."""
    sizes: dict[str, int]
    placed: dict[int, _Section]
    """Section index -> its loaded section."""

    def __init__(self, data: bytes,
                 sections: list[tuple[str, int, int, int, int, int, int, int]] | None = None,
                 symbols: list[tuple[str, int, int, int, int]] | None = None,
                 sizes: dict[str, int] | None = None, placed: dict[int, _Section] | None = None) -> None:  # fmt: skip
        self.data = data
        self.sections = [] if sections is None else sections
        self.symbols = [] if symbols is None else symbols
        self.sizes = {} if sizes is None else sizes
        self.placed = {} if placed is None else placed


def _cstr(data: bytes, at: int) -> str:
    return data[at : data.index(b"\0", at)].decode("utf-8", "replace")


def _parse(data: bytes, objno: int) -> _Object:
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise Unsupported("not a little-endian ELF64 object")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_type != 1 or e_machine != EM_X86_64:
        raise Unsupported(f"ELF type {e_type}, machine {e_machine}: not x86-64 relocatable")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shnum == 0 or shstrndx >= shnum or shentsize != _SHDR.size:
        raise Unsupported("extended section numbering")
    raw = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    str_off = raw[shstrndx][4]
    obj = _Object(data)
    for name, typ, flags, _addr, off, size, link, info, align, _entsize in raw:
        obj.sections.append((_cstr(data, str_off + name), typ, flags, off, size, link, info,
                             max(align, 1)))  # fmt: skip
    for i, (name, typ, flags, off, size, link, _info, align) in enumerate(obj.sections):
        if typ in (SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY, SHT_REL):
            raise Unsupported(f"section {name} (type {typ})")
        if typ == SHT_SYMTAB:
            if obj.symbols:
                raise Unsupported("several symbol tables")
            strtab = obj.sections[link][3]
            for st_name, st_info, _other, shndx, value, st_size in _SYM.iter_unpack(
                    data[off : off + size]):  # fmt: skip
                sname = _cstr(data, strtab + st_name) if st_name else ""
                bind, stype = st_info >> 4, st_info & 0xF
                if stype == STT_TLS or shndx in (SHN_COMMON, SHN_XINDEX):
                    raise Unsupported(f"symbol {sname!r}: TLS, common or extended index")
                obj.symbols.append((sname, bind, stype, shndx, value))
                if stype == 2 and sname:  # STT_FUNC
                    obj.sizes[sname] = st_size
        if not flags & SHF_ALLOC or size == 0:
            continue
        if flags & SHF_TLS:
            raise Unsupported(f"TLS section {name}")
        if typ == SHT_X86_64_UNWIND or name == ".eh_frame":
            continue  # never registered (see the module docstring)
        if typ not in (SHT_PROGBITS, SHT_NOBITS):
            raise Unsupported(f"section {name} (type {typ})")
        kind = "x" if flags & SHF_EXECINSTR else ("w" if flags & SHF_WRITE else "r")
        body = None if typ == SHT_NOBITS else data[off : off + size]
        obj.placed[i] = _Section(objno, i, name, kind, body, size, align)
    return obj


@cache
def _libc() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]  # fmt: skip
    libc.mprotect.restype = ctypes.c_int
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.restype = ctypes.c_int
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.dlsym.restype = ctypes.c_void_p
    libc.dlsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return libc


_process_symbols: dict[str, int] = {}


def process_symbol(name: str) -> int | None:
    """The address of ``name`` in this process (its executable and every library
    loaded globally), or None."""
    addr = _process_symbols.get(name)
    if addr is None:
        addr = _libc().dlsym(None, name.encode())  # RTLD_DEFAULT
        if not addr:
            return None
        _process_symbols[name] = addr
    return addr


def _got_key(objno: int, symi: int, name: str, bind: int) -> str:
    """A GOT slot per global name, or per local symbol of an object."""
    return f"\0{objno}:{symi}" if bind == STB_LOCAL or not name else name


def _round(n: int, to: int) -> int:
    return -(-n // to) * to


class Mapping:
    """An anonymous mapping holding linked code; unmapped when this object dies."""

    def __init__(self, size: int) -> None:
        libc = _libc()
        addr = libc.mmap(None, size, 3, 0x22, -1, 0)  # RW, MAP_PRIVATE | MAP_ANONYMOUS
        if addr in (None, ctypes.c_void_p(-1).value):
            raise MemoryError(f"cannot map {size} bytes for code (errno {ctypes.get_errno()})")
        self.address: int = addr
        self.size = size
        # not at interpreter exit: a daemon thread may still run the code then
        weakref.finalize(self, libc.munmap, addr, size).atexit = False

    def protect(self, start: int, size: int, prot: int) -> None:
        if size and _libc().mprotect(self.address + start, size, prot) != 0:
            raise OSError(ctypes.get_errno(), "mprotect of linked code failed")


class Library:
    """Linked objects in memory (the same interface as :class:`.jit.Library`): the
    code stays valid while this object lives."""

    def __init__(self, mapping: Mapping, addresses: dict[str, int],
                 sizes: dict[str, int]) -> None:  # fmt: skip
        self._mapping = mapping
        self.addresses = addresses
        self.sizes = sizes
        """Function symbol -> size in bytes (of every object)."""


FORMAT = 1
"""Version of :meth:`Image.encode`'s layout."""


class Image(Record):
    """Objects linked at address 0: what is left to do at load is adding the mapping's
    address at ``base_fixups`` and the process's addresses of external names at
    ``ext_fixups``; every other relocation is relative and was applied already. So
    an image kept in the compile cache loads in a few milliseconds."""

    __match_args__ = ("total", "protections", "data", "base_fixups", "ext_fixups", "symbols",
                      "absolute", "sizes")  # fmt: skip
    total: int
    """Bytes to map (a multiple of the page size)."""
    protections: list[tuple[int, int, int]]
    """(start, size, PROT_* bits) of the read+execute and read-only spans."""
    data: bytes
    """The image's first bytes (the rest is zero)."""
    base_fixups: bytes
    """Little-endian u64 offsets of u64 words to which the load address is added."""
    ext_fixups: list[tuple[int, str, int, bool]]
    """(offset, name, addend, weak): u64 words set to the name's address + addend (0
    for a weak name the process does not define)."""
    symbols: dict[str, int]
    """Global symbol -> offset in the image."""
    absolute: dict[str, int]
    """Global symbols with absolute values."""
    sizes: dict[str, int]
    """Function symbol -> size in bytes."""

    def __init__(self, total: int, protections: list[tuple[int, int, int]], data: bytes,
                 base_fixups: bytes, ext_fixups: list[tuple[int, str, int, bool]],
                 symbols: dict[str, int], absolute: dict[str, int], sizes: dict[str, int]) -> None:  # fmt: skip
        self.total = total
        self.protections = protections
        self.data = data
        self.base_fixups = base_fixups
        self.ext_fixups = ext_fixups
        self.symbols = symbols
        self.absolute = absolute
        self.sizes = sizes

    def encode(self) -> bytes:
        return marshal.dumps((FORMAT, self.total, self.protections, self.data,
                              self.base_fixups, self.ext_fixups, self.symbols,
                              self.absolute, self.sizes))  # fmt: skip

    @classmethod
    def decode(cls, blob: bytes) -> Image | None:
        """The image encoded in ``blob``, or None if it is not a well-formed one (every
        offset inside the image, every field of its type)."""
        try:
            fields = marshal.loads(blob)
        except (ValueError, EOFError, TypeError):
            return None
        if not (isinstance(fields, tuple) and len(fields) == 9 and fields[0] == FORMAT):
            return None
        _, total, prots, data, base_fixups, ext, symbols, absolute, sizes = fields
        ok = (isinstance(total, int) and 0 < total < 1 << 40 and total % PAGE == 0
              and isinstance(data, bytes) and len(data) <= total
              and isinstance(base_fixups, bytes) and len(base_fixups) % 8 == 0
              and isinstance(prots, list) and isinstance(ext, list)
              and isinstance(symbols, dict) and isinstance(absolute, dict)
              and isinstance(sizes, dict))  # fmt: skip
        if not ok:
            return None
        limit = len(data) - 8
        if any(not 0 <= off <= limit for (off,) in _U64.iter_unpack(base_fixups)):
            return None
        for item in ext:
            if not (isinstance(item, tuple) and len(item) == 4 and isinstance(item[0], int)
                    and 0 <= item[0] <= limit and isinstance(item[1], str)
                    and isinstance(item[2], int) and isinstance(item[3], bool)):  # fmt: skip
                return None
        for item in prots:
            if not (isinstance(item, tuple) and len(item) == 3
                    and all(isinstance(x, int) for x in item) and item[0] % PAGE == 0
                    and 0 <= item[0] and 0 <= item[1] and item[0] + item[1] <= total
                    and item[2] in (1, 5)):  # fmt: skip
                return None
        for table, bound in ((symbols, total), (absolute, 1 << 64), (sizes, 1 << 32)):
            for k, v in table.items():
                if not (isinstance(k, str) and isinstance(v, int) and 0 <= v < bound):
                    return None
        return cls(total, prots, data, base_fixups, ext, symbols, absolute, sizes)

    def load(self, symbols: list[str]) -> Library:
        """Map the image and look up ``symbols`` (KeyError for one not defined, or an
        external name the process does not define)."""
        ext_addr: list[int] = []
        for _off, name, _add, weak in self.ext_fixups:
            a = process_symbol(name)
            if a is None:
                if not weak:
                    raise KeyError(f"symbol {name!r} not found (not in the objects, "
                                   "nor in the process)")  # fmt: skip
                a = 0
            ext_addr.append(a)
        addresses: dict[str, int] = {}
        for sym in symbols:
            if sym not in self.symbols and sym not in self.absolute:
                raise KeyError(f"symbol {sym!r} is not defined by the objects")
        mapping = Mapping(self.total)
        base = mapping.address
        buf = bytearray(self.data)
        unpack, pack = _U64.unpack_from, _U64.pack_into
        for (off,) in _U64.iter_unpack(self.base_fixups):
            pack(buf, off, (unpack(buf, off)[0] + base) & _MASK64)
        for (off, _name, add, _weak), a in zip(self.ext_fixups, ext_addr):
            pack(buf, off, (a + add) & _MASK64)
        if buf:
            ctypes.memmove(base, (ctypes.c_char * len(buf)).from_buffer(buf), len(buf))
        for start, size, prot in self.protections:
            mapping.protect(start, size, prot)
        for sym in symbols:
            off = self.symbols.get(sym)
            addresses[sym] = self.absolute[sym] if off is None else base + off
        return Library(mapping, addresses, self.sizes)


_MASK64 = 0xFFFFFFFFFFFFFFFF


def link(objects: list[bytes], symbols: list[str]) -> Library:
    """Link ``objects`` into memory and look up ``symbols``; raises Unsupported for
    objects this linker does not handle, KeyError for a symbol not defined."""
    return prelink(objects).load(symbols)


def prelink(objects: list[bytes]) -> Image:
    """Link ``objects`` at address 0 (see :class:`Image`); raises Unsupported for
    objects this linker does not handle."""
    objs = [_parse(o, i) for i, o in enumerate(objects)]

    # ---- global symbols: strong beats weak; first weak wins among weak ones
    defined: dict[str, tuple[int, int, int, int]] = {}  # name -> (obj, shndx, value, bind)
    for i, obj in enumerate(objs):
        for name, bind, _stype, shndx, value in obj.symbols:
            if bind == STB_LOCAL or shndx == SHN_UNDEF or not name:
                continue
            if shndx != SHN_ABS and shndx not in obj.placed:
                raise Unsupported(f"symbol {name!r} in a section that is not loaded")
            old = defined.get(name)
            if old is None or (old[3] == STB_WEAK and bind == STB_GLOBAL):
                defined[name] = (i, shndx, value, bind)
            elif old[3] == STB_GLOBAL and bind == STB_GLOBAL:
                raise Unsupported(f"symbol {name!r} defined twice")

    # ---- which names need a GOT slot, which external names a stub (calls)
    got: dict[str, int] = {}
    stubs: dict[str, int] = {}
    for objno, obj in enumerate(objs):
        for _name, typ, _flags, off, size, _link, info, _align in obj.sections:
            if typ != SHT_RELA or info not in obj.placed:
                continue
            for _r_off, r_info, _add in _RELA.iter_unpack(obj.data[off : off + size]):
                rtype = r_info & 0xFFFFFFFF
                if rtype in _GOT_KINDS:
                    sname, bind, _stype, _shndx, _value = obj.symbols[r_info >> 32]
                    got.setdefault(_got_key(objno, r_info >> 32, sname, bind), len(got))
                elif rtype == R_X86_64_PLT32:
                    sname, _bind, _stype, shndx, _value = obj.symbols[r_info >> 32]
                    if shndx == SHN_UNDEF and sname not in defined:
                        stubs.setdefault(sname, len(stubs))

    # ---- layout: code and stubs | read-only data and the GOT | writable data
    sections = [s for obj in objs for s in obj.placed.values()]
    pos = 0
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    extra = {"x": len(stubs) * STUB_SIZE, "r": len(got) * 8, "w": 0}
    extra_at: dict[str, int] = {}
    data_end = 0
    for kind in ("x", "r", "w"):
        starts[kind] = pos
        for s in sections:
            if s.kind == kind:
                pos = _round(pos, s.align)
                s.offset = pos
                pos += s.size
                if s.data is not None:
                    data_end = pos
        pos = _round(pos, 16)
        extra_at[kind] = pos
        pos += extra[kind]
        if extra[kind]:
            data_end = pos
        ends[kind] = pos
        pos = _round(pos, PAGE)
    total = max(pos, PAGE)
    image = bytearray(data_end)
    for s in sections:
        if s.data is not None:
            image[s.offset : s.offset + s.size] = s.data
    base_fixups: list[int] = []
    ext_fixups: list[tuple[int, str, int, bool]] = []
    stub_at = extra_at["x"]
    for name, slot in stubs.items():
        at = stub_at + slot * STUB_SIZE
        image[at : at + 6] = STUB
        ext_fixups.append((at + 6, name, 0, False))
    got_at = extra_at["r"]

    def global_offset(name: str) -> tuple[int, bool] | None:
        """(offset in the image, or absolute value; whether it is absolute)."""
        d = defined.get(name)
        if d is None:
            return None
        i, shndx, value, _bind = d
        if shndx == SHN_ABS:
            return value, True
        return objs[i].placed[shndx].offset + value, False

    filled: set[int] = set()
    for objno, obj in enumerate(objs):
        # each symbol: (offset, kind) with kind 0 = in the image, 1 = absolute value,
        # 2 = external name (offset unused)
        where_: list[tuple[int, int]] = []
        for name, bind, _stype, shndx, value in obj.symbols:
            if shndx == SHN_UNDEF:
                g = global_offset(name) if name else (0, True)
                where_.append((0, 2) if g is None else (g[0], int(g[1])))
            elif shndx == SHN_ABS:
                where_.append((value, 1))
            elif bind != STB_LOCAL and name in defined:
                g = global_offset(name)
                assert g is not None
                where_.append((g[0], int(g[1])))
            else:
                sec = obj.placed.get(shndx)
                where_.append((0, 1) if sec is None else (sec.offset + value, 0))
        for _name, typ, _flags, off, size, _link, info, _align in obj.sections:
            target = obj.placed.get(info) if typ == SHT_RELA else None
            if target is None:
                continue
            at0 = target.offset
            for r_off, r_info, add in _RELA.iter_unpack(obj.data[off : off + size]):
                rtype = r_info & 0xFFFFFFFF
                symi = r_info >> 32
                p = at0 + r_off
                s, kind = where_[symi]
                if rtype == R_X86_64_PC32 or rtype == R_X86_64_PLT32:
                    if kind == 2 and rtype == R_X86_64_PLT32:
                        s, kind = stub_at + stubs[obj.symbols[symi][0]] * STUB_SIZE, 0
                    if kind != 0:
                        raise Unsupported(f"PC-relative relocation to an absolute address "
                                          f"at {target.name}+{r_off:#x}")  # fmt: skip
                    v = s + add - p
                    if not -0x80000000 <= v <= 0x7FFFFFFF:
                        raise Unsupported(f"relocation out of range at {target.name}+{r_off:#x}")
                    _I32.pack_into(image, p, v)
                elif rtype == R_X86_64_64:
                    if kind == 2:
                        sname, bind = obj.symbols[symi][:2]
                        ext_fixups.append((p, sname, add, bind == STB_WEAK))
                    else:
                        _U64.pack_into(image, p, (s + add) & _MASK64)
                        if kind == 0:
                            base_fixups.append(p)
                elif rtype in _GOT_KINDS:
                    sname, bind = obj.symbols[symi][:2]
                    g = got_at + got[_got_key(objno, symi, sname, bind)] * 8
                    if g not in filled:
                        filled.add(g)
                        if kind == 2:
                            ext_fixups.append((g, sname, 0, bind == STB_WEAK))
                        else:
                            _U64.pack_into(image, g, s)
                            if kind == 0:
                                base_fixups.append(g)
                    _I32.pack_into(image, p, g + add - p)
                elif rtype == R_X86_64_PC64:
                    if kind != 0:
                        raise Unsupported(f"PC-relative relocation to an absolute address "
                                          f"at {target.name}+{r_off:#x}")  # fmt: skip
                    _U64.pack_into(image, p, (s + add - p) & _MASK64)
                elif rtype != R_X86_64_NONE:
                    raise Unsupported(f"relocation type {rtype} in {target.name}")

    symbols: dict[str, int] = {}
    absolute: dict[str, int] = {}
    for name in defined:
        g = global_offset(name)
        assert g is not None
        (absolute if g[1] else symbols)[name] = g[0]
    sizes: dict[str, int] = {}
    for obj in objs:
        sizes.update(obj.sizes)
    protections = [(starts["x"], _round(ends["x"], PAGE) - starts["x"], 5),  # R+X
                   (starts["r"], _round(ends["r"], PAGE) - starts["r"], 1)]  # R
    return Image(total, protections, bytes(image), b"".join(_U64.pack(o) for o in base_fixups),
                 ext_fixups, symbols, absolute, sizes)  # fmt: skip
