"""WIT tokens (WIT.md "Lexical structure").

The lexer is pulled by the parser one token at a time, so that the parser can read
a semver version (``@1.2.3-pre+build``) as raw text where one is expected. Doc
comments (``///`` and ``/** */``) are collected and handed to the next token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import Span, WitError

KEYWORDS = frozenset({
    "as", "async", "bool", "borrow", "char", "constructor", "enum", "export", "f32", "f64",
    "flags", "from", "func", "future", "import", "include", "interface", "list", "map",
    "option", "own", "package", "record", "resource", "result", "s16", "s32", "s64", "s8",
    "static", "stream", "string", "tuple", "type", "u16", "u32", "u64", "u8", "use",
    "variant", "with", "world", "_", "error-context",
})  # fmt: skip

OPERATORS = "=,:;(){}<>*/.@"

_ID = re.compile(r"[A-Za-z0-9_-]+")
_VERSION = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_FORBIDDEN = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200e\u200f"
                        "\u202a-\u202e\u2066-\u2069]")  # fmt: skip


@dataclass(slots=True)
class Token:
    kind: str
    """``id``, ``kw``, ``int``, ``str``, an operator (``"{"``, ``"->"`` ...) or ``eof``."""
    text: str
    pos: int
    end: int
    explicit: bool = False
    """An identifier written with ``%``."""
    docs: list[str] = field(default_factory=list)
    """Doc comments right before the token."""

    def describe(self) -> str:
        if self.kind == "eof":
            return "eof"
        if self.kind == "kw":
            return f"keyword `{self.text}`"
        if self.kind == "id":
            return f"an identifier `{self.text}`"
        if self.kind == "int":
            return "an integer"
        if self.kind == "str":
            return "a string"
        return f"'{self.text}'"


class Lexer:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.pos = 0
        m = _FORBIDDEN.search(text)
        if m is not None:
            raise WitError(f"invalid character in source: U+{ord(m.group()):04X}",
                           self.span(m.start()))  # fmt: skip

    def span(self, pos: int) -> Span:
        return Span(self.file, self.text, pos)

    def error(self, msg: str, pos: int) -> WitError:
        return WitError(msg, self.span(pos))

    def skip(self) -> list[str]:
        """Skip whitespace and comments; the doc comments seen."""
        text = self.text
        n = len(text)
        docs: list[str] = []
        while self.pos < n:
            c = text[self.pos]
            if c in " \t\r\n":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                end = n if end < 0 else end
                docs.append(text[self.pos:end])  # every comment documents what follows
                self.pos = end
            elif text.startswith("/*", self.pos):
                start = self.pos
                depth = 0
                while self.pos < n:
                    if text.startswith("/*", self.pos):
                        depth += 1
                        self.pos += 2
                    elif text.startswith("*/", self.pos):
                        depth -= 1
                        self.pos += 2
                        if depth == 0:
                            break
                    else:
                        self.pos += 1
                if depth:
                    raise self.error("unterminated block comment", start)
                docs.append(text[start:self.pos])
            else:
                break
        return docs

    def next(self) -> Token:
        docs = self.skip()
        text = self.text
        start = self.pos
        if start >= len(text):
            return Token("eof", "", start, start, docs=docs)
        c = text[start]
        if text.startswith("->", start):
            self.pos += 2
            return Token("->", "->", start, self.pos, docs=docs)
        if c in OPERATORS:
            self.pos += 1
            return Token(c, c, start, self.pos, docs=docs)
        if c == '"':
            return self.string(start, docs)
        explicit = c == "%"
        p = start + 1 if explicit else start
        m = _ID.match(text, p)
        if m is None:
            raise self.error(f"unexpected character {c!r}", start)
        word = m.group()
        self.pos = m.end()
        if word.isdigit() and not explicit:
            return Token("int", word, start, self.pos, docs=docs)
        if word in KEYWORDS and not explicit:
            return Token("kw", word, start, self.pos, docs=docs)
        check_kebab(word, self, p)
        return Token("id", word, start, self.pos, explicit, docs)

    def string(self, start: int, docs: list[str]) -> Token:
        text = self.text
        p = start + 1
        out = []
        while True:
            if p >= len(text):
                raise self.error("unterminated string literal", start)
            c = text[p]
            if c == '"':
                p += 1
                break
            if c == "\\":
                esc = text[p + 1:p + 2]
                simple = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
                if esc in simple:
                    out.append(simple[esc])
                    p += 2
                elif esc == "u" and text.startswith("{", p + 2):
                    end = text.find("}", p + 3)
                    try:
                        out.append(chr(int(text[p + 3:end], 16)))
                    except (ValueError, OverflowError):
                        raise self.error("invalid escape in string", p) from None
                    p = end + 1
                else:
                    try:
                        out.append(chr(int(text[p + 1:p + 3], 16)))
                    except ValueError:
                        raise self.error("invalid escape in string", p) from None
                    p += 3
            elif c == "\n":
                raise self.error("unterminated string literal", start)
            else:
                out.append(c)
                p += 1
        self.pos = p
        return Token("str", "".join(out), start, p, docs=docs)

    def version(self) -> tuple[str, int]:
        """A semver version at the current position (after ``@`` or ``=``): its text
        and start."""
        self.skip()
        start = self.pos
        m = _VERSION.match(self.text, start)
        if m is None:
            raise self.error("expected a semver version", start)
        end = m.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "-+"):
            raise self.error("invalid semver version", start)
        self.pos = end
        return m.group(), start


def check_kebab(word: str, lx: Lexer, pos: int) -> None:
    """WIT identifiers are kebab-case labels (Explainer.md ``label``)."""
    if not word:
        raise lx.error("empty identifier", pos)
    parts = word.split("-")
    for i, part in enumerate(parts):
        if not part:
            raise lx.error(f"identifier `{word}` is not in kebab case", pos)
        if i == 0 and not part[0].isalpha():
            raise lx.error(f"identifier `{word}` is not in kebab case", pos)
        letters = [ch for ch in part if ch.isalpha()]
        if not all(ch.isascii() and (ch.isalnum()) for ch in part) or (
            letters and not (all(ch.islower() for ch in letters)
                             or all(ch.isupper() for ch in letters))):  # fmt: skip
            raise lx.error(f"identifier `{word}` is not in kebab case", pos)
