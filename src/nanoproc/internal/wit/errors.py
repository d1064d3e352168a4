"""WIT errors: a message and where (file:line:column)."""

from __future__ import annotations

from ..errors import WasmtimeError


class Span:
    """A position in a source file: ``file`` (name), ``text`` (its contents) and the
    offset ``pos``."""

    __slots__ = ("file", "text", "pos")

    def __init__(self, file: str, text: str, pos: int) -> None:
        self.file = file
        self.text = text
        self.pos = pos

    def line_col(self) -> tuple[int, int]:
        line = self.text.count("\n", 0, self.pos) + 1
        start = self.text.rfind("\n", 0, self.pos) + 1
        return line, self.pos - start + 1

    def __str__(self) -> str:
        line, col = self.line_col()
        return f"{self.file}:{line}:{col}"


class WitError(WasmtimeError):
    """Malformed or unresolvable WIT. ``where`` is file:line:column when known."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        self.reason = message
        self.span = span
        super().__init__(f"{span}: {message}" if span is not None else message)
