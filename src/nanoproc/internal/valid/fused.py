"""Fused decode + validation of a function body, straight from its bytes.

The full path decodes a body into instruction tuples (``binary.code``) and then
type-checks them (:class:`.stack.Checker`): two dispatches per instruction and a
tuple built for each. On a big module (CPython for WASI: 32 million instructions)
that is most of ``nanoproc validate`` and of a cold ``Module()``. This module walks
the bytes once, with one dispatch per instruction, keeping only the operand types
(the interned type objects, so most checks are identity tests) and a control stack
of tuples; no instruction is built and nothing is kept.

It is a filter, not a second validator: :func:`check_body` answers either "valid,
N instructions" or ``None`` ("not sure"). ``None`` is the answer for every error and
for everything it does not handle exactly (subtyping beyond identity, values typed
by unreachable code, non-defaultable locals, GC, legacy exceptions, lanes, ...);
the caller then runs the full decoder and validator on that body, which give the
error message and byte offset. So this path may only *accept* bodies the full path
accepts, and it decodes every immediate with the same readers (or stricter inline
fast cases of them), so a body it accepts also decodes.

Dispatch is table-driven from the operator table (``syntax/ops.py``): every
instruction's kind comes from its typing rule and signature there, not from a
second list of opcodes here; the loop below implements the rules' stack mechanics
per kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any

from ..binary.reader import Malformed, read_s64, read_uleb
from ..binary.typecodes import VALTYPE_BY_BYTE, read_blocktype
from ..syntax.ops import BY_CODE, BY_PREFIX, OPS, Op
from ..syntax.types import EXNREF, FUNCREF, I32, I64, NumType, RefType
from .context import Context, min_addr
from .stack import MARKER
from .subtyping import match_results, match_valtype

# Kinds, roughly by frequency in real code (the loop tests them in this order).
# The loop compares with literal ints (a global lookup per test costs time): keep
# the numbers there in step with these.
(K_LGET, K_I32C, K_BIN, K_BRIF, K_LSET, K_LTEE, K_LOAD, K_STORE, K_END, K_BLOCK,
 K_CALL, K_UN, K_BR, K_FIXED, K_ELSE, K_I64C, K_GGET, K_GSET, K_CONST,
 K_UNREACH, K_CALLI, K_SELECT, K_DROP, K_RETURN, K_BRTABLE, K_PREFIX, K_MEMSIZE,
 K_MEMGROW, K_TRYTABLE, K_THROW, K_THROWREF, K_SELECTT, K_MEMCOPY, K_MEMFILL,
 K_MEMINIT, K_DATADROP, K_BAIL) = range(37)  # fmt: skip

_RULE_KINDS: dict[str, int] = {
    "local.get": K_LGET, "local.set": K_LSET, "local.tee": K_LTEE, "br_if": K_BRIF,
    "end": K_END, "block": K_BLOCK, "loop": K_BLOCK, "if": K_BLOCK, "else": K_ELSE,
    "call": K_CALL, "br": K_BR, "global.get": K_GGET, "global.set": K_GSET,
    "unreachable": K_UNREACH, "call_indirect": K_CALLI, "select": K_SELECT,
    "drop": K_DROP, "return": K_RETURN, "br_table": K_BRTABLE,
    "memory.size": K_MEMSIZE, "memory.grow": K_MEMGROW, "try_table": K_TRYTABLE,
    "throw": K_THROW, "throw_ref": K_THROWREF, "select_t": K_SELECTT,
    "memory.copy": K_MEMCOPY, "memory.fill": K_MEMFILL, "memory.init": K_MEMINIT,
    "data.drop": K_DATADROP,
}  # fmt: skip
"""Typing rules (``Op.rule``) whose stack mechanics the loop implements."""

_CONST_SIZES = {"f32": 4, "f64": 8, "v128": 16}
"""Fixed-size immediates of fixed-signature instructions (bytes to skip)."""


def _kind(op: Op) -> tuple[int, Any]:
    """The loop's kind for ``op`` and what that kind needs to know (from the table)."""
    if op.lanes:
        return K_BAIL, None
    if op.rule is None:
        params, results = list(op.params), list(op.results)
        if len(results) > 1:
            return K_BAIL, None
        if op.imms == ("i32",):
            return K_I32C, None
        if op.imms == ("i64",):
            return K_I64C, None
        if len(op.imms) == 1 and op.imms[0] in _CONST_SIZES:
            return K_CONST, (_CONST_SIZES[op.imms[0]], results)
        if op.imms:
            return K_BAIL, None
        numeric = all(type(t) is NumType for t in op.params + op.results)
        if numeric and len(params) == 1 and len(results) == 1 and op.prefix is None:
            return K_UN, (params[0], results[0])
        if numeric and len(params) == 2 and len(results) == 1 and op.prefix is None:
            return K_BIN, (params[0], params[1], results[0])
        return K_FIXED, (params, len(params), results)
    if op.rule == "memarg":
        if len(op.params) > 1 or len(op.results) > 1 or bool(op.params) == bool(op.results):
            return K_BAIL, None
        natural = op.width.bit_length() - 1
        if op.results:
            return K_LOAD, (natural, op.results[0])
        return K_STORE, (natural, op.params[0])
    kind = _RULE_KINDS.get(op.rule, K_BAIL)
    return kind, None


