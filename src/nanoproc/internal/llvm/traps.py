"""Traps from native code: the Trap for a trap kind, the backtrace from the recorded
return addresses, and the conversion the API applies to anything escaping Wasm.

The trap routine in generated code records the return address of every frame from
the trap up to the innermost entry from Python. The first one (when the trap
routine was called by Wasm code) is the trap site itself, whose instruction the
routine was told; the others are call sites, found through the stackmaps.
Addresses outside Wasm functions (entry trampolines, host thunks) are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exec.exceptions import Thrown, thrown_to_api
from ..exec.trap import ENTRY_PC, Frame, HostError, Trap, TrapCode, host_error_result
from . import abi
from .code import lookup

_KINDS: dict[int, tuple[TrapCode, str | None]] = {
    abi.TRAP_STACK_OVERFLOW: (TrapCode.STACK_OVERFLOW, None),
    abi.TRAP_MEMORY_OOB: (TrapCode.MEMORY_OUT_OF_BOUNDS, None),
    abi.TRAP_TABLE_OOB: (TrapCode.TABLE_OUT_OF_BOUNDS, None),
    abi.TRAP_UNDEFINED_ELEMENT: (TrapCode.TABLE_OUT_OF_BOUNDS, "undefined element"),
    abi.TRAP_INDIRECT_NULL: (TrapCode.INDIRECT_CALL_TO_NULL, None),
    abi.TRAP_BAD_SIGNATURE: (TrapCode.BAD_SIGNATURE, None),
    abi.TRAP_INT_OVERFLOW: (TrapCode.INTEGER_OVERFLOW, None),
    abi.TRAP_DIV_ZERO: (TrapCode.INTEGER_DIVISION_BY_ZERO, None),
    abi.TRAP_BAD_CONVERSION: (TrapCode.BAD_CONVERSION_TO_INTEGER, None),
    abi.TRAP_UNREACHABLE: (TrapCode.UNREACHABLE, None),
    abi.TRAP_NULL_REFERENCE: (TrapCode.NULL_REFERENCE, None),
    abi.TRAP_NULL_FUNCTION: (TrapCode.NULL_REFERENCE, "null function reference"),
    abi.TRAP_OUT_OF_FUEL: (TrapCode.OUT_OF_FUEL, None),
    abi.TRAP_INTERRUPT: (TrapCode.INTERRUPT, None),
    abi.TRAP_NULL_EXN: (TrapCode.NULL_REFERENCE, "null exception reference"),
    abi.TRAP_ARRAY_OOB: (TrapCode.ARRAY_OUT_OF_BOUNDS, None),
    abi.TRAP_CAST_FAILURE: (TrapCode.CAST_FAILURE, None),
    abi.TRAP_ALLOCATION_TOO_LARGE: (TrapCode.ALLOCATION_TOO_LARGE, None),
}
"""Trap kind -> (code, message when it is not the code's standard one). The messages
are the interp tier's, so both tiers raise identical traps."""


def trap_of_kind(kind: int) -> Trap:
    code, message = _KINDS[kind]
    return Trap(message, code) if message else Trap.of(code)


def backtrace(kind: int, trap_pc: int, addresses: Sequence[int]) -> list[Frame]:
    """Wasm frames, innermost first, of a trap that recorded ``addresses``."""
    frames: list[Frame] = []
    for i, ra in enumerate(addresses):
        # ra - 1 is inside the call instruction: a call that ends its function (to
        # code that never returns) has its return address just past the function.
        hit = lookup(ra - 1)
        if hit is None:
            continue
        code, funcidx, offset = hit
        # (A trap in a function's entry check comes from a shared cold routine, whose
        # own frame is skipped: the first Wasm frame is the function entered.)
        if (i == 0 or trap_pc == ENTRY_PC and not frames) and trap_pc != -1:  # -1: a host call's trap, reported at its call site
            pc = trap_pc
        else:
            pc = code.call_site_pc(funcidx, offset + 1)
        frames.append(code.frame(funcidx, pc))
    return frames


def convert_exception(exc: BaseException) -> BaseException:
    """What the API raises for ``exc`` escaping Wasm code, as the interp tier does:

    * a Trap: itself (its backtrace was set where it left native code);
    * Thrown (an uncaught Wasm exception): ThrownException, with the backtrace;
    * HostError: the host function's own exception, with the Trap it caused as
      ``wasm_trap`` and the Wasm backtrace in a note;
    * RecursionError (Python's stack ran out in nanoproc's own code: a host
      function's own RecursionError arrives as a HostError): a STACK_OVERFLOW trap
      with the RecursionError as its ``__cause__``;
    * anything else: unchanged.
    """
    frames: list[Frame] = getattr(exc, "wasm_frames", [])
    if isinstance(exc, Thrown):
        out = thrown_to_api(exc)
        out.frames = frames
        return out
    if isinstance(exc, HostError):
        return host_error_result(exc, frames)
    if isinstance(exc, RecursionError):
        trap = Trap.of(TrapCode.STACK_OVERFLOW)
        trap.frames = frames
        trap.__cause__ = exc
        trap.__suppress_context__ = True
        return trap
    return exc
