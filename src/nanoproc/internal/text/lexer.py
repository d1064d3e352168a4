"""Tokens and S-expressions of the WebAssembly text format (spec 6.3, "Lexical format").

One compiled master regex splits the source into tokens; :func:`read_sexprs` then
folds them into a tree of :class:`Node` (one per parenthesised list), iteratively,
so arbitrarily deep nesting cannot overflow the Python stack. Comments and
annotations ``(@name ...)`` are dropped here: no later stage sees them.

Following the 3.0 spec, a maximal run of identifier characters and strings is one
token; it is a keyword, number, ``$id`` or string only if it is exactly one of those,
and otherwise a *reserved* token, which every grammar rule rejects (so ``0$l`` or
``$l"a"`` are malformed, not two tokens).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from ..errors import ParseError

# Token kinds.
ATOM = 0
"""A keyword or a number: anything starting with a letter, digit or sign."""
ID = 1
"""``$name`` or ``$"name"``; ``value`` is the name without ``$``."""
STRING = 2
"""``"..."``; ``value`` is the decoded ``bytes``."""
RESERVED = 3
"""Any other run of idchars/strings: malformed wherever it appears."""

KIND_NAMES = {ATOM: "keyword", ID: "identifier", STRING: "string", RESERVED: "reserved token"}

_IDCHAR = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
_STRING = r'"(?:[^"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*"'
_IDCHAR_NO_DOLLAR = _IDCHAR.replace("$", "")
_TOKEN_END = r"(?=[ \t\n\r()]|;;|\Z)"
# Whitespace and line comments are absorbed in front of every token, so the loop
# in read_sexprs runs once per token. The first three token groups are the common,
# unambiguous cases; "tok" is the general run of idchars and strings.
_MASTER = re.compile(
    r"(?:[ \t\n\r]+|;;[^\n\r]*)*(?:"
    r"(?P<atom>[" + _IDCHAR_NO_DOLLAR + r"][" + _IDCHAR + r"]*)" + _TOKEN_END
    + r"|(?P<id>\$[" + _IDCHAR + r"]+)" + _TOKEN_END
    + r"|(?P<str>" + _STRING + r")" + _TOKEN_END
    + r"|(?P<lp>\((?![;@]))"
    r"|(?P<rp>\))"
    r"|(?P<block>\(;)"
    r"|(?P<annot>\(@(?:[" + _IDCHAR + r"]+|" + _STRING + r")?)"
    r"|(?P<tok>(?:[" + _IDCHAR + r",\[\]{}]|;(?!;)|" + _STRING + r")+)"
    r"|(?P<eof>\Z))"
)
_G_ATOM, _G_ID, _G_STR, _G_LP, _G_RP, _G_BLOCK, _G_ANNOT, _G_TOK, _G_EOF = (
    _MASTER.groupindex[g] for g in ("atom", "id", "str", "lp", "rp", "block", "annot", "tok", "eof")
)
_PLAIN_ID = re.compile(r"\$[" + _IDCHAR + r"]+\Z")
_QUOTED_ID = re.compile(r"\$" + _STRING + r"\Z")
_ATOM = re.compile(r"[" + _IDCHAR + r"]+\Z")
_WS = re.compile(r"(?:[ \t\n\r]+|;;[^\n\r]*)*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_COMMENT_DELIM = re.compile(r"\(;|;\)")
_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}|(.))", re.S)
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


class Source:
    """A text being parsed: knows how to turn a character offset into line:column."""

    __slots__ = ("text", "filename", "_lines")

    def __init__(self, text: str, filename: str | None = None) -> None:
        self.text = text
        self.filename = filename
        self._lines: list[int] | None = None

    def line_col(self, pos: int) -> tuple[int, int]:
        if self._lines is None:
            self._lines = [0] + [m.end() for m in re.finditer("\n", self.text)]
        i = bisect_right(self._lines, pos) - 1
        return i + 1, pos - self._lines[i] + 1

    def line(self, pos: int) -> int:
        return self.line_col(pos)[0]

    def error(self, message: str, pos: int) -> ParseError:
        line, col = self.line_col(pos)
        return ParseError(message, line, col, self.filename)


@dataclass(slots=True)
class Tok:
    """One token. ``value``: the name (ID), the bytes (STRING), else the text."""

    kind: int
    text: str
    pos: int
    value: Any

    def __repr__(self) -> str:
        return f"Tok({KIND_NAMES[self.kind]}, {self.text!r})"


@dataclass(slots=True)
class Node:
    """A parenthesised list; ``items`` are Tok or Node, ``pos``/``end`` its parentheses."""

    items: list[Tok | Node]
    pos: int
    end: int = 0

    def head(self) -> str | None:
        """The leading keyword, if the list starts with one."""
        if self.items:
            first = self.items[0]
            if isinstance(first, Tok) and first.kind == ATOM:
                return first.text
        return None


def decode_string(body: str, src: Source, pos: int) -> bytes:
    """The bytes a string literal denotes (``body`` without its quotes).

    Characters become UTF-8; ``\\hh`` is one raw byte, so the result need not be
    valid UTF-8 (data segments may hold anything; names are checked by the caller).
    """
    if "\\" not in body:
        return body.encode("utf-8")
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(body):
        out += body[last : m.start()].encode("utf-8")
        last = m.end()
        hexbyte, uni, simple = m.groups()
        if hexbyte is not None:
            out.append(int(hexbyte, 16))
        elif uni is not None:
            cp = int(uni.replace("_", ""), 16)
            if cp >= 0x110000 or 0xD800 <= cp < 0xE000:
                raise src.error("malformed UTF-8 encoding", pos + 1 + m.start())
            out += chr(cp).encode("utf-8")
        elif simple in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[simple].encode("utf-8")
        else:
            raise src.error("illegal escape", pos + 1 + m.start())
    out += body[last:].encode("utf-8")
    return bytes(out)


def decode_name(raw: bytes, src: Source, pos: int) -> str:
    """A name must be valid UTF-8 (spec 6.3.4)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise src.error("malformed UTF-8 encoding", pos) from None


