"""Traps: how a nanoprocess stops abnormally, shared by every tier.

Names follow wasmtime-py (``Trap``, ``TrapCode``, ``Frame``, ``ExitTrap``) so code
written for it works unchanged. Messages use the spec's words ("out of bounds
memory access", "integer divide by zero", ...), which the spec test suite checks.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from ..errors import WasmtimeError
from ..records import Frozen
from .demangle import demangle

_set = object.__setattr__


class TrapCode(Enum):
    """Why a trap happened (same members as wasmtime-py's TrapCode)."""

    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11
    ATOMIC_WAIT_NON_SHARED_MEMORY = 12
    NULL_REFERENCE = 13
    ARRAY_OUT_OF_BOUNDS = 14
    ALLOCATION_TOO_LARGE = 15
    CAST_FAILURE = 16


MESSAGES: dict[TrapCode, str] = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.HEAP_MISALIGNED: "unaligned atomic",
    TrapCode.TABLE_OUT_OF_BOUNDS: "out of bounds table access",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE: "unreachable",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TrapCode.NULL_REFERENCE: "null reference",
    TrapCode.ARRAY_OUT_OF_BOUNDS: "out of bounds array access",
    TrapCode.ALLOCATION_TOO_LARGE: "allocation too large",
    TrapCode.CAST_FAILURE: "cast failure",
}


class Frame(Frozen):
    """One Wasm frame of a trap's backtrace (wasmtime-py's Frame)."""

    __match_args__ = ("func_index", "func_name", "module_name", "func_offset", "module_offset")
    func_index: int
    func_name: str | None
    module_name: str | None
    func_offset: int
    """Offset of the trapping instruction from the start of the function's body."""
    module_offset: int
    """Offset of the trapping instruction in the module binary."""

    def __init__(self, func_index: int, func_name: str | None, module_name: str | None,
                 func_offset: int, module_offset: int) -> None:  # fmt: skip
        _set(self, "func_index", func_index)
        _set(self, "func_name", func_name)
        _set(self, "module_name", module_name)
        _set(self, "func_offset", func_offset)
        _set(self, "module_offset", module_offset)

    def __str__(self) -> str:
        """As wasmtime prints a frame: the offset, the module, the demangled name."""
        mod = self.module_name or "<unknown>"
        name = demangle(self.func_name) if self.func_name else f"<wasm function {self.func_index}>"
        return f"{self.module_offset:#8x} - {mod}!{name}"


_WASMTIME_WORDS = {TrapCode.UNREACHABLE: "wasm `unreachable` instruction executed"}
"""Where wasmtime describes a trap in other words than the spec's (``message`` keeps
the spec's words, which spec scripts check)."""


ENTRY_PC = -2
"""The pc tiers give a trap in a function's entry check (fuel, epoch, stack), which
reports the offset :func:`entry_offset` gives, not an instruction's."""


def entry_offset(func: Any) -> int | None:
    """The module offset wasmtime reports for a trap in the entry check of ``func``
    (a syntax ``Func`` decoded from a binary): that of its last group of local
    declarations, or of its body when it declares none. None for a function that
    does not come from a binary."""
    if not func.code_offset:
        return None
    if not func.locals:
        return int(func.code_offset)
    from ..binary.encode import write_valtype
    from ..binary.writer import write_u

    out = bytearray()
    write_u(out, len(func.locals))
    for count, t in func.locals[:-1]:
        write_u(out, count)
        write_valtype(out, t)
    return int(func.code_offset) + len(out)


class Trap(Exception):
    """A Wasm trap. ``trap_code`` is None for traps raised by hand (``Trap("msg")``)."""

    def __init__(self, message: str, code: TrapCode | None = None) -> None:
        super().__init__(message)
        self._message = message
        self.trap_code: TrapCode | None = code
        self.frames: list[Frame] = []

    @classmethod
    def of(cls, code: TrapCode, detail: str | None = None) -> Trap:
        msg = MESSAGES[code]
        return cls(f"{msg}: {detail}" if detail else msg, code)

    @property
    def message(self) -> str:
        return self._message

    def __str__(self) -> str:
        """wasmtime-py's format: the backtrace, then what caused the trap."""
        if not self.frames:
            return self._message
        lines = ["error while executing at wasm backtrace:"]
        lines += [f"  {i:>3}: {f}" for i, f in enumerate(self.frames)]
        cause = self._message
        if self.trap_code is not None:
            cause = "wasm trap: " + _WASMTIME_WORDS.get(self.trap_code, cause)
        lines += ["", "Caused by:", "    " + cause]
        return "\n".join(lines) + "\n"


class HostError(Exception):
    """An exception raised by a host function, on its way out through Wasm frames.

    Wrapping keeps a host's ZeroDivisionError (say) from being taken for a Wasm
    integer division by zero; each tier's ``convert_exception`` unwraps it again
    with :func:`host_error_result`.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def host_error_result(exc: HostError, frames: list[Frame]) -> BaseException:
    """What the host sees for a host function's exception that crossed Wasm frames:
    the original exception, with a Trap carrying the backtrace as ``wasm_trap`` and
    the backtrace as a note (wasmtime-py's behaviour)."""
    original = exc.error
    trap = Trap(f"error while executing at wasm backtrace: {original!r}")
    trap.frames = frames
    try:
        original.wasm_trap = trap  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass
    if frames:
        note = "wasm backtrace:\n" + "\n".join(f"  {i}: {f}" for i, f in enumerate(frames))
        original.add_note(note)
    return original


class ExitTrap(WasmtimeError):
    """Raised when a WASI program calls ``proc_exit``; ``code`` is its exit status."""

    def __init__(self, code: int) -> None:
        super().__init__(f"Exited with i32 exit status {code}")
        self.code = code
