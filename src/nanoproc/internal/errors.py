"""nanoproc's error types.

``WasmtimeError`` is the project's single error type, named as in wasmtime-py so
that code written for it catches ours. Every failure to read, check, link or
instantiate a module is a subclass carrying where it happened: a byte offset for
binaries, a line and column for text. Traps are separate (``Trap``, in the runtime),
as in wasmtime-py.
"""

from __future__ import annotations


class WasmtimeError(Exception):
    """Base of every nanoproc error (not traps)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DecodeError(WasmtimeError):
    """A malformed binary module. ``offset`` is the byte offset of the problem."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset 0x{offset:x})")
        self.reason = message
        self.offset = offset


class ParseError(WasmtimeError):
    """Malformed text (WAT or WAST) at ``line``:``column`` (both 1-based)."""

    def __init__(self, message: str, line: int, column: int, filename: str | None = None) -> None:
        where = f"{filename}:{line}:{column}" if filename else f"{line}:{column}"
        super().__init__(f"{where}: {message}")
        self.reason = message
        self.line = line
        self.column = column
        self.filename = filename


class ValidationError(WasmtimeError):
    """An invalid module: well-formed, but breaking a validation rule.

    ``func`` is the function index (None outside code) and ``offset`` the byte offset
    of the offending instruction, when known.
    """

    def __init__(self, message: str, func: int | None = None, offset: int | None = None) -> None:
        where = []
        if func is not None:
            where.append(f"func {func}")
        if offset is not None:
            where.append(f"offset 0x{offset:x}")
        text = f"{message} ({', '.join(where)})" if where else message
        super().__init__(text)
        self.reason = message
        self.func = func
        self.offset = offset


class LinkError(WasmtimeError):
    """Imports that do not match what a module needs (an "unlinkable" module)."""


class UnsupportedFeature(WasmtimeError):
    """A feature nanoproc recognises but cannot run yet (in a given tier)."""

    def __init__(self, feature: str, detail: str = "") -> None:
        msg = f"not supported yet: {feature}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
        self.feature = feature
