"""Instructions as text, driven by the operator table (``op.name``, ``op.imms``).

Each immediate kind has one renderer; the few instructions whose text order differs
from their binary order (``call_indirect``, ``memory.init``, ``table.init``) or whose
immediates depend on each other (struct fields, block labels) are handled by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..syntax.module import Instr
from ..syntax.ops import (
    BLOCK_STARTS,
    CATCH,
    CATCH_ALL,
    DELEGATE,
    ELSE,
    END,
    OPS,
    TRY_TABLE,
    Catch,
    Op,
)
from .print_floats import format_f32, format_f64
from .print_names import EMPTY_SPACE, IdSpace
from .print_types import Context, ref_type, val_type, val_types


class Scope:
    """What instructions of one function body refer to: module entities, the
    function's locals, and the labels of the enclosing blocks (innermost last)."""

    __slots__ = ("ctx", "locals", "labels", "cache", "local_cache")

    def __init__(
        self, ctx: Context, locals: IdSpace = EMPTY_SPACE, cache: dict[Instr, str] | None = None
    ) -> None:
        self.ctx = ctx
        self.locals = locals
        self.labels: list[str | None] = []
        self.cache: dict[Instr, str] = {} if cache is None else cache
        """Text of instructions that depend on the module only (shared by functions)."""
        self.local_cache = self.cache if locals is EMPTY_SPACE else {}
        """Text of instructions naming locals, which depends on the function."""

    def label(self, depth: int) -> str:
        """A branch target: the label's identifier, or the depth when it has none
        (the function body itself, or a depth beyond the enclosing blocks)."""
        labels = self.labels
        if 0 <= depth < len(labels):
            return labels[-1 - depth] or str(depth)
        return str(depth)


Render = Callable[[Scope, Any], str]


def _block_type(scope: Scope, bt: Any) -> str:
    if bt is None:
        return ""
    if isinstance(bt, int):
        return f"(type {scope.ctx.types.ref(bt)})"
    return f"(result {val_type(scope.ctx, bt)})"


def _memarg(width: int) -> Render:
    natural = width.bit_length() - 1

    def render(scope: Scope, memarg: Any) -> str:
        align, offset, mem = memarg
        parts = []
        if mem:
            parts.append(scope.ctx.memories.ref(mem))
        if offset:
            parts.append(f"offset={offset}")
        if align != natural:
            parts.append(f"align={1 << align}")
        return " ".join(parts)

    return render


def _v128(scope: Scope, value: bytes) -> str:
    lanes = [int.from_bytes(value[i : i + 4], "little") for i in range(0, 16, 4)]
    return "i32x4 " + " ".join(f"0x{lane:08x}" for lane in lanes)


def _catch(scope: Scope, c: Catch) -> str:
    label = scope.label(c.label)
    if c.tag is None:
        return f"({c.kind} {label})"
    return f"({c.kind} {scope.ctx.tags.ref(c.tag)} {label})"


def _brcast(scope: Scope, value: Any) -> str:
    label, rt1, rt2 = value
    return f"{scope.label(label)} {ref_type(scope.ctx, rt1)} {ref_type(scope.ctx, rt2)}"


_RENDER: dict[str, Render] = {
    "block": _block_type,
    "label": lambda s, v: s.label(v),
    "labels": lambda s, v: " ".join(s.label(d) for d in v),
    "func": lambda s, v: s.ctx.funcs.ref(v),
    "type": lambda s, v: s.ctx.types.ref(v),
    "table": lambda s, v: s.ctx.tables.ref(v),
    "memory": lambda s, v: s.ctx.memories.ref(v) if v else "",
    "global": lambda s, v: s.ctx.globals.ref(v),
    "local": lambda s, v: s.locals.ref(v),
    "data": lambda s, v: s.ctx.datas.ref(v),
    "elem": lambda s, v: s.ctx.elems.ref(v),
    "tag": lambda s, v: s.ctx.tags.ref(v),
    "u32": lambda s, v: str(v),
    "i32": lambda s, v: str(v),
    "i64": lambda s, v: str(v),
    "f32": lambda s, v: format_f32(v),
    "f64": lambda s, v: format_f64(v),
    "v128": _v128,
    "lane": lambda s, v: str(v),
    "shuffle": lambda s, v: " ".join(map(str, v)),
    "heap": lambda s, v: v if isinstance(v, str) else s.ctx.types.ref(v),
    "valtypes": lambda s, v: f"(result {val_types(s.ctx, v)})" if v else "(result)",
    "reftype": lambda s, v: ref_type(s.ctx, v, full=True),
    "brcast": _brcast,
    "catches": lambda s, v: " ".join(_catch(s, c) for c in v),
}