KIND: list[int] = [K_BAIL] * 256
INFO: list[Any] = [None] * 256
for _code, _op in BY_CODE.items():
    KIND[_code], INFO[_code] = _kind(_op)
for _prefix in BY_PREFIX:
    KIND[_prefix] = K_PREFIX
PREFIXED: dict[int, dict[int, tuple[int, Any, Op]]] = {
    prefix: {sub: (*_kind(op), op) for sub, op in table.items()}
    for prefix, table in BY_PREFIX.items()
}
NEEDS_DATA_COUNT = frozenset(op for op in OPS if "data" in op.imms)

_EXN = RefType(False, "exn")
_EMPTY: list[Any] = []
"""Shared empty type list (never mutated)."""

_Sig = tuple[list[Any], int, list[Any]]


class ModuleTables:
    """Per-module lookups for :func:`check_body`, built once per validation run."""

    __slots__ = ("ctx", "funcs", "globals", "mems", "tables", "blocktypes", "types")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        by_type: dict[int, _Sig] = {}
        funcs: list[_Sig] = []
        for ft in ctx.funcs:
            sig = by_type.get(id(ft))
            if sig is None:
                sig = by_type[id(ft)] = (list(ft.params), len(ft.params), list(ft.results))
            funcs.append(sig)
        self.funcs = funcs
        """Function index -> (params, len(params), results)."""
        self.globals = ctx.globals
        self.mems = ctx.mems
        self.tables = [(match_valtype(t.elem, FUNCREF), t.addr) for t in ctx.tables]
        """Table index -> (holds function references, address type)."""
        self.blocktypes: dict[Any, tuple[list[Any], int, list[Any]]] = {}
        self.types: dict[int, _Sig] = {}

    def blocktype(self, bt: Any) -> tuple[list[Any], int, list[Any]]:
        """(params, len(params), results) of a block type; Invalid if it is not valid."""
        got = self.blocktypes.get(bt)
        if got is None:
            if bt is None:
                got = (_EMPTY, 0, _EMPTY)
            elif isinstance(bt, int) and not isinstance(bt, bool):
                got = self.functype(bt)
            else:
                got = (_EMPTY, 0, [self.ctx.val(bt)])
            self.blocktypes[bt] = got
        return got

    def functype(self, x: int) -> _Sig:
        got = self.types.get(x)
        if got is None:
            ft = self.ctx.functype(x)
            got = self.types[x] = (list(ft.params), len(ft.params), list(ft.results))
        return got


def _catch_ok(ctx: Context, kind: int, tag: int, labels: Sequence[Any]) -> bool:
    """A try_table clause, as rules_control checks it (same matching functions)."""
    if kind < 2:
        carried: tuple[Any, ...] = ctx.tag(tag).params
        if kind == 1:
            carried = carried + (_EXN,)
    else:
        carried = () if kind == 2 else (_EXN,)
    return match_results(carried, labels)


