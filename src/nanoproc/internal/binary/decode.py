"""The binary decoder (spec chapter 5): bytes or a binary file -> :class:`Module`.

Two drivers feed one set of section decoders:

* bytes-like input is decoded in place. Readable input always extends to the end
  of the module, exactly as in the reference interpreter, so a section or body
  that overruns its declared size reads into what follows and fails with the
  same message the spec suite expects ("section size mismatch", "END opcode
  expected", "length out of bounds", ...).
* a file object is read one section at a time. A section that runs off its own
  end is re-decoded with the rest of the input appended, so both drivers report
  the same error for the same bytes.

Function bodies are decoded lazily by default: the code section decoder reads
each body's locals (so ``Func.locals`` and "too many locals" are eager) and
records where its instructions are; ``Func.instrs`` decodes them on first use.
Every failure is a ``DecodeError(message, offset)`` with an absolute offset.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Callable
from typing import Any, BinaryIO

from ..errors import DecodeError
from ..syntax.module import (
    Custom,
    Data,
    Elem,
    Export,
    Expr,
    Func,
    FuncRefs,
    Global,
    Import,
    ImportDesc,
    Memory,
    Module,
    Table,
    Tag,
)
from ..syntax.types import EXTERN_KINDS, FUNCREF, MemType, RefType, TableType, TagType, ValType
from .code import decode_const, decode_instrs
from .names import decode_names
from .reader import Buffer, Malformed, read_len, read_name, read_u32, take
from .typecodes import (
    VALTYPE_BY_BYTE,
    read_globaltype,
    read_limits,
    read_rectype,
    read_reftype,
    read_valtype,
)

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

SECTION_ORDER = {
    sid: rank for rank, sid in enumerate((1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11), 1)
}
"""Section id -> rank: sections must appear at most once, in increasing rank."""

REF_FUNC_NONNULL = RefType(False, "func")
EOS = "unexpected end of section or function"


# ---------------------------------------------------------------- lazy bodies
class _GCPaused:
    """Pause the cyclic garbage collector while decoding.

    Decoding allocates millions of small containers (instruction tuples, lists)
    that are never garbage; left running, the collector re-scans them over and
    over, which about doubles the decoding time of a large module. Re-enables
    only what it disabled.
    """

    __slots__ = ("was",)

    def __enter__(self) -> None:
        self.was = gc.isenabled()
        if self.was:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was:
            gc.enable()


class _LazyBodies:
    """The ``Func.lazy`` hook shared by all functions of one decoded module.

    ``data`` holds the code (the whole module, or in streaming mode the code
    section); ``trailing`` the raw bytes after it, needed only to report an
    overrunning body exactly as the bytes driver would.
    """

    __slots__ = ("data", "base", "trailing", "data_count", "spans")

    def __init__(self, data: Buffer, base: int, data_count: bool) -> None:
        self.data = data
        self.base = base
        self.trailing: list[bytes] = []
        self.data_count = data_count
        self.spans: dict[int, tuple[int, int]] = {}
        """code_offset -> (position of the first instruction, end of body), in ``data``."""

    def __call__(self, func: Func) -> None:
        start, end = self.spans[func.code_offset]
        body_start = func.code_offset - self.base
        data = self.data
        try:
            with _GCPaused():
                try:
                    body, offsets = _body(data, start, end, body_start, self.base, self.data_count)
                except (IndexError, Malformed) as e:
                    if not self.trailing or (isinstance(e, Malformed) and not e.retry):
                        raise
                    data = data + b"".join(self.trailing)
                    body, offsets = _body(data, start, end, body_start, self.base, self.data_count)
        except Malformed as e:
            raise DecodeError(e.message, self.base + e.pos) from None
        except IndexError:
            raise DecodeError(EOS, self.base + len(data)) from None
        func.body = body
        func.offsets = offsets

    def raw(self, func: Func) -> tuple[Buffer, int, int, bool] | None:
        """``(data, start, end, data_count)``: where ``func``'s instructions are in
        ``data`` (after its locals), for checks that read the bytes themselves."""
        span = self.spans.get(func.code_offset)
        if span is None:
            return None
        return self.data, span[0], span[1], self.data_count

    def raw_spans(self, funcs: list[Func]) -> tuple[Buffer, list[tuple[int, int, int] | None]]:
        """``(data, spans)``: for each of ``funcs``, ``(locals, instructions, end)``
        positions in ``data`` (its locals are at ``locals:instructions``), or None for
        a function this hook does not hold."""
        base = self.base
        get = self.spans.get
        out: list[tuple[int, int, int] | None] = []
        for f in funcs:
            span = get(f.code_offset)
            out.append(None if span is None else (f.code_offset - base, span[0], span[1]))
        return self.data, out


def _body(
    data: Buffer, start: int, end: int, body_start: int, base: int, data_count: bool
) -> tuple[Expr, array[int]]:
    body, offsets, pos = decode_instrs(data, start, base, data_count)
    if pos != end:
        raise Malformed("section size mismatch", body_start)
    return body, offsets


def decode_body(func: Func) -> None:
    """Decode a lazily decoded function's instructions now (no-op if already done)."""
    if func.body is None:
        if func.lazy is None:
            raise ValueError("function has neither a body nor a lazy decoder")
        func.lazy(func)


