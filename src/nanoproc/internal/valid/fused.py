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

from collections.abc import Sequence
from typing import Any

from ..binary.code import read_memarg as _memarg
from ..binary.reader import Malformed, read_len, read_s32, read_s64, read_u32, read_uleb
from ..binary.typecodes import read_blocktype, read_valtypes
from ..syntax.ops import BY_CODE, BY_PREFIX, OPS, Op
from ..syntax.types import EXNREF, FUNCREF, I32, I64, NumType, RefType
from .context import Context, Invalid, min_addr
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
    try:
        return _run(mt, locals_, results, data, pos, end, data_count)
    except (IndexError, KeyError, Malformed, Invalid):
        return None


def _run(
    mt: ModuleTables, locals_: list[Any], results: list[Any], data: Any, pos: int, end: int,
    data_count: bool,
) -> int | None:  # fmt: skip
    kind_of = KIND
    info = INFO
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
    n = 0
    while True:
        b = data[pos]
        k = kind_of[b]
        n += 1
        if k == 0:  # K_LGET
            x = data[pos + 1]
            if x < 0x80:
                pos += 2
            else:
                y = data[pos + 2]
                if y < 0x80:
                    x = (x & 0x7F) | y << 7
                    pos += 3
                else:
                    x, pos = read_u32(data, pos + 1)
            vals.append(locals_[x])
        elif k == 1:  # K_I32C: only the constant's length matters (1-4 bytes always valid)
            if data[pos + 1] < 0x80:
                pos += 2
            elif data[pos + 2] < 0x80:
                pos += 3
            elif data[pos + 3] < 0x80:
                pos += 4
            elif data[pos + 4] < 0x80:
                pos += 5
            else:
                x, pos = read_s32(data, pos + 1)
            vals.append(I32)
        elif k < 8:
            if k == 2:  # K_BIN
                p1, p2, r = info[b]
                if vals[-1] is not p2 or vals[-2] is not p1:
                    return None
                del vals[-1]
                vals[-1] = r
                pos += 1
            elif k == 3:  # K_BRIF
                x = data[pos + 1]
                if x < 0x80:
                    pos += 2
                else:
                    x, pos = read_u32(data, pos + 1)
                lab = ctrls[-1 - x][0]
                if vals[-1] is not I32:
                    return None
                vals.pop()
                if lab and vals[-len(lab) :] != lab:
                    return None
            elif k < 6:  # K_LSET, K_LTEE
                x = data[pos + 1]
                if x < 0x80:
                    pos += 2
                else:
                    y = data[pos + 2]
                    if y < 0x80:
                        x = (x & 0x7F) | y << 7
                        pos += 3
                    else:
                        x, pos = read_u32(data, pos + 1)
                if vals[-1] is not locals_[x]:
                    return None
                if k == 4:
                    vals.pop()
            else:  # K_LOAD, K_STORE (memory 0 and offsets < 2**14 inline)
                natural, t = info[b]
                flags = data[pos + 1]
                off = data[pos + 2]
                if flags < 0x40 and off < 0x80:
                    pos += 3
                    mem = mem0
                elif flags < 0x40 and data[pos + 3] < 0x80:
                    off = (off & 0x7F) | data[pos + 3] << 7
                    pos += 4
                    mem = mem0
                else:
                    (flags, off, x), pos = _memarg(data, pos + 1)
                    mem = mems[x]
                if flags > natural:
                    return None
                if mem is I32:
                    if off >= 4294967296:
                        return None
                elif mem is not I64:
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
                fr = ctrls[-1]
                if fr[4] is None and len(vals) == h:
                    ctrls.pop()
                    del vals[-1]
                    unreach = fr[2]
                    h = fr[3]
                    pos += 1
                    continue
                endt = fr[4]
                if endt is None:
                    return None
                if vals[h:] != endt and not (unreach and len(vals) == h):
                    return None
                if fr[6] == 0x04 and fr[5] != endt:
                    return None  # an if without else must pass its parameters through
                if len(ctrls) == 1:
                    return n - 1 if pos + 1 == end else None
                ctrls.pop()
                del vals[h - 1 :]
                vals += endt
                unreach = fr[2]
                h = fr[3]
                pos += 1
            elif k == 9:  # K_BLOCK: block, loop, if
                bt = data[pos + 1]
                if b == 0x04:
                    if vals[-1] is not I32:
                        return None
                    vals.pop()
                if bt == 0x40:
                    pos += 2
                    vals.append(MARKER)
                    ctrls.append((_EMPTY, len(vals), unreach, h, None, _EMPTY, b))
                    h = len(vals)
                else:
                    blocktype, pos = read_blocktype(data, pos + 1)
                    params, np_, res = mt.blocktype(blocktype)
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
                x = data[pos + 1]
                if x < 0x80:
                    pos += 2
                else:
                    y = data[pos + 2]
                    if y < 0x80:
                        x = (x & 0x7F) | y << 7
                        pos += 3
                    else:
                        z = data[pos + 3]
                        if z < 0x80:
                            x = (x & 0x7F) | (y & 0x7F) << 7 | z << 14
                            pos += 4
                        else:
                            x, pos = read_u32(data, pos + 1)
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
                pos += 1
            elif k == 12:  # K_BR
                x = data[pos + 1]
                if x < 0x80:
                    pos += 2
                else:
                    x, pos = read_u32(data, pos + 1)
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
                pos += 1
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
                pos += 1
            else:  # K_I64C
                x, pos = read_s64(data, pos + 1)
                vals.append(I64)
        elif k == 16:  # K_GGET
            x = data[pos + 1]
            if x < 0x80:
                pos += 2
            else:
                x, pos = read_u32(data, pos + 1)
            vals.append(globals_[x][0])
        elif k == 17:  # K_GSET
            x = data[pos + 1]
            if x < 0x80:
                pos += 2
            else:
                x, pos = read_u32(data, pos + 1)
            t, mutable = globals_[x]
            if not mutable or vals[-1] is not t:
                return None
            vals.pop()
        elif k == 18:  # K_CONST (f32, f64 and v128 constants)
            size, res = info[b]
            pos += 1 + size
            vals += res
        elif k == 19:  # K_UNREACH
            del vals[h:]
            unreach = True
            pos += 1
        elif k == 20:  # K_CALLI
            x, pos = read_u32(data, pos + 1)
            y, pos = read_u32(data, pos)
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
            pos += 1
        elif k == 22:  # K_DROP
            if len(vals) > h:
                vals.pop()
            elif not unreach:
                return None
            pos += 1
        elif k == 23:  # K_RETURN
            if results and vals[-len(results) :] != results:
                return None
            del vals[h:]
            unreach = True
            pos += 1
        elif k == 24:  # K_BRTABLE
            count, pos = read_len(data, pos + 1)
            targets = []
            for _ in range(count):
                x, pos = read_u32(data, pos)
                targets.append(x)
            x, pos = read_u32(data, pos)
            default = ctrls[-1 - x][0]
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
            sub = data[pos + 1]
            if sub < 0x80:
                pos += 2
            else:
                sub, pos = read_uleb(data, pos + 1, 32)
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
                x, pos = read_u32(data, pos)
                y, pos = read_u32(data, pos)
                dst = mems[x]
                src = mems[y]
                if vals[-1] is not min_addr(dst, src) or vals[-2] is not src or vals[-3] is not dst:
                    return None
                del vals[-3:]
            elif pk == K_MEMFILL:
                x, pos = read_u32(data, pos)
                at = mems[x]
                if vals[-1] is not at or vals[-2] is not I32 or vals[-3] is not at:
                    return None
                del vals[-3:]
            elif pk == K_MEMINIT:
                x, pos = read_u32(data, pos)
                y, pos = read_u32(data, pos)
                mt.ctx.data(x)
                at = mems[y]
                if vals[-1] is not I32 or vals[-2] is not I32 or vals[-3] is not at:
                    return None
                del vals[-3:]
            elif pk == K_DATADROP:
                x, pos = read_u32(data, pos)
                mt.ctx.data(x)
            elif pk == K_CONST:
                size, res = pinfo
                pos += size
                vals += res
            elif pk == K_LOAD or pk == K_STORE:
                natural, t = pinfo
                (flags, off, x), pos = _memarg(data, pos)
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
            x, pos = read_u32(data, pos + 1)
            vals.append(mems[x])
        elif k == 27:  # K_MEMGROW
            x, pos = read_u32(data, pos + 1)
            if vals[-1] is not mems[x]:
                return None
        elif k == 28:  # K_TRYTABLE
            blocktype, pos = read_blocktype(data, pos + 1)
            params, np_, res = mt.blocktype(blocktype)
            count, pos = read_len(data, pos)
            for _ in range(count):
                ck = data[pos]
                if ck > 3:
                    return None
                pos += 1
                tag = 0
                if ck < 2:
                    tag, pos = read_u32(data, pos)
                x, pos = read_u32(data, pos)
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
            x, pos = read_u32(data, pos + 1)
            params = list(mt.ctx.tag(x).params)
            if params and vals[-len(params) :] != params:
                return None
            del vals[h:]
            unreach = True
        elif k == 30:  # K_THROWREF
            if len(vals) <= h or not match_valtype(vals[-1], EXNREF):
                return None
            del vals[h:]
            unreach = True
            pos += 1
        elif k == 31:  # K_SELECTT
            ts, pos = read_valtypes(data, pos + 1)
            if len(ts) != 1:
                return None
            t = mt.ctx.val(ts[0])
            if vals[-1] is not I32 or vals[-2] is not t or vals[-3] is not t:
                return None
            del vals[-2:]
        else:
            return None