def check_body(
    mt: ModuleTables, locals_: list[Any], results: list[Any], data: Any, pos: int, end: int,
    data_count: bool,
) -> int | None:  # fmt: skip
    """Decode and check the instructions at ``data[pos:end]`` (a body's code after its
    locals). Returns the instruction count (the final ``end`` not counted) if the
    body is valid, None if it is invalid or not certainly valid (see the module doc).
    ``locals_`` are the canonical types of parameters and locals, all defaultable."""
    if end > len(data):
        return None  # a size that overruns the input (a slice would end early, silently)
    try:
        return _run(mt, locals_, results, iter(data[pos:end]), data_count)
    except Exception:  # noqa: BLE001  (errors, and anything unforeseen: the full check decides)
        return None


# LEB128 immediates. The loop reads bytes from an iterator over the body; a
# multi-byte number is collected (at most the bytes its reader looks at) and given
# to the decoder's own reader, so what is accepted is exactly what the decoder accepts.
def _leb(first: int, it: Iterator[int], reader: Callable[[Any, int], tuple[Any, int]],
         limit: int, *more: int) -> Any:  # fmt: skip
    """The number whose first byte is ``first`` (then ``more``, already read)."""
    buf = bytearray((first, *more))
    b = buf[-1]
    while b >= 0x80 and len(buf) < limit:
        b = next(it)
        buf.append(b)
    value, used = reader(buf, 0)
    if used != len(buf):
        raise Malformed("LEB128 read short", 0)
    return value


def _u32(x: int, it: Iterator[int]) -> int:
    """A u32 whose first byte is ``x``, unrolled as binary.reader.read_u32 (linkers pad
    relocated indices to five bytes), with its exact acceptance."""
    if x < 0x80:
        return x
    b = next(it)
    x = (x & 0x7F) | (b & 0x7F) << 7
    if b < 0x80:
        return x
    b = next(it)
    x |= (b & 0x7F) << 14
    if b < 0x80:
        return x
    b = next(it)
    x |= (b & 0x7F) << 21
    if b < 0x80:
        return x
    b = next(it)
    if b < 0x10:
        return x | b << 28
    raise Malformed("integer too large", 0)


def _u64(buf: Any, pos: int) -> tuple[int, int]:
    return read_uleb(buf, pos, 64)


def _memarg(flags: int, it: Iterator[int]) -> tuple[int, int, int]:
    """``(align, offset, memory)`` as binary.code.read_memarg reads it; ``flags`` is
    its first byte."""
    mem = 0
    if flags >= 0x40:
        flags = _u32(flags, it)
        if flags >= 0x80:
            raise Malformed("malformed memop flags", 0)
        if flags >= 0x40:
            mem = next(it)
            if mem >= 0x80:
                mem = _u32(mem, it)
            flags -= 0x40
    off = next(it)
    if off >= 0x80:
        off = _leb(off, it, _u64, 10)
    return flags, off, mem


def _blocktype(first: int, it: Iterator[int]) -> Any:
    """A block type's key for ModuleTables.blocktype (0x40, the empty type, is the
    loop's own fast case); KeyError for a reference type with a heap immediate."""
    if first < 0x40:
        return first  # a type index
    if first < 0x80:
        return VALTYPE_BY_BYTE[first]
    return _leb(first, it, read_blocktype, 5)


def _skip(it: Iterator[int], n: int) -> None:
    if len(bytes(islice(it, n))) != n:
        raise Malformed("unexpected end", 0)