Formatter = Callable[[Scope, Instr], str]


def _generic(op: Op) -> Formatter:
    """Immediates one by one, in table order (binary order = text order here)."""
    name = op.name
    renders = [_memarg(op.width) if k == "memarg" else _RENDER[k] for k in op.imms]
    if not renders:
        return lambda scope, instr: name
    if len(renders) == 1:
        (only,) = renders

        def one(scope: Scope, instr: Instr) -> str:
            text = only(scope, instr[1])
            return f"{name} {text}" if text else name

        return one

    def many(scope: Scope, instr: Instr) -> str:
        parts = [name]
        for render, value in zip(renders, instr[1:]):
            text = render(scope, value)
            if text:
                parts.append(text)
        return " ".join(parts)

    return many


def _with_field(op: Op) -> Formatter:
    """``struct.get $t $f``: the field's name comes from its struct type."""

    def fmt(scope: Scope, instr: Instr) -> str:
        typeidx, fieldidx = instr[1], instr[2]
        types = scope.ctx.types.ref(typeidx)
        return f"{op.name} {types} {scope.ctx.field_ids(typeidx).ref(fieldidx)}"

    return fmt


def _call_indirect(op: Op) -> Formatter:
    """Binary: type, table. Text: table (when not 0), then ``(type $t)``."""

    def fmt(scope: Scope, instr: Instr) -> str:
        typeidx, table = instr[1], instr[2]
        where = f" {scope.ctx.tables.ref(table)}" if table else ""
        return f"{op.name}{where} (type {scope.ctx.types.ref(typeidx)})"

    return fmt


def _memory_init(scope: Scope, instr: Instr) -> str:
    """Binary: data, memory. Text: memory (when not 0), then data."""
    data, mem = instr[1], instr[2]
    where = f" {scope.ctx.memories.ref(mem)}" if mem else ""
    return f"memory.init{where} {scope.ctx.datas.ref(data)}"


def _table_init(scope: Scope, instr: Instr) -> str:
    """Binary: elem, table. Text: table, then elem."""
    elem, table = instr[1], instr[2]
    return f"table.init {scope.ctx.tables.ref(table)} {scope.ctx.elems.ref(elem)}"


def _memory_copy(scope: Scope, instr: Instr) -> str:
    dst, src = instr[1], instr[2]
    if not dst and not src:
        return "memory.copy"
    mems = scope.ctx.memories
    return f"memory.copy {mems.ref(dst)} {mems.ref(src)}"


def _formatter(op: Op) -> Formatter:
    if op.name in ("call_indirect", "return_call_indirect"):
        return _call_indirect(op)
    if op.name == "memory.init":
        return _memory_init
    if op.name == "table.init":
        return _table_init
    if op.name == "memory.copy":
        return _memory_copy
    if "field" in op.imms:
        return _with_field(op)
    return _generic(op)


_FORMATTERS: list[Formatter] = [_formatter(op) for op in OPS]


def block_head(scope: Scope, instr: Instr, label: str | None) -> str:
    """``block $l (result i32)``, ``try_table $l (type 1) (catch ...)``."""
    op = instr[0]
    parts = [op.name]
    if label:
        parts.append(label)
    bt = _block_type(scope, instr[1])
    if bt:
        parts.append(bt)
    if op is TRY_TABLE and instr[2]:
        parts.append(_RENDER["catches"](scope, instr[2]))
    return " ".join(parts)