# ---------------------------------------------------------------- decoder state
class _State:
    """The module under construction and what later sections need to know."""

    def __init__(self, lazy: bool, shared_memory: bool = False) -> None:
        self.module = Module()
        self.lazy = lazy
        self.shared_memory = shared_memory
        """Accept the threads proposal's shared flag on memories (inside components)."""
        self.func_types: list[int] = []
        self.code_count: int | None = None
        self.rank = 0
        self.last_id = 0
        self.base = 0
        """Absolute offset of ``data[0]`` for the section being decoded."""
        self.hook: _LazyBodies | None = None

    def begin(self, sid: int, pos: int) -> None:
        """Check a section id and its place in the order (``pos``: the id's offset)."""
        if sid > 13:
            raise Malformed("malformed section id", pos)
        if sid:
            rank = SECTION_ORDER[sid]
            if rank <= self.rank:
                raise Malformed("unexpected content after last section", pos)
            self.rank = rank

    def finish(self, end: int) -> Module:
        m = self.module
        if len(self.func_types) != (self.code_count or 0):
            raise Malformed("function and code section have inconsistent lengths", end)
        if m.data_count is not None and m.data_count != len(m.datas):
            raise Malformed("data count and data section have inconsistent lengths", end)
        for c in m.customs:
            if c.name == "name":
                try:
                    m.names = decode_names(c.data)
                except (Malformed, IndexError):
                    m.names = None
                break
        return m


# ---------------------------------------------------------------- sections
Section = Callable[[_State, Buffer, int, int], int]


def _custom(st: _State, data: Buffer, pos: int, end: int) -> int:
    name, pos = read_name(data, pos)
    if pos > end:
        raise IndexError(pos)
    content, pos = take(data, pos, end - pos)
    st.module.customs.append(Custom(name, content, st.last_id))
    return pos


