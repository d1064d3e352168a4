"""Folded S-expression bodies: ``(i32.add (local.get 0) (i32.const 1))``.

Folding only regroups the instruction sequence (a parser unfolds ``(op a b)`` back
into ``a b op``), so the order of instructions, and thus the module, never changes.
Operands are folded into an instruction only when the instructions just before it
produce exactly its inputs, one value each, so the nesting shows the data flow;
anything whose stack effect is unknown or polymorphic stays unfolded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..syntax.module import Instr, Module
from ..syntax.ops import BLOCK_STARTS, ELSE, END, IF, LEGACY_EXCEPTIONS, LOOP, OPS, Op
from ..syntax.types import FuncType, StructType
from .print_instrs import Scope, block_head, body_lines, cached_text

_WIDTH = 100
"""Fold onto one line while it stays this short."""
MAX_FOLD_DEPTH = 50
"""Deepest nesting of folded operands and blocks. A deeper operand stays unfolded (a
long chain of dependent operations prints as a sequence); a body with blocks nested
deeper prints unfolded. Nested parentheses would otherwise make the text grow with
the square of the depth (indentation), and the folder recurse as deep."""

# Stack effects (inputs, outputs) of instructions typed by a named rule but whose
# effect does not depend on the immediates.
_FIXED: dict[str, tuple[int, int]] = {
    "drop": (1, 0), "select": (3, 1), "select_t": (3, 1),
    "local.get": (0, 1), "local.set": (1, 0), "local.tee": (1, 1),
    "global.get": (0, 1), "global.set": (1, 0), "table.get": (1, 1), "table.set": (2, 0),
    "memory.size": (0, 1), "memory.grow": (1, 1), "memory.init": (3, 0), "data.drop": (0, 0),
    "memory.copy": (3, 0), "memory.fill": (3, 0), "table.init": (3, 0), "elem.drop": (0, 0),
    "table.copy": (3, 0), "table.grow": (2, 1), "table.size": (0, 1), "table.fill": (3, 0),
    "ref.null": (0, 1), "ref.is_null": (1, 1), "ref.func": (0, 1), "ref.as_non_null": (1, 1),
    "ref.test": (1, 1), "ref.cast": (1, 1), "any.convert_extern": (1, 1),
    "extern.convert_any": (1, 1), "struct.new_default": (0, 1), "struct.get": (1, 1),
    "struct.get_s": (1, 1), "struct.get_u": (1, 1), "struct.set": (2, 0), "array.new": (2, 1),
    "array.new_default": (1, 1), "array.new_data": (2, 1), "array.new_elem": (2, 1),
    "array.get": (2, 1), "array.get_s": (2, 1), "array.get_u": (2, 1), "array.set": (3, 0),
    "array.fill": (4, 0), "array.copy": (5, 0), "array.init_data": (4, 0),
    "array.init_elem": (4, 0), "throw_ref": (1, 0),
}  # fmt: skip
_ENDS_NAMES = frozenset(
    {"unreachable", "br", "br_table", "return", "throw", "throw_ref", "return_call",
     "return_call_indirect", "return_call_ref"}
)  # fmt: skip
_ENDS_CODE = [op.name in _ENDS_NAMES for op in OPS]
"""Per op: is the stack polymorphic after it (nothing before it can be folded later)?"""


def _static_effect(op: Op) -> tuple[int, int] | None:
    if op.rule is None:
        return len(op.params), len(op.results)
    if op.rule == "memarg":
        return 1 + len(op.params), len(op.results)
    return _FIXED.get(op.rule)


_STATIC_EFFECTS = [_static_effect(op) for op in OPS]
"""Per op: its stack effect when the immediates do not matter, else None."""


class _Node:
    """A printed instruction with its folded operands (or a whole block)."""

    __slots__ = ("head", "operands", "lines", "outputs", "sealed", "depth")

    def __init__(self, head: str, outputs: int, lines: list[str] | None = None) -> None:
        self.head = head
        self.depth = 1
        """Nesting of folded operands in this node (1: none)."""
        self.operands: list[_Node] = []
        self.lines = lines
        """Pre-rendered lines (blocks), relative to the node's own indentation."""
        self.outputs = outputs
        self.sealed = False
        """Consumed by something that could not fold it: never an operand."""

    def render(self) -> list[str]:
        if self.lines is not None:
            return self.lines
        if not self.operands:
            return [f"({self.head})"]
        parts = [op.render() for op in self.operands]
        if all(len(p) == 1 for p in parts):
            one = f"({self.head} {' '.join(p[0] for p in parts)})"
            if len(one) <= _WIDTH:
                return [one]
        lines = [f"({self.head}"]
        for p in parts:
            lines.extend("  " + line for line in p)
        lines[-1] += ")"
        return lines