def instr_text(scope: Scope, instr: Instr) -> str:
    """One instruction, without its label if it opens a block."""
    op: Op = instr[0]
    if op in BLOCK_STARTS:
        return block_head(scope, instr, None)
    return _FORMATTERS[op.idx](scope, instr)


# How body_lines treats each op: text cached module-wide, cached per function
# (names a local), never cached (names a label), or block structure.
_MODULE, _LOCAL, _LABEL, _OPEN, _END, _ELSE, _DELEGATE = range(7)
_LABEL_KINDS = frozenset({"label", "labels", "brcast", "catches"})


def _kind(op: Op) -> int:
    if op in BLOCK_STARTS:
        return _OPEN
    if op is END:
        return _END
    if op is ELSE or op is CATCH or op is CATCH_ALL:
        return _ELSE
    if op is DELEGATE:
        return _DELEGATE
    if _LABEL_KINDS.intersection(op.imms):
        return _LABEL
    return _LOCAL if "local" in op.imms else _MODULE


_KINDS = [_kind(op) for op in OPS]
_CACHE_LIMIT = 1 << 16
"""Entries per cache: repeated instructions are common, unique ones need no cache."""


def cached_text(scope: Scope, instr: Instr) -> str:
    """:func:`instr_text` of a non-block instruction, through the scope's caches."""
    idx: int = instr[0].idx
    kind = _KINDS[idx]
    if kind > _LOCAL:
        return _FORMATTERS[idx](scope, instr)
    cache = scope.cache if kind == _MODULE else scope.local_cache
    try:
        text = cache.get(instr)
    except TypeError:  # unhashable immediates: nothing to cache
        return _FORMATTERS[idx](scope, instr)
    if text is None:
        text = _FORMATTERS[idx](scope, instr)
        if len(cache) < _CACHE_LIMIT:
            cache[instr] = text
    return text


MAX_INDENT_LEVELS = 50
"""Blocks nested deeper are indented no further (as wasm-tools prints them), so the
text of deeply nested code grows linearly with it."""


def body_lines(
    scope: Scope, instrs: Sequence[Instr], labels: Sequence[str | None], depth: int
) -> list[str]:
    """One line per instruction, indented two spaces per block level from ``depth``
    (up to MAX_INDENT_LEVELS levels).

    ``labels`` names the blocks in order of appearance. Bodies can have millions
    of instructions: the text of repeated ones comes from the scope's caches.
    """
    out: list[str] = []
    append = out.append
    pads = ["  " * (depth + min(i, MAX_INDENT_LEVELS)) for i in range(16)]
    level = 0
    pad = pads[0]
    opened = 0
    stack = scope.labels
    formatters = _FORMATTERS
    kinds = _KINDS
    for instr in instrs:
        idx = instr[0].idx
        kind = kinds[idx]
        if kind <= _LOCAL:
            cache = scope.cache if kind == _MODULE else scope.local_cache
            try:
                text = cache.get(instr)
            except TypeError:  # unhashable immediates: nothing to cache
                append(pad + formatters[idx](scope, instr))
                continue
            if text is None:
                text = formatters[idx](scope, instr)
                if len(cache) < _CACHE_LIMIT:
                    cache[instr] = text
            append(pad + text)
        elif kind == _LABEL:
            append(pad + formatters[idx](scope, instr))
        elif kind == _OPEN:
            label = labels[opened] if opened < len(labels) else None
            opened += 1
            append(pad + block_head(scope, instr, label))
            stack.append(label)
            level += 1
            if level >= len(pads):
                pads.append(pads[-1] if level > MAX_INDENT_LEVELS else "  " * (depth + level))
            pad = pads[level]
        elif kind == _END:
            if level:
                stack.pop()
                level -= 1
                pad = pads[level]
            append(pad + "end")
        elif kind == _DELEGATE:
            if level:
                stack.pop()
                level -= 1
                pad = pads[level]
            append(pad + formatters[idx](scope, instr))
        else:
            text = "else" if instr[0] is ELSE else formatters[idx](scope, instr)
            append(pads[max(level - 1, 0)] + text)
    if level:
        del stack[-level:]
    return out
