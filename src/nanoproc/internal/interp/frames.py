"""From Python exceptions back to Wasm traps with a Wasm backtrace.

Generated code does not check what Python checks anyway: an out-of-bounds memory
access raises struct.error or IndexError, an unsigned division by zero raises
ZeroDivisionError, deep recursion raises RecursionError. :func:`convert_exception`
runs only when something was raised (in the API's ``except`` clause, so a call that
does not fail pays nothing) and turns those into the right Trap.

Every generated code object is registered with its module, function index and a
line -> instruction table, so the traceback gives each Wasm frame and the byte
offset of the instruction that failed. The registry is keyed by the code's unique
file name (hashing a code object hashes its whole body, far too slow for a deep
backtrace); the artifact keeps the entries alive as long as the module lives.
"""

from __future__ import annotations

import struct
import weakref
from types import CodeType, TracebackType
from typing import TYPE_CHECKING

from ..exec.exceptions import Thrown, thrown_to_api
from ..exec.trap import ENTRY_PC, Frame, HostError, Trap, TrapCode, entry_offset, host_error_result
from .helpers import HELPER_CODES

if TYPE_CHECKING:
    from .artifact import ModuleArtifact


class CodeInfo:
    """What a generated code object came from."""

    __slots__ = ("art", "funcidx", "line_pcs", "frames", "__weakref__")

    def __init__(self, art: ModuleArtifact, funcidx: int, line_pcs: list[int]) -> None:
        self.art = weakref.proxy(art)
        self.funcidx = funcidx
        self.line_pcs = line_pcs
        self.frames: dict[int, Frame | None] = {}
        """Bytecode offset -> its Frame (deep recursion repeats the same few)."""


_REGISTRY: weakref.WeakValueDictionary[str, CodeInfo] = weakref.WeakValueDictionary()


def register_code(code: CodeType, art: ModuleArtifact, funcidx: int, line_pcs: list[int]) -> None:
    """Record where ``code`` (compiled with a unique ``co_filename``) came from."""
    info = CodeInfo(art, funcidx, line_pcs)
    art.code_infos.append(info)
    _REGISTRY[code.co_filename] = info


def is_generated(code: CodeType) -> bool:
    return code.co_filename in _REGISTRY


def _frame(info: CodeInfo, lineno: int | None) -> Frame | None:
    try:
        art = info.art
        pcs = info.line_pcs
        pc = pcs[lineno] if lineno is not None and 0 <= lineno < len(pcs) else 0
        func = art.module.funcs[info.funcidx - art.num_imported]
        if func.offsets is None and func.body is None and func.lazy is not None:
            func.instrs  # noqa: B018  (decodes the body and its offsets: code from the
            # translation cache ran without them)
        entry = entry_offset(func) if pc == ENTRY_PC else None
        if entry is not None:
            module_offset = entry
            func_offset = module_offset - func.code_offset
        elif pc == ENTRY_PC:
            module_offset = func_offset = 0
        elif func.offsets is not None and func.offsets:
            module_offset = func.offsets[min(pc, len(func.offsets) - 1)]
            func_offset = module_offset - func.code_offset
        else:
            module_offset = func_offset = pc
        return Frame(info.funcidx, art.func_name(info.funcidx), art.name, func_offset,
                     module_offset)
    except ReferenceError:
        return None


def wasm_frames(tb: TracebackType | None, stop: TracebackType | None = None) -> list[Frame]:
    """The Wasm frames of a traceback, innermost first (wasmtime's order); with
    ``stop``, only those outside it (``stop`` is an earlier head of the same chain:
    frames inside it were counted already)."""
    frames: list[Frame] = []
    while tb is not None and tb is not stop:
        info = _REGISTRY.get(tb.tb_frame.f_code.co_filename)
        if info is not None:
            lasti = tb.tb_lasti
            if lasti in info.frames:
                f = info.frames[lasti]
            else:
                # tb_lineno scans the code's line table: once per call site.
                f = info.frames[lasti] = _frame(info, tb.tb_lineno)
            if f is not None:
                frames.append(f)
        tb = tb.tb_next
    frames.reverse()
    return frames


def _raised_in_wasm(tb: TracebackType | None) -> bool:
    """Whether the innermost Python frame is generated code or one of its helpers."""
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    code = last.tb_frame.f_code
    return code.co_filename in _REGISTRY or code in HELPER_CODES


_IMPLICIT: dict[type[BaseException], TrapCode] = {
    ZeroDivisionError: TrapCode.INTEGER_DIVISION_BY_ZERO,
    struct.error: TrapCode.MEMORY_OUT_OF_BOUNDS,
    IndexError: TrapCode.MEMORY_OUT_OF_BOUNDS,
    OverflowError: TrapCode.MEMORY_OUT_OF_BOUNDS,
}


_NULL_ACCESS = (AttributeError, TypeError)
"""Raised by generated code only for an access through a null GC reference (a struct
field or array of ``None``, an i31 of ``None``): validated code uses no other value
where Python could raise these."""


def _raised_in_generated(tb: TracebackType | None) -> bool:
    """Whether the innermost Python frame is generated code (not a helper)."""
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last is not None and last.tb_frame.f_code.co_filename in _REGISTRY


def _implicit_code(exc: BaseException) -> TrapCode | None:
    """The trap code of a Python error raised by generated code, else None."""
    tb = exc.__traceback__
    code = _IMPLICIT.get(type(exc))
    if code is None and type(exc) in _NULL_ACCESS and _raised_in_generated(tb):
        code = TrapCode.NULL_REFERENCE
    if code is not None and _raised_in_wasm(tb):
        return code
    return None


def implicit_trap(exc: BaseException) -> Trap | None:
    """The trap a Python error raised by generated code stands for (see
    :func:`convert_exception`), without its backtrace; None for any other exception."""
    code = _implicit_code(exc)
    return Trap.of(code) if code is not None else None


def convert_exception(exc: BaseException) -> BaseException:
    """The exception to raise in place of ``exc`` at a Python -> Wasm boundary.

    * a Trap: itself, with its Wasm backtrace;
    * RecursionError: a STACK_OVERFLOW trap ("call stack exhausted") caused by it;
    * ZeroDivisionError, struct.error, IndexError, OverflowError raised by
      generated code: the corresponding trap;
    * HostError: the host function's original exception, with the Trap it caused
      as its ``wasm_trap`` attribute and the Wasm backtrace in a note;
    * anything else: unchanged.
    """
    tb = exc.__traceback__
    if isinstance(exc, Thrown):
        out = thrown_to_api(exc)
        out.frames = wasm_frames(tb)
        return out
    if isinstance(exc, Trap):
        exc.frames = wasm_frames(tb)
        return exc
    if isinstance(exc, HostError):
        return host_error_result(exc, wasm_frames(tb))
    if isinstance(exc, RecursionError):
        # Python's stack ran out in Wasm code or nanoproc's glue (a host function's
        # own RecursionError arrives wrapped in HostError): the cause stays visible.
        trap = Trap.of(TrapCode.STACK_OVERFLOW)
        trap.frames = wasm_frames(tb)
        trap.__cause__ = exc
        trap.__suppress_context__ = True
        return trap
    code = _implicit_code(exc)
    if code is not None:
        trap = Trap.of(code)
        trap.frames = wasm_frames(tb)
        return _chain(trap, exc)
    return exc


def _chain(trap: Trap, cause: BaseException) -> Trap:
    trap.__cause__ = None
    trap.__suppress_context__ = True
    return trap