class _Folder:
    def __init__(
        self, scope: Scope, module: Module, body: Sequence[Instr], labels: Sequence[str | None]
    ) -> None:
        self.scope = scope
        self.m = module
        self.body = body
        self.pos = 0
        self.labels = labels
        self.opened = 0
        self.arities: list[int | None] = []
        """Branch arity of each enclosing label (innermost last)."""

    # ------------------------------------------------------------ types
    def _functype(self, typeidx: int) -> FuncType | None:
        deftypes = self.m.deftypes
        if 0 <= typeidx < len(deftypes):
            ct = deftypes[typeidx].comp
            if isinstance(ct, FuncType):
                return ct
        return None

    def _block_arity(self, bt: Any) -> tuple[int, int] | None:
        if bt is None:
            return 0, 0
        if isinstance(bt, int):
            ft = self._functype(bt)
            return (len(ft.params), len(ft.results)) if ft else None
        return 0, 1

    def _label_arity(self, depth: int) -> int | None:
        if 0 <= depth < len(self.arities):
            return self.arities[-1 - depth]
        return None

    def _effect(self, instr: Instr) -> tuple[int, int] | None:
        """(inputs, outputs) of a non-block instruction, None when not known."""
        op: Op = instr[0]
        fixed = _STATIC_EFFECTS[op.idx]
        if fixed is not None:
            return fixed
        name = op.name
        if name in ("call", "return_call"):
            typeidxs = self.scope.ctx.func_typeidxs
            ft = self._functype(typeidxs[instr[1]]) if 0 <= instr[1] < len(typeidxs) else None
            if ft is None:
                return None
            return len(ft.params), 0 if name == "return_call" else len(ft.results)
        if name in ("call_indirect", "return_call_indirect", "call_ref", "return_call_ref"):
            ft = self._functype(instr[1])
            if ft is None:
                return None
            return len(ft.params) + 1, 0 if name.startswith("return") else len(ft.results)
        if name == "unreachable":
            return 0, 0
        if name == "return":
            n = self._label_arity(len(self.arities) - 1)
            return None if n is None else (n, 0)
        if name == "throw":
            tags = self.scope.ctx.tag_typeidxs
            ft = self._functype(tags[instr[1]]) if 0 <= instr[1] < len(tags) else None
            return None if ft is None else (len(ft.params), 0)
        if name in ("br", "br_if", "br_table", "br_on_null", "br_on_non_null"):
            n = self._label_arity(instr[-1])
            if n is None:
                return None
            return {
                "br": (n, 0), "br_if": (n + 1, n), "br_table": (n + 1, 0),
                "br_on_null": (n + 1, n + 1), "br_on_non_null": (n, n - 1),
            }[name]  # fmt: skip
        if name in ("br_on_cast", "br_on_cast_fail"):
            n = self._label_arity(instr[1][0])
            return None if n is None else (n, n)
        if name == "struct.new":
            ct = self.m.deftypes[instr[1]].comp if 0 <= instr[1] < len(self.m.deftypes) else None
            return (len(ct.fields), 1) if isinstance(ct, StructType) else None
        if name == "array.new_fixed":
            return instr[2], 1
        return None

    # ------------------------------------------------------------ structure
    def sequence(self) -> tuple[list[_Node], Instr | None]:
        """Nodes up to the next ``else``/``end`` (returned) or the end of the body."""
        nodes: list[_Node] = []
        body, scope, effects, ends_code = self.body, self.scope, _STATIC_EFFECTS, _ENDS_CODE
        while self.pos < len(body):
            instr = body[self.pos]
            self.pos += 1
            op = instr[0]
            if op is END or op is ELSE:
                return nodes, instr
            if op in BLOCK_STARTS:
                self._block(instr, nodes)
                continue
            effect = effects[op.idx] or self._effect(instr)
            if effect is None:
                _seal(nodes)
                nodes.append(_Node(cached_text(scope, instr), 0))
                continue
            node = _Node(cached_text(scope, instr), effect[1])
            inputs = effect[0]
            if inputs:
                _fold(node, nodes, inputs)
            if ends_code[op.idx]:
                _seal(nodes)
            nodes.append(node)
        return nodes, None

    def _block(self, instr: Instr, nodes: list[_Node]) -> None:
        op = instr[0]
        label = self.labels[self.opened] if self.opened < len(self.labels) else None
        self.opened += 1
        arity = self._block_arity(instr[1])
        head = block_head(self.scope, instr, label)
        condition: list[_Node] = []
        if op is IF:  # the condition is on top, above any block parameters
            condition = _take(nodes, 1)
        if arity is None or arity[0]:  # parameters are consumed unfolded
            _seal(nodes)
        if len(self.arities) > MAX_FOLD_DEPTH:
            raise _Unbalanced  # too deep: print the body unfolded
        self.scope.labels.append(label)
        self.arities.append(None if arity is None else arity[0] if op is LOOP else arity[1])
        lines = [f"({head}"]
        for c in condition:
            lines.extend("  " + line for line in c.render())
        inner, closer = self.sequence()
        if op is IF:
            lines.extend(_clause("then", inner))
            if closer is not None and closer[0] is ELSE:
                inner, closer = self.sequence()
                lines.extend(_clause("else", inner))
        else:
            lines.extend("  " + line for n in inner for line in n.render())
        if closer is None or closer[0] is not END:
            raise _Unbalanced
        self.scope.labels.pop()
        self.arities.pop()
        lines[-1] += ")"
        nodes.append(_Node(head, 0 if arity is None else arity[1], lines))

    def run(self, func_results: int | None) -> list[_Node]:
        self.arities.append(func_results)
        nodes, closer = self.sequence()
        if closer is not None:
            raise _Unbalanced
        return nodes


