"""Instructions in text (spec 6.5): flat and folded forms, driven by ``ops.py``.

Immediates are read by kind (``Op.imms``); the few instructions whose text order or
optional indices differ from their binary immediates (``call_indirect``,
``memory.init``, ``table.copy``, lane loads, ...) have their own readers. Flat
blocks are tracked with an explicit frame stack, folded expressions with an explicit
stack of generators: nesting is limited by memory only, as in wasmtime.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from ..syntax.module import Expr, Instr
from ..syntax.ops import BY_NAME, CATCH_KINDS, ELSE, END, Catch, Op
from .context import ModuleContext
from .cursor import Cursor, uint_of
from .lexer import ATOM, ID, Node, Tok
from .numbers import OutOfRange, is_number, parse_float, parse_int, parse_uint

BLOCK_WORDS = frozenset({"block", "loop", "if", "try_table", "try"})
_HANDLER_WORDS = frozenset({"catch", "catch_all", "delegate", "do"})
"""Legacy try clauses: never instructions on their own."""
_SELECT_T = BY_NAME["select_t"]
_SHAPES = {
    "i8x16": ("i", 8, 16),
    "i16x8": ("i", 16, 8),
    "i32x4": ("i", 32, 4),
    "i64x2": ("i", 64, 2),
    "f32x4": ("f", 32, 4),
    "f64x2": ("f", 64, 2),
}
_DATA_OPS = frozenset(op for op in BY_NAME.values() if "data" in op.imms)


def number(cur: Cursor, kind: str) -> int:
    """An ``i32``/``i64`` (signed) or ``f32``/``f64`` (bit pattern) literal."""
    item = cur.next(f"{kind} literal")
    if not isinstance(item, Tok) or item.kind != ATOM:
        raise cur.unexpected(item)
    return literal(item, kind, cur)


def literal(tok: Tok, kind: str, cur: Cursor) -> int:
    bits = int(kind[1:])
    try:
        v = parse_int(tok.text, bits) if kind[0] == "i" else parse_float(tok.text, bits)
    except OutOfRange:
        raise cur.error(f"{kind} constant out of range", tok) from None
    if v is None:
        word = "unexpected token" if is_number(tok.text) else "unknown operator"
        raise cur.error(f"{word} {tok.text}", tok)
    return v


def v128_literal(cur: Cursor) -> bytes:
    """``shape lane*`` of ``v128.const``, as 16 little-endian bytes."""
    shape_tok = cur.keyword()
    shape = _SHAPES.get(shape_tok.text)
    if shape is None:
        raise cur.error(f"unexpected token {shape_tok.text}: expected a v128 shape", shape_tok)
    kind, bits, lanes = shape
    out = bytearray()
    nbytes = bits // 8
    for _ in range(lanes):
        item = cur.peek()
        if not isinstance(item, Tok) or item.kind != ATOM:
            raise cur.error("wrong number of lane literals", item)
        cur.i += 1
        if kind == "i":
            try:
                v = parse_int(item.text, bits)
            except OutOfRange:
                raise cur.error(f"i{bits} constant out of range", item) from None
            if v is None:
                raise cur.error(f"unknown operator {item.text}", item)
            v &= (1 << bits) - 1
        else:
            v = literal(item, f"f{bits}", cur)
        out += v.to_bytes(nbytes, "little")
    return bytes(out)


Work = Generator["Work", None, None]
"""A piece of parsing that yields the pieces nested in it, to be run first."""


def _drive(work: Work) -> None:
    """Run ``work`` and everything it yields, depth first, on an explicit stack."""
    stack = [work]
    while stack:
        try:
            nested = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        stack.append(nested)


class BodyParser:
    """Parses an instruction sequence (function body or constant expression)."""

    def __init__(self, ctx: ModuleContext, local_ids: dict[str, int] | None, in_func: bool) -> None:
        self.ctx = ctx
        self.src = ctx.src
        self.local_ids = local_ids or {}
        self.labels: list[str | None] = []
        self.label_depths: dict[str, list[int]] = {}
        """Label name -> positions in ``labels`` where it is open (innermost last)."""
        self.frames: list[list[Any]] = []  # flat blocks: [word, label, seen_else, pos]
        self.out: Expr = []
        self.in_func = in_func
        self.block_count = 0
        self.label_names: dict[int, str] = {}

    # ------------------------------------------------------------ sequences
    # Folded instructions nest as deep as the text does (wasmtime accepts millions
    # of levels), so they are parsed without recursion: each sequence and each
    # folded instruction is a generator that yields the work nested in it (a
    # generator to run first), and :func:`_drive` keeps them on an explicit stack.

    def seq(self, cur: Cursor) -> None:
        """Every instruction up to the end of ``cur``; flat blocks opened here must close here."""
        _drive(self._seq(cur))

    def folded(self, node: Node) -> None:
        """One folded instruction ``(op ...)`` and everything nested in it."""
        _drive(self._folded(node))

    def _seq(self, cur: Cursor) -> Work:
        base = len(self.frames)
        out = self.out
        while cur.more():
            item = cur.items[cur.i]
            cur.i += 1
            if isinstance(item, Node):
                yield self._folded(item)
                continue
            if item.kind != ATOM:
                raise cur.unexpected(item)
            word = item.text
            if word in BLOCK_WORDS:
                self.open_flat(word, item, cur)
            elif word == "end":
                if len(self.frames) <= base:
                    raise cur.error("unexpected token end", item)
                frame = self.frames.pop()
                self.check_label(cur, frame[1])
                self.pop_label()
                out.append((END,))
            elif word == "else":
                if len(self.frames) <= base or self.frames[-1][0] != "if" or self.frames[-1][2]:
                    raise cur.error("unexpected token else", item)
                self.frames[-1][2] = True
                self.check_label(cur, self.frames[-1][1])
                out.append((ELSE,))
            elif word in _HANDLER_WORDS:
                self.flat_handler(word, item, cur, base)
            else:
                out.append(self.plain(word, item, cur))
        if len(self.frames) > base:
            raise self.src.error("unclosed block: expected end", self.frames[-1][3])

    def flat_handler(self, word: str, tok: Tok, cur: Cursor, base: int) -> None:
        """``catch x`` / ``catch_all`` / ``delegate l`` of a flat legacy try (frame
        state: False in the body, "catch" after a catch, "all" after catch_all)."""
        frame = self.frames[-1] if len(self.frames) > base else None
        if frame is None or frame[0] != "try" or word == "do":
            raise cur.error(f"unexpected token {word}", tok)
        state = frame[2]
        if word == "delegate":
            if state:
                raise cur.error("unexpected token delegate", tok)
            self.frames.pop()
            self.pop_label()
            self.out.append((BY_NAME["delegate"], self.label(cur)))
            return
        if state == "all":
            raise cur.error(f"unexpected token {word}", tok)
        if word == "catch":
            frame[2] = "catch"
            self.out.append((BY_NAME["catch"], self.ctx.index("tag", cur)))
        else:
            frame[2] = "all"
            self.check_label(cur, frame[1])
            self.out.append((BY_NAME["catch_all"],))

    def _folded_try(self, cur: Cursor) -> Work:
        """``(try label? bt (do ...) (catch x ...)* (catch_all ...)?)`` or
        ``(try label? bt (do ...) (delegate l))``."""
        label = self.open_block("try", cur)
        self.push_label(label)
        body = cur.take_list("do")
        if body is not None:
            yield self._seq(body)
        head = cur.peek_head()
        if head == "delegate":
            sub = cur.list("delegate")
            self.pop_label()
            self.out.append((BY_NAME["delegate"], self.label(sub)))
            sub.expect_end()
            cur.expect_end()
            return
        seen_all = False
        while cur.more():
            head = cur.peek_head()
            if head == "catch" and not seen_all:
                sub = cur.list("catch")
                self.out.append((BY_NAME["catch"], self.ctx.index("tag", sub)))
            elif head == "catch_all" and not seen_all:
                sub = cur.list("catch_all")
                self.out.append((BY_NAME["catch_all"],))
                seen_all = True
            else:
                raise cur.unexpected(cur.peek())
            yield self._seq(sub)
        self.pop_label()
        self.out.append((END,))

    def check_label(self, cur: Cursor, label: str | None) -> None:
        item = cur.peek()
        if isinstance(item, Tok) and item.kind == ID:
            cur.i += 1
            if item.value != label:
                raise cur.error(f"mismatching label {item.text}", item)

    def push_label(self, label: str | None) -> None:
        self.labels.append(label)
        if label is not None:
            self.label_depths.setdefault(label, []).append(len(self.labels) - 1)

    def pop_label(self) -> None:
        label = self.labels.pop()
        if label is not None:
            self.label_depths[label].pop()

    def open_block(self, word: str, cur: Cursor) -> str | None:
        """Label, block type (and catches): emits the opening instruction."""
        label = cur.take_id()
        bt = self.ctx.blocktype(cur)
        if word == "try_table":
            self.out.append((BY_NAME[word], bt, self.catches(cur)))
        else:
            self.out.append((BY_NAME[word], bt))
        if label is not None:
            self.label_names[self.block_count] = label
        self.block_count += 1
        return label

    def open_flat(self, word: str, tok: Tok, cur: Cursor) -> None:
        label = self.open_block(word, cur)
        self.push_label(label)
        self.frames.append([word, label, False, tok.pos])

    def _folded(self, node: Node) -> Work:
        cur = Cursor(node, self.src)
        tok = cur.next("instruction")
        if not isinstance(tok, Tok) or tok.kind != ATOM:
            raise cur.unexpected(tok)
        word = tok.text
        if word in ("block", "loop", "try_table"):
            label = self.open_block(word, cur)
            self.push_label(label)
            yield self._seq(cur)
            self.pop_label()
            self.out.append((END,))
        elif word == "if":
            label = cur.take_id()
            bt = self.ctx.blocktype(cur)
            while cur.more() and not isinstance(cur.peek(), Tok) and cur.peek_head() != "then":
                yield self._folded(cur.next())  # type: ignore[arg-type]
            then = cur.take_list("then")
            if then is None:
                raise cur.error("expected (then ...)")
            if label is not None:
                self.label_names[self.block_count] = label
            self.block_count += 1
            self.out.append((BY_NAME["if"], bt))
            self.push_label(label)
            yield self._seq(then)
            els = cur.take_list("else")
            if els is not None:
                self.out.append((ELSE,))
                yield self._seq(els)
            cur.expect_end()
            self.pop_label()
            self.out.append((END,))
        elif word == "try":
            yield self._folded_try(cur)
        elif word in ("end", "else", "then") or word in _HANDLER_WORDS:
            raise cur.unexpected(tok)
        else:
            instr = self.plain(word, tok, cur)
            while cur.more():
                item = cur.next()
                if not isinstance(item, Node):
                    raise cur.unexpected(item)
                yield self._folded(item)
            self.out.append(instr)

    # ------------------------------------------------------------ plain instructions
    def plain(self, word: str, tok: Tok, cur: Cursor) -> Instr:
        special = _SPECIAL.get(word)
        if special is not None:
            return special(self, word, cur)
        op = BY_NAME.get(word)
        if op is None or word in ("select_t",):
            raise cur.error(f"unknown operator {word}", tok)
        if not op.imms:
            return (op,)
        if self.in_func and op in _DATA_OPS:
            self.ctx.uses_data_index = True
        vals: list[Any] = [op]
        for kind in op.imms:
            vals.append(_IMM[kind](self, cur, vals))
        return tuple(vals)

    # ------------------------------------------------------------ immediates
    def label(self, cur: Cursor) -> int:
        item = cur.next("label")
        if isinstance(item, Tok) and item.kind == ID:
            at = self.label_depths.get(item.value)  # type: ignore[arg-type]
            if not at:
                raise cur.error(f"unknown label {item.text}", item)
            return len(self.labels) - 1 - at[-1]
        if isinstance(item, Tok) and item.kind == ATOM:
            return uint_of(item, 32, self.src)
        raise cur.unexpected(item)

    def local(self, cur: Cursor) -> int:
        item = cur.next("local")
        if isinstance(item, Tok) and item.kind == ID:
            idx = self.local_ids.get(item.value)  # type: ignore[arg-type]
            if idx is None:
                raise cur.error(f"unknown local {item.text}", item)
            return idx
        if isinstance(item, Tok) and item.kind == ATOM:
            return uint_of(item, 32, self.src)
        raise cur.unexpected(item)

    def memarg(self, cur: Cursor, op: Op, mem: int | None = None) -> tuple[int, int, int]:
        """``memidx? offset=N? align=N?`` as (align_log2, offset, memidx)."""
        if mem is None:
            mem = self.ctx.opt_index("memory", cur)
        offset = 0
        align = op.width
        word = cur.peek_keyword()
        if word is not None and word.startswith("offset="):
            offset = _keyword_uint(cur, word[7:], 64)
            word = cur.peek_keyword()
        if word is not None and word.startswith("align="):
            align = _keyword_uint(cur, word[6:], 64)
            if align == 0 or align & (align - 1):
                raise cur.error("alignment must be a power of two", cur.items[cur.i - 1])
        return (align.bit_length() - 1, offset, mem)

    def catches(self, cur: Cursor) -> tuple[Catch, ...]:
        out: list[Catch] = []
        while (head := cur.peek_head()) in CATCH_KINDS:
            sub = cur.list(head)
            tag = self.ctx.index("tag", sub) if head in ("catch", "catch_ref") else None
            out.append(Catch(head, tag, self.label(sub)))
            sub.expect_end()
        return tuple(out)


def _keyword_uint(cur: Cursor, digits: str, bits: int) -> int:
    tok = cur.items[cur.i]
    cur.i += 1
    try:
        v = parse_uint(digits, bits)
    except OutOfRange:
        raise cur.error("offset out of range", tok) from None
    if v is None:
        raise cur.error(f"unknown operator {tok.text}", tok)  # type: ignore[union-attr]
    return v


def _two_indices(cur: Cursor) -> bool:
    if not cur.peek_is_index():
        return False
    cur.i += 1
    two = cur.peek_is_index()
    cur.i -= 1
    return two


# ---------------------------------------------------------------- immediate readers by kind
def _index_reader(space: str) -> Callable[[BodyParser, Cursor, list[Any]], int]:
    return lambda p, cur, vals: p.ctx.index(space, cur)


def _opt_index_reader(space: str) -> Callable[[BodyParser, Cursor, list[Any]], int]:
    return lambda p, cur, vals: p.ctx.opt_index(space, cur)


def _shuffle(p: BodyParser, cur: Cursor, vals: list[Any]) -> bytes:
    lanes = []
    for _ in range(16):
        item = cur.peek()
        if not isinstance(item, Tok) or item.kind != ATOM:
            raise cur.error("invalid lane length", item)
        lanes.append(cur.uint(8))
    return bytes(lanes)


def _valtypes(p: BodyParser, cur: Cursor, vals: list[Any]) -> tuple[Any, ...]:
    types = []
    while (r := cur.take_list("result")) is not None:
        while r.more():
            types.append(p.ctx.valtype(r))
    return tuple(types)


def _brcast(p: BodyParser, cur: Cursor, vals: list[Any]) -> tuple[Any, ...]:
    label = p.label(cur)
    return (label, p.ctx.reftype(cur), p.ctx.reftype(cur))


_IMM: dict[str, Callable[[BodyParser, Cursor, list[Any]], Any]] = {
    "label": lambda p, cur, vals: p.label(cur),
    "func": _index_reader("func"),
    "type": _index_reader("type"),
    "global": _index_reader("global"),
    "data": _index_reader("data"),
    "elem": _index_reader("elem"),
    "tag": _index_reader("tag"),
    "table": _opt_index_reader("table"),
    "memory": _opt_index_reader("memory"),
    "local": lambda p, cur, vals: p.local(cur),
    "u32": lambda p, cur, vals: cur.u32(),
    "memarg": lambda p, cur, vals: p.memarg(cur, vals[0]),
    "i32": lambda p, cur, vals: number(cur, "i32"),
    "i64": lambda p, cur, vals: number(cur, "i64"),
    "f32": lambda p, cur, vals: number(cur, "f32"),
    "f64": lambda p, cur, vals: number(cur, "f64"),
    "v128": lambda p, cur, vals: v128_literal(cur),
    "lane": lambda p, cur, vals: cur.uint(8),
    "shuffle": _shuffle,
    "heap": lambda p, cur, vals: p.ctx.heaptype(cur),
    "field": lambda p, cur, vals: p.ctx.field_index(vals[1], cur),
    "brcast": _brcast,
    "valtypes": _valtypes,
}


# ---------------------------------------------------------------- instructions read by name
def _br_table(p: BodyParser, word: str, cur: Cursor) -> Instr:
    labels = []
    while cur.peek_is_index():
        labels.append(p.label(cur))
    if not labels:
        raise cur.error("br_table needs at least one label")
    return (BY_NAME[word], tuple(labels[:-1]), labels[-1])


def _call_indirect(p: BodyParser, word: str, cur: Cursor) -> Instr:
    table = p.ctx.opt_index("table", cur)
    typeidx, _, _ = p.ctx.typeuse(cur, names=False)
    return (BY_NAME[word], typeidx, table)


def _select(p: BodyParser, word: str, cur: Cursor) -> Instr:
    if cur.peek_head() == "result":
        return (_SELECT_T, _valtypes(p, cur, []))
    return (BY_NAME["select"],)


def _ref_test_cast(p: BodyParser, word: str, cur: Cursor) -> Instr:
    rt = p.ctx.reftype(cur)
    return (BY_NAME[f"{word} null" if rt.nullable else word], rt)


def _init(space: str, seg: str) -> Callable[[BodyParser, str, Cursor], Instr]:
    """memory.init / table.init: text ``x? y`` (space, segment); binary (segment, space)."""

    def read(p: BodyParser, word: str, cur: Cursor) -> Instr:
        target = p.ctx.index(space, cur) if _two_indices(cur) else 0
        segidx = p.ctx.index(seg, cur)
        if seg == "data" and p.in_func:
            p.ctx.uses_data_index = True
        return (BY_NAME[word], segidx, target)

    return read


def _copy(space: str) -> Callable[[BodyParser, str, Cursor], Instr]:
    def read(p: BodyParser, word: str, cur: Cursor) -> Instr:
        if _two_indices(cur):
            return (BY_NAME[word], p.ctx.index(space, cur), p.ctx.index(space, cur))
        return (BY_NAME[word], 0, 0)

    return read


def _lane_memory(p: BodyParser, word: str, cur: Cursor) -> Instr:
    """``v128.loadN_lane memidx? memarg lane``: a leading integer is the memory index
    only when another integer (the lane) follows the memarg keywords."""
    op = BY_NAME[word]
    mem_given = False
    item = cur.peek()
    if isinstance(item, Tok) and item.kind == ID:
        mem_given = True
    elif cur.peek_is_index():
        j = cur.i + 1
        while j < len(cur.items):
            nxt = cur.items[j]
            if isinstance(nxt, Tok) and nxt.kind == ATOM and nxt.text.startswith(("offset=", "align=")):
                j += 1
                continue
            mem_given = isinstance(nxt, Tok) and nxt.kind == ATOM and nxt.text[0].isdigit()
            break
    mem = p.ctx.index("memory", cur) if mem_given else 0
    return (op, p.memarg(cur, op, mem), cur.uint(8))


_SPECIAL: dict[str, Callable[[BodyParser, str, Cursor], Instr]] = {
    "br_table": _br_table,
    "call_indirect": _call_indirect,
    "return_call_indirect": _call_indirect,
    "select": _select,
    "ref.test": _ref_test_cast,
    "ref.cast": _ref_test_cast,
    "memory.init": _init("memory", "data"),
    "table.init": _init("table", "elem"),
    "memory.copy": _copy("memory"),
    "table.copy": _copy("table"),
}
for _bits in (8, 16, 32, 64):
    _SPECIAL[f"v128.load{_bits}_lane"] = _lane_memory
    _SPECIAL[f"v128.store{_bits}_lane"] = _lane_memory
