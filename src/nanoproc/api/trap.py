"""Traps and errors, as named by wasmtime-py (defined by the runtime core)."""

from ..internal.errors import WasmtimeError
from ..internal.exec.trap import ExitTrap, Frame, Trap, TrapCode

__all__ = ["ExitTrap", "Frame", "Trap", "TrapCode", "WasmtimeError"]
