"""Choosing and creating an execution tier (``Config.strategy``).

The tiers live in ``internal/interp`` and ``internal/llvm``; this module is the one
place that knows how to find and construct them, so the rest of the API only sees
the ``exec.backend.Backend`` interface.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from ..internal.errors import UnsupportedFeature, WasmtimeError

if TYPE_CHECKING:
    from ..internal.exec.backend import Backend

STRATEGIES = ("auto", "interp", "llvm")


@cache
def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@cache
def llvm_unavailable_reason() -> str | None:
    """Why the llvm tier cannot be used here, or None if it can."""
    if not _module_exists("nanoproc.internal.llvm"):
        return "the llvm tier is not part of this build yet"
    try:
        importlib.import_module("llvmlite")
    except Exception as e:  # ImportError, or a broken native library
        return f"llvmlite cannot be imported: {e}"
    return None


def resolve_strategy(strategy: Any, eager: bool = False) -> str:
    """Check a ``Config.strategy`` value; ``cranelift`` means ``auto``.

    With ``eager``, a tier that cannot run here is refused now rather than when an
    Engine is created, so the error points at the line that asked for it.
    """
    if strategy == "cranelift":
        return "auto"
    if strategy not in STRATEGIES:
        raise WasmtimeError("unknown strategy: " + str(strategy))
    if strategy == "llvm" and eager:
        reason = llvm_unavailable_reason()
        if reason is not None:
            raise UnsupportedFeature("llvm tier", reason)
    return str(strategy)


def pick_tier(strategy: str) -> str:
    """The tier an engine with this strategy uses: ``auto`` prefers llvm."""
    if strategy == "auto":
        return "llvm" if llvm_unavailable_reason() is None else "interp"
    if strategy == "llvm":
        reason = llvm_unavailable_reason()
        if reason is not None:
            raise UnsupportedFeature("llvm tier", reason)
    return strategy


def create_backend(tier: str, engine: Any) -> Backend:
    """A new backend of ``tier`` serving ``engine``."""
    if tier == "interp":
        try:
            mod = importlib.import_module("nanoproc.internal.interp")
        except ImportError as e:
            raise UnsupportedFeature("interp tier", f"not part of this build yet: {e}") from None
        return _construct(mod.InterpBackend, engine)
    mod = importlib.import_module("nanoproc.internal.llvm")
    return _construct(mod.LLVMBackend, engine)


def _construct(cls: Callable[..., Backend], engine: Any) -> Backend:
    """Tiers take the engine (for fuel, epochs and stack settings) when they want it."""
    try:
        return cls(engine)
    except TypeError:
        return cls()


@cache
def _convert_exception_impl(tier: str) -> Callable[[BaseException], BaseException]:
    if tier == "interp":
        try:
            mod = importlib.import_module("nanoproc.internal.interp")
        except ImportError:
            return _identity
    else:
        mod = importlib.import_module("nanoproc.internal.llvm")
    fn = getattr(mod, "convert_exception", None)
    return fn if fn is not None else _identity


def _identity(exc: BaseException) -> BaseException:
    return exc


def exception_converter(tier: str) -> Callable[[BaseException], BaseException]:
    """The tier's ``convert_exception``: turns what escaped Wasm code into what the
    caller of an export sees (a Trap with frames, or a host exception with
    ``wasm_trap`` attached)."""
    return _convert_exception_impl(tier)