def _run(
    mt: ModuleTables, locals_: list[Any], results: list[Any], it: Iterator[int], data_count: bool
) -> int | None:
    kind_of = KIND
    info = INFO
    nxt = next
    vals: list[Any] = [MARKER]
    # Control frames: (label types, height, the enclosing frame's unreachable flag,
    # the enclosing frame's height, end types, start types, kind). End types None
    # marks a frame without parameters or results (most of them: their ``end`` is
    # a fast path). The kind is the opening opcode (0x05 for an if's else part, 0
    # for the function). The innermost frame's height and unreachable flag live in
    # ``h`` and ``unreach`` (only the innermost frame's flag can change).
    ctrls: list[tuple[list[Any], int, bool, int, list[Any] | None, list[Any], int]] = [
        (results, 1, False, 0, results, _EMPTY, 0)
    ]
    h = 1
    unreach = False
    funcs = mt.funcs
    globals_ = mt.globals
    mems = mt.mems
    mem0 = mems[0] if mems else None
    for n, b in enumerate(it):  # noqa: B007 (n is the count returned at the end)
        k = kind_of[b]
        if k == 0:  # K_LGET
            x = nxt(it)
            if x >= 0x80:
                x = _u32(x, it)
            vals.append(locals_[x])
        elif k == 1:  # K_I32C: only the constant's length matters (1-4 bytes always valid)
            if nxt(it) >= 0x80 and nxt(it) >= 0x80 and nxt(it) >= 0x80 and nxt(it) >= 0x80:
                x = nxt(it)
                if not (x < 0x08 or 0x78 <= x < 0x80):
                    return None
            vals.append(I32)
        elif k < 8:
            if k == 2:  # K_BIN
                p1, p2, r = info[b]
                if vals[-1] is not p2 or vals[-2] is not p1:
                    return None
                del vals[-1]
                vals[-1] = r
            elif k == 3:  # K_BRIF
                x = nxt(it)
                if x >= 0x80:
                    x = _u32(x, it)
                lab = ctrls[-1 - x][0]
                if vals[-1] is not I32:
                    return None
                vals.pop()
                if lab and vals[-len(lab) :] != lab:
                    return None
            elif k < 6:  # K_LSET, K_LTEE
                x = nxt(it)
                if x >= 0x80:
                    x = _u32(x, it)
                if vals[-1] is not locals_[x]:
                    return None
                if k == 4:
                    vals.pop()
            else:  # K_LOAD, K_STORE
                natural, t = info[b]
                flags = nxt(it)
                if flags <= natural:  # one-byte flags: memory 0
                    off = nxt(it)
                    if off >= 0x80:
                        y = nxt(it)
                        if y < 0x80:
                            off = (off & 0x7F) | y << 7  # < 2**14: fine for any memory
                        else:
                            off = _leb(off, it, _u64, 10, y)
                            if off >= 4294967296 and mem0 is not I64:
                                return None
                    mem = mem0
                else:
                    if flags < 0x40:
                        return None  # alignment larger than natural
                    flags, off, x = _memarg(flags, it)
                    mem = mems[x]
                    if flags > natural or (off >= 4294967296 and mem is not I64):
                        return None
                if k == 6:
                    if vals[-1] is not mem:
                        return None
                    vals[-1] = t
                else:
                    if vals[-1] is not t or vals[-2] is not mem:
                        return None
                    del vals[-2:]
        elif k < 16:
            if k == 8:  # K_END
                fr = ctrls.pop()
                if fr[4] is None and len(vals) == h:
                    del vals[-1]
                    unreach = fr[2]
                    h = fr[3]
                    continue
                endt = fr[4]
                if endt is None:
                    return None
                if vals[h:] != endt and not (unreach and len(vals) == h):
                    return None
                if fr[6] == 0x04 and fr[5] != endt:
                    return None  # an if without else must pass its parameters through
                if not ctrls:  # the function's end
                    for _ in it:
                        return None  # the body goes on after its final end
                    return n
                del vals[h - 1 :]
                vals += endt
                unreach = fr[2]
                h = fr[3]
            elif k == 9:  # K_BLOCK: block, loop, if
                bt = nxt(it)
                if b == 0x04:
                    if vals[-1] is not I32:
                        return None
                    vals.pop()
                if bt == 0x40:
                    vals.append(MARKER)
                    ctrls.append((_EMPTY, len(vals), unreach, h, None, _EMPTY, b))
                    h = len(vals)
                else:
                    params, np_, res = mt.blocktype(_blocktype(bt, it))
                    if np_:
                        if vals[-np_:] != params:
                            return None
                        del vals[-np_:]
                    vals.append(MARKER)
                    fh = len(vals)
                    ctrls.append((params if b == 0x03 else res, fh, unreach, h, res, params, b))
                    h = fh
                    if np_:
                        vals += params
                unreach = False
            elif k == 10:  # K_CALL
                x = nxt(it)
                if x >= 0x80:
                    x = _u32(x, it)
                params, np_, res = funcs[x]
                if np_:
                    if vals[-np_:] != params:
                        return None
                    del vals[-np_:]
                if res:
                    vals += res
            elif k == 11:  # K_UN
                p1, r = info[b]
                if vals[-1] is not p1:
                    return None
                vals[-1] = r
            elif k == 12:  # K_BR
                x = nxt(it)
                if x >= 0x80:
                    x = _u32(x, it)
                lab = ctrls[-1 - x][0]
                if lab and vals[-len(lab) :] != lab:
                    return None
                del vals[h:]
                unreach = True
            elif k == 13:  # K_FIXED
                params, np_, res = info[b]
                if np_:
                    if vals[-np_:] != params:
                        return None
                    del vals[-np_:]
                if res:
                    vals += res
            elif k == 14:  # K_ELSE
                fr = ctrls[-1]
                if fr[6] != 0x04:
                    return None
                endt = fr[4]
                if endt is None:
                    if len(vals) != h:
                        return None
                else:
                    if vals[h:] != endt and not (unreach and len(vals) == h):
                        return None
                    del vals[h:]
                    vals += fr[5]
                ctrls[-1] = (fr[0], h, fr[2], fr[3], endt, fr[5], 0x05)
                unreach = False
            else:  # K_I64C
                x = nxt(it)
                if x >= 0x80:
                    _leb(x, it, read_s64, 10)
                vals.append(I64)
        elif k == 16 or k == 17:  # K_GGET, K_GSET
            x = nxt(it)
            if x >= 0x80:
                x = _u32(x, it)
            t, mutable = globals_[x]
            if k == 16:
                vals.append(t)
            else:
                if not mutable or vals[-1] is not t:
                    return None
                vals.pop()
        elif k == 18:  # K_CONST (f32, f64 and v128 constants)
            size, res = info[b]
            _skip(it, size)
            vals += res
        elif k == 19:  # K_UNREACH
            del vals[h:]
            unreach = True
        elif k == 20:  # K_CALLI
            x = nxt(it)
            if x >= 0x80:
                x = _u32(x, it)
            y = nxt(it)
            if y >= 0x80:
                y = _u32(y, it)
            funcref, addr = mt.tables[y]
            params, np_, res = mt.functype(x)
            if not funcref or vals[-1] is not addr:
                return None
            vals.pop()
            if np_:
                if vals[-np_:] != params:
                    return None
                del vals[-np_:]
            if res:
                vals += res
        elif k == 21:  # K_SELECT (untyped: numeric or vector operands of one type)
            if vals[-1] is not I32 or len(vals) - h < 3:
                return None
            t = vals[-2]
            if t is not vals[-3] or type(t) is not NumType:
                return None
            del vals[-2:]
        elif k == 22:  # K_DROP
            if len(vals) > h:
                vals.pop()
            elif not unreach:
                return None
        elif k == 23:  # K_RETURN
            if results and vals[-len(results) :] != results:
                return None
            del vals[h:]
            unreach = True
        elif k == 24:  # K_BRTABLE
            count = _u32(nxt(it), it)
            targets = []
            for _ in range(count):
                targets.append(_u32(nxt(it), it))
            default = ctrls[-1 - _u32(nxt(it), it)][0]
            if vals[-1] is not I32:
                return None
            vals.pop()
            arity = len(default)
            for x in targets:
                lab = ctrls[-1 - x][0]
                if len(lab) != arity or (arity and vals[-arity:] != lab):
                    return None
            if arity and vals[-arity:] != default:
                return None
            del vals[h:]
            unreach = True
        elif k == 25:  # K_PREFIX
            sub = nxt(it)
            if sub >= 0x80:
                sub = _leb(sub, it, _u32_uleb, 5)
            pk, pinfo, op = PREFIXED[b][sub]
            if op in NEEDS_DATA_COUNT and not data_count:
                return None
            if pk == K_FIXED:
                params, np_, res = pinfo
                if np_:
                    if vals[-np_:] != params:
                        return None
                    del vals[-np_:]
                if res:
                    vals += res
            elif pk == K_MEMCOPY:
                dst = mems[_u32(nxt(it), it)]
                src = mems[_u32(nxt(it), it)]
                if vals[-1] is not min_addr(dst, src) or vals[-2] is not src or vals[-3] is not dst:
                    return None
                del vals[-3:]
            elif pk == K_MEMFILL:
                at = mems[_u32(nxt(it), it)]
                if vals[-1] is not at or vals[-2] is not I32 or vals[-3] is not at:
                    return None
                del vals[-3:]
            elif pk == K_MEMINIT:
                mt.ctx.data(_u32(nxt(it), it))
                at = mems[_u32(nxt(it), it)]
                if vals[-1] is not I32 or vals[-2] is not I32 or vals[-3] is not at:
                    return None
                del vals[-3:]
            elif pk == K_DATADROP:
                mt.ctx.data(_u32(nxt(it), it))
            elif pk == K_CONST:
                size, res = pinfo
                _skip(it, size)
                vals += res
            elif pk == K_LOAD or pk == K_STORE:
                natural, t = pinfo
                flags, off, x = _memarg(nxt(it), it)
                mem = mems[x]
                if flags > natural:
                    return None
                if mem is I32:
                    if off >= 4294967296:
                        return None
                elif mem is not I64:
                    return None
                if pk == K_LOAD:
                    if vals[-1] is not mem:
                        return None
                    vals[-1] = t
                else:
                    if vals[-1] is not t or vals[-2] is not mem:
                        return None
                    del vals[-2:]
            else:
                return None
        elif k == 26:  # K_MEMSIZE
            vals.append(mems[_u32(nxt(it), it)])
        elif k == 27:  # K_MEMGROW
            if vals[-1] is not mems[_u32(nxt(it), it)]:
                return None
        elif k == 28:  # K_TRYTABLE
            bt = nxt(it)
            params, np_, res = mt.blocktype(None if bt == 0x40 else _blocktype(bt, it))
            count = _u32(nxt(it), it)
            for _ in range(count):
                ck = nxt(it)
                if ck > 3:
                    return None
                tag = _u32(nxt(it), it) if ck < 2 else 0
                x = _u32(nxt(it), it)
                if not _catch_ok(mt.ctx, ck, tag, ctrls[-1 - x][0]):
                    return None
            if np_:
                if vals[-np_:] != params:
                    return None
                del vals[-np_:]
            vals.append(MARKER)
            fh = len(vals)
            ctrls.append((res, fh, unreach, h, res, params, b))
            h = fh
            if np_:
                vals += params
            unreach = False
        elif k == 29:  # K_THROW
            params = list(mt.ctx.tag(_u32(nxt(it), it)).params)
            if params and vals[-len(params) :] != params:
                return None
            del vals[h:]
            unreach = True
        elif k == 30:  # K_THROWREF
            if len(vals) <= h or not match_valtype(vals[-1], EXNREF):
                return None
            del vals[h:]
            unreach = True
        elif k == 31:  # K_SELECTT
            if nxt(it) != 1:
                return None  # one type, as a one-byte count (anything else: full check)
            t = mt.ctx.val(VALTYPE_BY_BYTE[nxt(it)])
            if vals[-1] is not I32 or vals[-2] is not t or vals[-3] is not t:
                return None
            del vals[-2:]
        else:
            return None
    return None


def _u32_uleb(buf: Any, pos: int) -> tuple[int, int]:
    return read_uleb(buf, pos, 32)
