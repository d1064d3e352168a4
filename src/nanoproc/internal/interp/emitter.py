"""Python source accumulation with indentation and a line -> Wasm instruction map."""

from __future__ import annotations


class Emitter:
    """Lines of one generated Python function.

    Every line records the index of the Wasm instruction it came from, so a trap's
    traceback line number maps back to a Wasm byte offset (see :mod:`.frames`).
    """

    __slots__ = ("lines", "pcs", "indent", "pc")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pcs: list[int] = []
        self.indent = 1
        self.pc = 0
        """The instruction currently being translated."""

    def emit(self, line: str, pc: int = -1) -> None:
        self.lines.append("    " * self.indent + line)
        self.pcs.append(self.pc if pc < 0 else pc)

    def mark(self) -> int:
        """Position to insert lines at later (e.g. a loop's dispatch)."""
        return len(self.lines)

    def lines_since(self, mark: int) -> int:
        return len(self.lines) - mark

    def ends_with_jump(self) -> bool:
        """Whether the last line at the current indentation transfers control."""
        if not self.lines:
            return False
        last = self.lines[-1]
        prefix = "    " * self.indent
        if not last.startswith(prefix) or last[len(prefix)] == " ":
            return False
        body = last[len(prefix):]
        return body.startswith(("break", "continue", "return", "raise "))

    def retarget_last(self, temp: str, name: str) -> bool:
        """If the last line is ``temp = <expr>`` at the current indentation, make it
        ``name = <expr>`` (saves a store and a load when a value goes straight into
        a variable) and return True."""
        if not self.lines:
            return False
        prefix = "    " * self.indent + temp + " = "
        last = self.lines[-1]
        if not last.startswith(prefix):
            return False
        self.lines[-1] = "    " * self.indent + name + " = " + last[len(prefix):]
        return True