class _Unbalanced(Exception):
    """``else``/``end`` that do not nest, or blocks nested deeper than
    MAX_FOLD_DEPTH: print that body unfolded."""


def _clause(keyword: str, nodes: list[_Node]) -> list[str]:
    if not nodes:
        return [f"  ({keyword})"]
    lines = [f"  ({keyword}"]
    lines.extend("    " + line for n in nodes for line in n.render())
    lines[-1] += ")"
    return lines


def _seal(nodes: list[_Node]) -> None:
    for n in reversed(nodes):
        if n.sealed:
            break
        n.sealed = True


def _take(nodes: list[_Node], count: int) -> list[_Node]:
    """The last ``count`` nodes, if each is an unsealed single value; else none."""
    if count == 0 or len(nodes) < count:
        return []
    tail = nodes[-count:]
    if all(n.outputs == 1 and not n.sealed for n in tail):
        del nodes[-count:]
        return tail
    return []


def _fold(node: _Node, nodes: list[_Node], inputs: int) -> None:
    if len(nodes) >= inputs and any(n.depth >= MAX_FOLD_DEPTH for n in nodes[-inputs:]):
        _seal(nodes)
        return
    operands = _take(nodes, inputs)
    if operands or inputs == 0:
        node.operands = operands
        node.depth = 1 + max((n.depth for n in operands), default=0)
    else:
        _seal(nodes)


def folded_body_lines(
    scope: Scope,
    module: Module,
    body: Sequence[Instr],
    labels: Sequence[str | None],
    depth: int,
    results: int | None,
) -> list[str]:
    """A function body in folded form, indented ``depth`` levels; ``results`` is the
    function's result count (None if unknown)."""
    pad = "  " * depth
    if any(instr[0] in LEGACY_EXCEPTIONS for instr in body):
        return body_lines(scope, body, labels, depth)  # legacy try: printed flat
    try:
        nodes = _Folder(scope, module, body, labels).run(results)
    except _Unbalanced:
        del scope.labels[:]
        return body_lines(scope, body, labels, depth)
    return [pad + line for n in nodes for line in n.render()]