def _types(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.types
    for _ in range(n):
        rt, pos = read_rectype(data, pos)
        out.append(rt)
    st.module.invalidate_types()
    return pos


def _tagtype(data: Buffer, pos: int) -> tuple[TagType, int]:
    if data[pos] != 0:
        raise Malformed("zero byte expected", pos)
    x, pos = read_u32(data, pos + 1)
    return TagType(x), pos


def _tabletype(data: Buffer, pos: int) -> tuple[TableType, int]:
    rt, pos = read_reftype(data, pos)
    lim, pos = read_limits(data, pos)
    return TableType(rt, lim), pos


def _imports(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.imports
    for _ in range(n):
        mod, pos = read_name(data, pos)
        name, pos = read_name(data, pos)
        kind = data[pos]
        pos += 1
        desc: ImportDesc
        if kind == 0:
            desc, pos = read_u32(data, pos)
        elif kind == 1:
            desc, pos = _tabletype(data, pos)
        elif kind == 2:
            lim, pos = read_limits(data, pos, memory=st.shared_memory)
            desc = MemType(lim)
        elif kind == 3:
            desc, pos = read_globaltype(data, pos)
        elif kind == 4:
            desc, pos = _tagtype(data, pos)
        else:
            raise Malformed("malformed import kind", pos - 1)
        out.append(Import(mod, name, EXTERN_KINDS[kind], desc))
    return pos


def _functions(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.func_types
    for _ in range(n):
        x = data[pos]
        if x < 0x80:
            pos += 1
        else:
            x, pos = read_u32(data, pos)
        out.append(x)
    return pos


def _tables(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.tables
    for _ in range(n):
        if data[pos] == 0x40:
            # 0x40 0x00 tabletype expr. The reference tries this form, then a plain
            # table type, so any failure here surfaces as a bad reference type.
            start = pos
            try:
                if data[pos + 1] != 0:
                    raise Malformed("zero byte expected", pos + 1)
                tt, pos = _tabletype(data, pos + 2)
                init, pos = decode_const(data, pos)
            except (Malformed, IndexError) as e:
                # Running off the input may only mean a streamed section ended: retry.
                retry = isinstance(e, IndexError) or e.retry
                raise Malformed("malformed reference type", start, retry) from None
            out.append(Table(tt, init))
        else:
            tt, pos = _tabletype(data, pos)
            out.append(Table(tt))
    return pos


def _memories(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.memories
    for _ in range(n):
        lim, pos = read_limits(data, pos, memory=st.shared_memory)
        out.append(Memory(MemType(lim)))
    return pos


def _tags(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.tags
    for _ in range(n):
        tt, pos = _tagtype(data, pos)
        out.append(Tag(tt))
    return pos


def _globals(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.globals
    for _ in range(n):
        gt, pos = read_globaltype(data, pos)
        init, pos = decode_const(data, pos)
        out.append(Global(gt, init))
    return pos


def _exports(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.exports
    for _ in range(n):
        name, pos = read_name(data, pos)
        kind = data[pos]
        if kind > 4:
            raise Malformed("malformed export kind", pos)
        idx, pos = read_u32(data, pos + 1)
        out.append(Export(name, EXTERN_KINDS[kind], idx))
    return pos


def _start(st: _State, data: Buffer, pos: int, end: int) -> int:
    st.module.start, pos = read_u32(data, pos)
    return pos


def _funcidx_exprs(data: Buffer, pos: int) -> tuple[FuncRefs, int]:
    n, pos = read_len(data, pos)
    out = array("I")
    for _ in range(n):
        x, pos = read_u32(data, pos)
        out.append(x)
    return FuncRefs(out), pos


def _const_exprs(data: Buffer, pos: int) -> tuple[list[Expr], int]:
    n, pos = read_len(data, pos)
    out: list[Expr] = []
    for _ in range(n):
        e, pos = decode_const(data, pos)
        out.append(e)
    return out, pos


def _elemkind(data: Buffer, pos: int) -> int:
    if data[pos] != 0:
        raise Malformed("malformed element kind", pos)
    return pos + 1


def _elems(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.elems
    for _ in range(n):
        fpos = pos
        flags, pos = read_u32(data, pos)
        if flags > 7:
            raise Malformed("malformed elements segment kind", fpos)
        table = 0
        offset = None
        if flags & 1:
            mode = "declarative" if flags & 2 else "passive"
        else:
            mode = "active"
            if flags & 2:
                table, pos = read_u32(data, pos)
            offset, pos = decode_const(data, pos)
        rt: RefType
        if flags & 4:
            if flags & 3:
                rt, pos = read_reftype(data, pos)
            else:
                rt = FUNCREF
            init, pos = _const_exprs(data, pos)
        else:
            if flags & 3:
                pos = _elemkind(data, pos)
            rt = REF_FUNC_NONNULL
            init, pos = _funcidx_exprs(data, pos)
        out.append(Elem(mode, rt, init, table, offset, not flags & 4, flags & 3 == 2))
    return pos


def _datacount(st: _State, data: Buffer, pos: int, end: int) -> int:
    st.module.data_count, pos = read_u32(data, pos)
    return pos


def _code(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    st.code_count = n
    base = st.base
    data_count = st.module.data_count is not None
    hook = _LazyBodies(data, base, data_count) if st.lazy else None
    st.hook = hook
    spans = hook.spans if hook is not None else {}
    func_types = st.func_types
    nft = len(func_types)
    funcs = st.module.funcs
    valtype_of = VALTYPE_BY_BYTE.get
    size_limit = len(data)
    shared: dict[Any, list[tuple[int, ValType]]] = {}
    """Locals declarations by their bytes: functions declaring the same locals share
    one list (CPython-for-WASI's 89,060 functions have a few thousand distinct ones;
    a list and a tuple per group each, ~270,000 objects the cyclic GC traversed at
    every full collection and at exit). Nothing mutates a decoded ``Func.locals``."""
    pairs: dict[tuple[int, ValType], tuple[int, ValType]] = {}
    keyed = isinstance(data, bytes)
    for i in range(n):
        # Body size (a len32: must fit in what is left), inlined for 1- and 2-byte sizes.
        size = data[pos]
        if size < 0x80:
            body_start = pos + 1
        elif data[pos + 1] < 0x80:
            size = (size & 0x7F) | data[pos + 1] << 7
            body_start = pos + 2
        else:
            size, body_start = read_u32(data, pos)
        if size > size_limit - pos:
            raise Malformed("length out of bounds", pos, retry=True)
        body_end = body_start + size
        pos = body_start
        ngroups = data[pos]
        if ngroups < 0x80 and ngroups <= size_limit - pos:
            pos += 1
        else:
            ngroups, pos = read_len(data, pos)
        locals_ = []
        total = 0
        for _ in range(ngroups):
            c = data[pos]
            if c < 0x80:
                pos += 1
            else:
                c, pos = read_u32(data, pos)
            t = valtype_of(data[pos])
            if t is None:
                t, pos = read_valtype(data, pos)
            else:
                pos += 1
            total += c
            locals_.append((c, t))
        if total >= 1 << 32:
            raise Malformed("too many locals", body_start)
        key = data[body_start:pos] if keyed else bytes(data[body_start:pos])
        got = shared.get(key)
        if got is None:  # its groups shared too: ``(1, i32)`` is in most declarations
            locals_ = shared[key] = [pairs.setdefault(p, p) for p in locals_]
        else:
            locals_ = got
        f = Func(func_types[i] if i < nft else -1, locals_, None, base + body_start)
        if hook is not None and pos <= body_end:
            spans[base + body_start] = (pos, body_end)
            f.lazy = hook
        else:
            f.body, f.offsets = _body(data, pos, body_end, body_start, base, data_count)
        pos = body_end
        funcs.append(f)
    return pos


def _datas(st: _State, data: Buffer, pos: int, end: int) -> int:
    n, pos = read_len(data, pos)
    out = st.module.datas
    for _ in range(n):
        fpos = pos
        flags, pos = read_u32(data, pos)
        if flags > 2:
            raise Malformed("malformed data segment kind", fpos)
        mem = 0
        offset = None
        if flags != 1:
            if flags == 2:
                mem, pos = read_u32(data, pos)
            offset, pos = decode_const(data, pos)
        size, pos = read_len(data, pos)
        init, pos = take(data, pos, size)
        out.append(Data("passive" if flags == 1 else "active", init, mem, offset, flags == 2))
    return pos


SECTIONS: dict[int, Section] = {
    0: _custom, 1: _types, 2: _imports, 3: _functions, 4: _tables, 5: _memories,
    6: _globals, 7: _exports, 8: _start, 9: _elems, 10: _code, 11: _datas,
    12: _datacount, 13: _tags,
}  # fmt: skip


def _section(st: _State, sid: int, data: Buffer, pos: int, end: int) -> None:
    """Decode one section's payload ``data[pos:end]`` (``data`` may extend beyond)."""
    q = SECTIONS[sid](st, data, pos, end)
    if q != end:
        raise Malformed("section size mismatch", pos)
    if sid:
        st.last_id = sid


# ---------------------------------------------------------------- drivers
def _header(data: Buffer) -> None:
    if len(data) < 4:
        raise IndexError(4)
    if data[:4] != MAGIC:
        raise Malformed("magic header not detected", 0)
    if len(data) < 8:
        raise IndexError(8)
    if data[4:8] != VERSION:
        raise Malformed("unknown binary version", 4)


def _decode_bytes(data: bytes, lazy: bool, shared_memory: bool = False) -> Module:
    st = _State(lazy, shared_memory)
    try:
        _header(data)
        pos = 8
        n = len(data)
        while pos < n:
            sid = data[pos]
            st.begin(sid, pos)
            size, p = read_len(data, pos + 1)
            _section(st, sid, data, p, p + size)
            pos = p + size
        return st.finish(n)
    except Malformed as e:
        raise DecodeError(e.message, e.pos) from None
    except IndexError:
        raise DecodeError(EOS, len(data)) from None


class _Stream:
    """Sequential reads from a binary file object, tracking the absolute offset."""

    CHUNK = 1 << 24

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.offset = 0

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at end of input); reads big sizes in chunks
        so that a bogus huge length cannot allocate before the input runs out."""
        if n <= self.CHUNK:
            b = self.f.read(n) or b""
        else:
            parts = []
            left = n
            while left:
                part = self.f.read(min(left, self.CHUNK)) or b""
                if not part:
                    break
                parts.append(part)
                left -= len(part)
            b = b"".join(parts)
        self.offset += len(b)
        return bytes(b)

    def rest(self) -> bytes:
        b = bytes(self.f.read() or b"")
        self.offset += len(b)
        return b


def _decode_stream(f: BinaryIO, lazy: bool, shared_memory: bool = False) -> Module:
    src = _Stream(f)
    st = _State(lazy, shared_memory)
    base = 0
    data = b""
    trailing: list[bytes] | None = None
    try:
        head = src.read(8)
        data = head
        _header(head)
        while True:
            id_pos = src.offset
            idb = src.read(1)
            if not idb:
                break
            sid = idb[0]
            base = id_pos
            data = idb
            st.begin(sid, 0)
            base = id_pos + 1
            size_bytes = bytearray()
            while True:  # the section size: at most 5 LEB128 bytes
                b = src.read(1)
                size_bytes += b
                if not b or b[0] < 0x80 or len(size_bytes) == 5:
                    break
            data = bytes(size_bytes)
            size, p = read_u32(data, 0)
            payload = src.read(size)
            if size > len(payload) + p:
                raise Malformed("length out of bounds", 0)
            base = src.offset - len(payload)
            data = payload
            st.base = base
            if trailing is not None:
                trailing.append(idb + size_bytes + payload)
            try:
                _section(st, sid, payload, 0, size)
            except (IndexError, Malformed) as e:
                if isinstance(e, Malformed) and not e.retry:
                    raise
                more = src.rest()
                if not more:
                    raise
                data = payload + more
                _section(st, sid, data, 0, size)
                raise Malformed("section size mismatch", 0) from None  # not reached
            if sid == 10 and st.hook is not None:
                trailing = st.hook.trailing
        base = 0
        return st.finish(src.offset)
    except Malformed as e:
        raise DecodeError(e.message, base + e.pos) from None
    except IndexError:
        raise DecodeError(EOS, base + len(data)) from None


def decode_module(data: bytes | bytearray | memoryview | BinaryIO, *, lazy: bool = True,
                  shared_memory: bool = False) -> Module:
    """Decode a binary module from bytes or a binary file object.

    With ``lazy`` (the default) function bodies are decoded on first access of
    ``Func.instrs`` (which then raises any DecodeError in the body); otherwise all
    at once. Malformed input raises :class:`DecodeError` only; I/O errors from a
    file object propagate unchanged. ``shared_memory`` accepts the threads
    proposal's shared memory flag (core modules inside components).
    """
    with _GCPaused():
        if isinstance(data, bytes):
            return _decode_bytes(data, lazy, shared_memory)
        if isinstance(data, (bytearray, memoryview)):
            return _decode_bytes(bytes(data), lazy, shared_memory)
        return _decode_stream(data, lazy, shared_memory)


def decode_const_expr(data: bytes, pos: int = 0) -> tuple[Expr, int]:
    """Decode a constant expression at ``data[pos]``; returns it and the position after
    its ``end``. Raises :class:`DecodeError`."""
    try:
        return decode_const(data, pos)
    except Malformed as e:
        raise DecodeError(e.message, e.pos) from None
    except IndexError:
        raise DecodeError(EOS, len(data)) from None


__all__ = ["DecodeError", "decode_body", "decode_const_expr", "decode_module"]
