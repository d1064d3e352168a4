"""Choosing and creating an execution tier (``Config.strategy``).

The tiers live in ``internal/interp`` and ``internal/llvm``; this module is the one
place that knows how to find and construct them, so the rest of the API only sees
the ``exec.backend.Backend`` interface.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from functools import cache
from typing import TYPE_CHECKING, Any

from ..internal.errors import UnsupportedFeature, WasmtimeError

if TYPE_CHECKING:
    from ..internal.exec.backend import Backend

STRATEGIES = ("auto", "interp", "llvm", "tiered")


@cache
def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@cache
def llvm_unavailable_reason() -> str | None:
    """Why the llvm tier cannot be used here, or None if it can.

    It needs the tier's package with its ``LLVMBackend`` (not yet in every build)
    and an importable llvmlite.
    """
    if not _module_exists("nanoproc.internal.llvm"):
        return "the llvm tier is not part of this build yet"
    try:
        importlib.import_module("llvmlite")
    except Exception as e:  # ImportError, or a broken native library
        return f"llvmlite cannot be imported: {e}"
    try:
        tier = importlib.import_module("nanoproc.internal.llvm")
    except Exception as e:  # a tier that is still being written may fail to import
        return f"the llvm tier cannot be loaded: {e}"
    if not hasattr(tier, "LLVMBackend"):
        return "the llvm tier is not complete in this build yet"
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
    if strategy in ("llvm", "tiered") and eager:
        reason = llvm_unavailable_reason()
        if reason is not None:
            raise UnsupportedFeature("llvm tier", reason)
    return str(strategy)


@cache
def llvm_installed() -> bool:
    """Whether the llvm tier and llvmlite are installed (without loading them: a
    tiered engine loads LLVM only when it compiles; if that fails, it stays on the
    interp tier)."""
    return _module_exists("nanoproc.internal.llvm") and _module_exists("llvmlite")


def pick_tier(strategy: str) -> str:
    """The tier an engine with this strategy uses: ``auto`` is ``tiered`` (the interp
    tier at once, llvm's native code once compiled) where llvmlite is installed, else
    ``interp``. ``NANOPROC_STRATEGY`` (``interp``, ``llvm`` or ``tiered``) overrides
    what ``auto`` picks, for programs whose engine one cannot configure."""
    if strategy == "auto":
        forced = os.environ.get("NANOPROC_STRATEGY")
        if forced == "interp" or (forced == "llvm" and llvm_unavailable_reason() is None):
            return forced
        return "tiered" if llvm_installed() else "interp"
    if strategy in ("llvm", "tiered"):
        reason = llvm_unavailable_reason()
        if reason is not None:
            raise UnsupportedFeature("llvm tier", reason)
    return strategy


def create_backend(tier: str, engine: Any) -> Backend:
    """A new backend of ``tier`` serving ``engine`` (which gives its stack size)."""
    if tier == "interp":
        try:
            from ..internal.interp import InterpBackend
        except ImportError as e:
            raise UnsupportedFeature("interp tier", f"not part of this build yet: {e}") from None
        return InterpBackend(max_wasm_stack=engine.max_wasm_stack,
                             consume_fuel=engine.consume_fuel,
                             epoch_interruption=engine.epoch_interruption)
    if tier == "llvm":
        return _llvm_backend(engine)  # type: ignore[no-any-return]
    from ..internal.tiered import TieredBackend

    # The llvm backend (and LLVM) is loaded only when native code is needed: a cold
    # start runs interp code and compiles in the background once the program is
    # past its start; the cache is asked without LLVM (see llvm.cache.probe).
    return TieredBackend(create_backend("interp", engine), lambda: _llvm_backend(engine),
                         probe=_cache_probe(engine))


def _llvm_backend(engine: Any) -> Any:
    cls = importlib.import_module("nanoproc.internal.llvm").LLVMBackend
    return cls(max_wasm_stack=engine.max_wasm_stack, **_metering_args(cls, engine))


def _cache_probe(engine: Any) -> Any:
    """``probe(wasm)``: whether the llvm compile cache has ``wasm``'s code for this
    engine's settings, without loading LLVM (None when that cannot be told)."""
    from ..internal.exec.digest import sha256_hex
    from ..internal.llvm import cache
    from ..internal.llvm.options import CodeOptions, opt_level_from_env

    config = CodeOptions(opt_level_from_env(), bool(engine.consume_fuel),
                         bool(engine.epoch_interruption)).key()  # fmt: skip

    def probe(wasm: bytes) -> bool | None:
        return cache.probe(sha256_hex(wasm), config)

    probe.config = config  # type: ignore[attr-defined]  # (tiered/units.py's index probe)
    return probe


def _metering_args(cls: Any, engine: Any) -> dict[str, bool]:
    """``consume_fuel``/``epoch_interruption`` for a backend class that advertises the
    matching ``supports_fuel``/``supports_epochs`` (docs/fuel.md: the tier contract);
    a tier without them gets neither and the engine refuses to run code."""
    args = {}
    if getattr(cls, "supports_fuel", False):
        args["consume_fuel"] = bool(engine.consume_fuel)
    if getattr(cls, "supports_epochs", False):
        args["epoch_interruption"] = bool(engine.epoch_interruption)
    return args


def execution_blocker(backend: Any, engine: Any) -> str | None:
    """Why code cannot run under ``engine``'s settings with this backend, or None.

    Fuel metering and epoch checks are compiled into the code by the tier; a tier
    advertises them with ``supports_fuel`` / ``supports_epochs``. Without that,
    running code would silently ignore the limits, so it is refused instead.
    """
    if engine.consume_fuel and not getattr(backend, "supports_fuel", False):
        return f"fuel metering in the {backend.name} tier"
    if engine.epoch_interruption and not getattr(backend, "supports_epochs", False):
        return f"epoch interruption in the {backend.name} tier"
    return None
