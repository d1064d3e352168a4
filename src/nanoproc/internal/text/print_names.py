"""Identifiers and strings for the printer.

Names from the name section become ``$id`` identifiers when they consist of
identifier characters, ``$"quoted"`` identifiers (Wasm 3.0) otherwise. A name used
twice in one index space cannot be an identifier there (the parser would reject the
duplicate), so those entities, like unnamed ones, are referred to by index.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

_IDCHARS = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'*+-./:<=>?@\\^_`|~"
)

# Escapes for one byte of a string literal: printable ASCII stays as is.
_BYTE_TEXT = tuple(
    "\\" + chr(b) if b in (0x22, 0x5C) else chr(b) if 0x20 <= b < 0x7F else f"\\{b:02x}"
    for b in range(256)
)


_PRINTABLE_RUN = re.compile(rb"[ !#-\[\]-~]{4,}")


def string_literal(data: bytes) -> str:
    """A text-format string for ``data``: printable ASCII as is, other bytes as ``\\hh``.

    Long data (megabytes of it in real modules) is escaped run by run in C
    (``bytes.hex``): there, printable runs shorter than 4 bytes are escaped too.
    """
    if len(data) < 256:
        return '"' + "".join(map(_BYTE_TEXT.__getitem__, data)) + '"'
    parts = ['"']
    pos = 0
    for match in _PRINTABLE_RUN.finditer(data):
        start, end = match.span()
        if start > pos:
            parts.append("\\" + data[pos:start].hex("\\"))
        parts.append(match.group().decode("ascii"))
        pos = end
    if pos < len(data):
        parts.append("\\" + data[pos:].hex("\\"))
    parts.append('"')
    return "".join(parts)


def name_literal(name: str) -> str:
    """A string literal for a UTF-8 name (imports, exports, custom sections)."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogatepass")
    return string_literal(raw)


def is_plain_id(name: str) -> bool:
    """Can ``name`` be written ``$name``, without quotes?"""
    return bool(name) and all(c in _IDCHARS for c in name)


def format_id(name: str) -> str:
    """``$name``, or ``$"name"`` when it has characters an identifier cannot hold."""
    return "$" + name if is_plain_id(name) else "$" + name_literal(name)


class IdSpace:
    """Identifiers of one index space (functions, locals of a function, ...)."""

    __slots__ = ("ids",)

    def __init__(self, names: Mapping[int, str] | None = None, size: int | None = None) -> None:
        self.ids: dict[int, str] = {}
        if names:
            usable = {
                i: n
                for i, n in names.items()
                if n and (size is None or 0 <= i < size) and _encodable(n)
            }
            counts = Counter(usable.values())
            self.ids = {i: format_id(n) for i, n in usable.items() if counts[n] == 1}

    def ref(self, index: int) -> str:
        """How a use refers to ``index``: its identifier, else the number."""
        return self.ids.get(index) or str(index)

    def decl(self, index: int) -> str:
        """The identifier to declare for ``index`` followed by a space, or ''."""
        ident = self.ids.get(index)
        return ident + " " if ident else ""

    def taken(self) -> set[str]:
        return set(self.ids.values())


EMPTY_SPACE = IdSpace()
"""No identifiers: everything by index."""


def _encodable(name: str) -> bool:
    """Names with lone surrogates (undecodable bytes) cannot be text identifiers."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def label_ids(names: Mapping[int, str] | None, count: int) -> list[str | None]:
    """An identifier for each of ``count`` labels of a function (block order).

    Only name-section names become identifiers; a label without one stays unnamed
    and branches to it print as relative depths, so printing never invents names
    that a parser would then record in the name section.
    """
    space = IdSpace(names, count)
    return [space.ids.get(i) for i in range(count)]


def index_comment(index: int) -> str:
    return f"(;{index};)"


def join_nonempty(parts: Iterable[str]) -> str:
    return " ".join(p for p in parts if p)
