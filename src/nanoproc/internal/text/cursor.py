"""A cursor over the items of one S-expression, with the token-level helpers the
WAT and WAST grammars share (keywords, identifiers, strings, names, integers).

Every failure is a :class:`~nanoproc.internal.errors.ParseError` located at the
offending token (or at the closing parenthesis when something is missing).
"""

from __future__ import annotations

from ..errors import ParseError
from .lexer import ATOM, ID, RESERVED, STRING, Node, Source, Tok, decode_name
from .numbers import OutOfRange, is_number, parse_uint


class Cursor:
    """Reads the items of ``node`` left to right, starting at index ``start``."""

    __slots__ = ("node", "items", "i", "src")

    def __init__(self, node: Node, src: Source, start: int = 0) -> None:
        self.node = node
        self.items = node.items
        self.i = start
        self.src = src

    # ------------------------------------------------------------ basics
    def more(self) -> bool:
        return self.i < len(self.items)

    def peek(self) -> Tok | Node | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def peek_at(self, k: int) -> Tok | Node | None:
        j = self.i + k
        return self.items[j] if j < len(self.items) else None

    def next(self, what: str = "token") -> Tok | Node:
        if self.i >= len(self.items):
            raise self.src.error(f"unexpected end of list, expected {what}", self.node.end)
        item = self.items[self.i]
        self.i += 1
        return item

    def pos(self) -> int:
        """Offset of the next item (or of the closing parenthesis)."""
        item = self.peek()
        return item.pos if item is not None else self.node.end

    def error(self, message: str, at: Tok | Node | int | None = None) -> ParseError:
        if at is None:
            pos = self.pos()
        elif isinstance(at, int):
            pos = at
        else:
            pos = at.pos
        return self.src.error(message, pos)

    def unexpected(self, item: Tok | Node | None = None) -> ParseError:
        """The error for a token the grammar does not allow here."""
        if item is None:
            item = self.peek()
        if item is None:
            return self.src.error("unexpected end of list", self.node.end)
        if isinstance(item, Node):
            head = item.head()
            return self.src.error(f"unexpected token ({head or ''}", item.pos)
        if item.kind == RESERVED:
            return self.src.error(f"unknown operator {item.text}", item.pos)
        return self.src.error(f"unexpected token {item.text}", item.pos)

    def expect_end(self) -> None:
        if self.i < len(self.items):
            raise self.unexpected()

    # ------------------------------------------------------------ keywords and lists
    def peek_keyword(self) -> str | None:
        item = self.peek()
        if isinstance(item, Tok) and item.kind == ATOM:
            return item.text
        return None

    def take_keyword(self, word: str) -> bool:
        item = self.peek()
        if isinstance(item, Tok) and item.kind == ATOM and item.text == word:
            self.i += 1
            return True
        return False

    def keyword(self, word: str | None = None) -> Tok:
        item = self.next(word or "keyword")
        if not isinstance(item, Tok) or item.kind != ATOM or (word and item.text != word):
            raise self.unexpected(item)
        return item

    def peek_head(self) -> str | None:
        """The leading keyword of the next item, if it is a list."""
        item = self.peek()
        return item.head() if isinstance(item, Node) else None

    def take_list(self, head: str) -> Cursor | None:
        """If the next item is ``(head ...)``, consume it; return a cursor after the head."""
        item = self.peek()
        if isinstance(item, Node) and item.head() == head:
            self.i += 1
            return Cursor(item, self.src, 1)
        return None

    def list(self, head: str | None = None) -> Cursor:
        item = self.next(f"({head or ''}")
        if not isinstance(item, Node) or (head is not None and item.head() != head):
            raise self.unexpected(item)
        return Cursor(item, self.src, 1 if head is not None else 0)

    # ------------------------------------------------------------ atoms
    def take_id(self) -> str | None:
        item = self.peek()
        if isinstance(item, Tok) and item.kind == ID:
            self.i += 1
            return item.value  # type: ignore[return-value]
        return None

    def peek_is_index(self) -> bool:
        """Whether the next item looks like an index: ``$id`` or an unsigned integer."""
        item = self.peek()
        return isinstance(item, Tok) and (
            item.kind == ID or (item.kind == ATOM and item.text[0].isdigit())
        )

    def peek_is_string(self) -> bool:
        item = self.peek()
        return isinstance(item, Tok) and item.kind == STRING

    def string(self) -> bytes:
        item = self.next("string")
        if not isinstance(item, Tok) or item.kind != STRING:
            raise self.unexpected(item)
        return item.value  # type: ignore[return-value]

    def name(self) -> str:
        """A string that must be valid UTF-8 (import/export names)."""
        item = self.peek()
        raw = self.string()
        assert item is not None
        return decode_name(raw, self.src, item.pos)

    def uint(self, bits: int) -> int:
        item = self.next("integer")
        if not isinstance(item, Tok) or item.kind != ATOM:
            raise self.unexpected(item)
        return uint_of(item, bits, self.src)

    def u32(self) -> int:
        return self.uint(32)


def uint_of(tok: Tok, bits: int, src: Source) -> int:
    """The value of an unsigned-integer token (``uN``)."""
    try:
        v = parse_uint(tok.text, bits)
    except OutOfRange:
        raise src.error("constant out of range", tok.pos) from None
    if v is None:
        word = "unknown operator" if not is_number(tok.text) else "unexpected token"
        raise src.error(f"{word} {tok.text}", tok.pos)
    return v