def _classify(text: str, pos: int, src: Source) -> Tok:
    c = text[0]
    if c == '"':
        if text.endswith('"') and len(text) >= 2 and _is_one_string(text):
            return Tok(STRING, text, pos, decode_string(text[1:-1], src, pos))
        return Tok(RESERVED, text, pos, text)
    if c == "$":
        if _PLAIN_ID.match(text):
            return Tok(ID, text, pos, text[1:])
        if _QUOTED_ID.match(text) and _is_one_string(text[1:]):
            name = decode_name(decode_string(text[2:-1], src, pos + 1), src, pos)
            if not name:
                raise src.error("empty identifier", pos)
            return Tok(ID, text, pos, name)
        if text == "$" or text.startswith('$"'):
            raise src.error("empty identifier", pos)
        return Tok(RESERVED, text, pos, text)
    if _ATOM.match(text):
        return Tok(ATOM, text, pos, text)
    return Tok(RESERVED, text, pos, text)


def _is_one_string(text: str) -> bool:
    """Whether ``"..."`` is a single string literal, not ``"a""b"``."""
    m = re.match(_STRING, text)
    return m is not None and m.end() == len(text)


def _skip_block_comment(text: str, start: int, src: Source) -> int:
    """End offset of the (nested) block comment opening at ``start``."""
    depth = 0
    for m in _COMMENT_DELIM.finditer(text, start):
        if m.group() == "(;":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
    raise src.error("unclosed comment", start)


def _bad_char(text: str, pos: int, src: Source) -> ParseError:
    c = text[pos]
    if c == "$" and text.startswith('$"', pos):
        pos += 1
        c = '"'
    if c == '"':
        if _unclosed(text, pos):
            return src.error("unclosed string", pos)
        return src.error("illegal character in string", pos)
    if c == ";":
        return src.error("unexpected token", pos)
    return src.error("illegal character", pos)


def read_sexprs(src: Source) -> Node:
    """Parse the whole text into a root Node whose items are the top-level tokens/lists
    (iteratively: lists nest as deep as memory allows, as in wasmtime)."""
    text = src.text
    bad = _SURROGATE.search(text)
    if bad is not None:
        raise src.error("malformed UTF-8 encoding", bad.start())
    match = _MASTER.match
    root = Node([], 0)
    stack: list[Node] = [root]
    items = root.items  # the list being filled (that of stack[-1])
    # For each open list: whether it is an annotation (dropped when closed).
    annot: list[bool] = [False]
    in_annot = 0
    pos = 0
    n = len(text)
    while True:
        m = match(text, pos)
        if m is None:
            # A string that does not close, or a character outside the token set.
            raise _bad_char(text, _skip_ws(text, pos), src)
        k = m.lastindex  # group numbers: see _G_* (hot cases first)
        end = m.end()
        if k == _G_ATOM:
            t = m.group(k)
            items.append(Tok(ATOM, t, end - len(t), t))
        elif k == _G_LP:
            node = Node([], end - 1)
            items.append(node)
            stack.append(node)
            annot.append(False)
            items = node.items
        elif k == _G_RP:
            if len(stack) == 1:
                raise src.error("unexpected token )", end - 1)
            stack.pop().end = end - 1
            items = stack[-1].items
            if annot.pop():
                items.pop()
                in_annot -= 1
        elif k == _G_ID:
            t = m.group(k)
            items.append(Tok(ID, t, end - len(t), t[1:]))
        elif k == _G_STR:
            t = m.group(k)
            start = end - len(t)
            items.append(Tok(STRING, t, start, decode_string(t[1:-1], src, start)))
        elif k == _G_TOK:
            t = m.group(k)
            if end < n and text[end] == '"':
                raise _bad_char(text, end, src)  # a glued string that does not close
            items.append(_classify(t, end - len(t), src))
        elif k == _G_BLOCK:
            end = _skip_block_comment(text, end - 2, src)
        elif k == _G_EOF:
            break
        else:  # annotation
            start = m.start(k)
            ident = m.group(k)[2:]
            node = Node([], start)
            items.append(node)
            stack.append(node)
            items = node.items
            if in_annot:
                # Inside an annotation, "(@" is just a parenthesis and a token.
                annot.append(False)
            else:
                if not ident:
                    raise src.error("empty annotation id", start)
                if ident.startswith('"'):
                    raw = decode_string(ident[1:-1], src, start + 2)
                    if not decode_name(raw, src, start + 2):
                        raise src.error("empty annotation id", start)
                annot.append(True)
                in_annot += 1
        pos = end
    if len(stack) > 1:
        if any(annot):
            first = next(i for i, a in enumerate(annot) if a)
            raise src.error("unclosed annotation", stack[first].pos)
        raise src.error("unexpected end of input", n)
    return root


def _skip_ws(text: str, pos: int) -> int:
    m = _WS.match(text, pos)
    return m.end() if m else pos


def _unclosed(text: str, q: int) -> bool:
    """Whether the string starting at ``q`` runs into a line end or the input end."""
    i = q + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return False
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            return True
        i += 1
    return True
