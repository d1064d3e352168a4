"""``Config``: how an ``Engine`` compiles and runs code (wasmtime-py's Config).

As in wasmtime-py every option is a write-only property and a ``Config`` is
consumed by the ``Engine`` made from it. Options that only tune a native compiler
(Cranelift flags, profilers, memory reservations, ...) are accepted and checked the
way wasmtime-py checks them, so code written for wasmtime-py runs, but they change
nothing here; docs/api-differences.md lists them.
"""

from __future__ import annotations

import os
from typing import Any

from ..internal.errors import WasmtimeError
from ..internal.records import Frozen
from .managed import Closable, setter_property
from .tiers import resolve_strategy

DEFAULT_MAX_WASM_STACK = 512 * 1024
"""Bytes of Wasm stack (wasmtime's default); tiers map it to their own depth limit."""

FEATURES = (
    "threads", "tail_call", "reference_types", "simd", "bulk_memory", "multi_value",
    "multi_memory", "memory64", "relaxed_simd", "relaxed_simd_deterministic",
    "component_model", "component_model_map", "component_model_implements",
    "exceptions", "function_references", "gc", "wide_arithmetic", "custom_page_sizes",
    "stack_switching",
)  # fmt: skip
"""Every ``wasm_*`` flag wasmtime-py has (without the prefix)."""

UNIMPLEMENTED_FEATURES = frozenset(
    {"threads", "component_model", "component_model_map", "component_model_implements",
     "wide_arithmetic", "stack_switching"}
)  # fmt: skip
"""Flags nanoproc accepts but whose proposals it does not implement: enabling them
is allowed (wasmtime-py code does), modules using them still fail to load."""

_DEFAULT_OFF = UNIMPLEMENTED_FEATURES | {"relaxed_simd_deterministic"}


_DEFAULT_FEATURES = frozenset(f for f in FEATURES if f not in _DEFAULT_OFF)

_set = object.__setattr__


class EngineSettings(Frozen):
    """What an ``Engine`` was configured with (a consumed ``Config``).

    A frozen record (see internal/records.py): ``replace(**changes)`` makes a copy.
    """

    __match_args__ = ("strategy", "consume_fuel", "epoch_interruption", "max_wasm_stack",
                      "features", "cache", "debug_info", "artifact_key")  # fmt: skip
    strategy: str
    """``auto``, ``interp`` or ``llvm``; the engine resolves ``auto``."""
    consume_fuel: bool
    epoch_interruption: bool
    max_wasm_stack: int
    features: frozenset[str]
    """Enabled ``wasm_*`` features (names without the prefix)."""
    cache: bool | str
    """``True`` or a cache configuration file; kept for tiers that cache code."""
    debug_info: bool
    artifact_key: bytes | None
    """Key that signs ``Module.serialize`` output and that ``Module.deserialize``
    requires of artifacts (see api/artifact.py); not part of the code key."""

    def __init__(self, strategy: str = "auto", consume_fuel: bool = False,
                 epoch_interruption: bool = False,
                 max_wasm_stack: int = DEFAULT_MAX_WASM_STACK,
                 features: frozenset[str] = _DEFAULT_FEATURES, cache: bool | str = False,
                 debug_info: bool = False, artifact_key: bytes | None = None) -> None:  # fmt: skip
        _set(self, "strategy", strategy)
        _set(self, "consume_fuel", consume_fuel)
        _set(self, "epoch_interruption", epoch_interruption)
        _set(self, "max_wasm_stack", max_wasm_stack)
        _set(self, "features", features)
        _set(self, "cache", cache)
        _set(self, "debug_info", debug_info)
        _set(self, "artifact_key", artifact_key)

    def code_key(self) -> tuple[Any, ...]:
        """Settings that shape compiled code: engines with equal keys share modules."""
        return (self.strategy, self.consume_fuel, self.epoch_interruption,
                self.max_wasm_stack, self.features)  # fmt: skip


def _want_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a bool")
    return value


def _want_int(value: Any) -> int:
    if not isinstance(value, int):
        raise TypeError("expected an int")
    return value


_KNOWN_ARCHS = frozenset(
    {"x86_64", "aarch64", "arm64", "riscv64", "riscv64gc", "s390x", "i686", "armv7",
     "pulley32", "pulley64", "pulley32be", "pulley64be"}
)  # fmt: skip


class Config(Closable):
    """Global configuration, used to create an ``Engine``."""

    def __init__(self) -> None:
        self._closed = False
        self._settings = EngineSettings()

    def _set(self, **changes: Any) -> None:
        self._check_open()
        self._settings = self._settings.replace(**changes)

    def _feature(self, name: str, enable: Any) -> None:
        _want_bool(enable)
        self._check_open()
        features = set(self._settings.features)
        if enable:
            features.add(name)
        else:
            features.discard(name)
        self._set(features=frozenset(features))

    def _consume(self) -> EngineSettings:
        """Hand the settings to an Engine; the Config cannot be used again."""
        self._check_open()
        self._closed = True
        return self._settings

    # ------------------------------------------------------------ wasm features
    @setter_property
    def wasm_threads(self, enable: bool) -> None:
        """Threads proposal (accepted; nanoproc does not implement threads yet)."""
        self._feature("threads", enable)

    @setter_property
    def wasm_tail_call(self, enable: bool) -> None:
        """Tail call proposal (on by default)."""
        self._feature("tail_call", enable)

    @setter_property
    def wasm_reference_types(self, enable: bool) -> None:
        """Reference types proposal (on by default)."""
        self._feature("reference_types", enable)

    @setter_property
    def wasm_simd(self, enable: bool) -> None:
        """128-bit SIMD (on by default)."""
        self._feature("simd", enable)

    @setter_property
    def wasm_bulk_memory(self, enable: bool) -> None:
        """Bulk memory operations (on by default)."""
        self._feature("bulk_memory", enable)

    @setter_property
    def wasm_multi_value(self, enable: bool) -> None:
        """Multi-value results and block parameters (on by default)."""
        self._feature("multi_value", enable)

    @setter_property
    def wasm_multi_memory(self, enable: bool) -> None:
        """Several memories per module (on by default)."""
        self._feature("multi_memory", enable)

    @setter_property
    def wasm_memory64(self, enable: bool) -> None:
        """64-bit memories and tables (on by default)."""
        self._feature("memory64", enable)

    @setter_property
    def wasm_relaxed_simd(self, enable: bool) -> None:
        """Relaxed SIMD (on by default)."""
        self._feature("relaxed_simd", enable)

    @setter_property
    def wasm_relaxed_simd_deterministic(self, enable: bool) -> None:
        """Deterministic relaxed SIMD (nanoproc's relaxed SIMD is always deterministic)."""
        self._feature("relaxed_simd_deterministic", enable)

    @setter_property
    def wasm_component_model(self, enable: bool) -> None:
        """Component model (accepted; nanoproc runs core modules only)."""
        self._feature("component_model", enable)

    @setter_property
    def wasm_component_model_map(self, enable: bool) -> None:
        """Component model map types (accepted; components are not supported)."""
        self._feature("component_model_map", enable)

    @setter_property
    def wasm_component_model_implements(self, enable: bool) -> None:
        """Component model implements (accepted; components are not supported)."""
        self._feature("component_model_implements", enable)

    @setter_property
    def wasm_exceptions(self, enable: bool) -> None:
        """Exception handling (on by default)."""
        self._feature("exceptions", enable)

    @setter_property
    def wasm_function_references(self, enable: bool) -> None:
        """Typed function references (on by default)."""
        self._feature("function_references", enable)

    @setter_property
    def wasm_gc(self, enable: bool) -> None:
        """Garbage-collected structs and arrays (on by default)."""
        self._feature("gc", enable)

    @setter_property
    def wasm_wide_arithmetic(self, enable: bool) -> None:
        """Wide arithmetic (accepted; not implemented yet)."""
        self._feature("wide_arithmetic", enable)

    @setter_property
    def wasm_custom_page_sizes(self, enable: bool) -> None:
        """Custom page sizes (on by default)."""
        self._feature("custom_page_sizes", enable)

    @setter_property
    def wasm_stack_switching(self, enable: bool) -> None:
        """Stack switching (accepted; not implemented yet)."""
        self._feature("stack_switching", enable)

    # ------------------------------------------------------------ execution
    @setter_property
    def strategy(self, strategy: str) -> None:
        """Execution tier: ``"auto"``, ``"interp"``, ``"llvm"`` or ``"tiered"``.

        ``"auto"`` is ``"tiered"`` where llvmlite is installed (code starts at once on
        the interp tier and switches to the llvm tier's native code when it has been
        compiled in the background), else ``"interp"``. ``"cranelift"`` (wasmtime's
        native compiler) is read as ``"auto"``. Asking for a tier that cannot run here
        raises WasmtimeError.
        """
        self._check_open()
        self._set(strategy=resolve_strategy(strategy, eager=True))

    @setter_property
    def consume_fuel(self, enable: bool) -> None:
        """Make Wasm code consume fuel and trap when it runs out.

        Stores start with 0 fuel when enabled: call ``Store.set_fuel``.
        """
        if not isinstance(enable, bool):
            raise TypeError("expected an bool")
        self._set(consume_fuel=enable)

    @setter_property
    def epoch_interruption(self, enable: bool) -> None:
        """Let ``Engine.increment_epoch`` interrupt code past its store's deadline."""
        self._set(epoch_interruption=bool(enable))

    @setter_property
    def max_wasm_stack(self, size: int) -> None:
        """Bytes of stack Wasm code may use before trapping with a stack overflow."""
        self._set(max_wasm_stack=_want_int(size))

    @setter_property
    def cache(self, enabled: bool | str) -> None:
        """``True``, or the path of a cache configuration file (which must exist)."""
        if isinstance(enabled, bool):
            if not enabled:
                raise WasmtimeError("caching cannot be explicitly disabled")
        elif isinstance(enabled, str):
            if not os.path.isfile(enabled):
                raise WasmtimeError(f"failed to read cache configuration file `{enabled}`")
        else:
            raise TypeError("expected string or bool")
        self._set(cache=enabled)

    @setter_property
    def artifact_key(self, key: bytes | None) -> None:
        """Sign artifacts with ``key`` and load only artifacts signed with it (nanoproc
        extension; at least 16 bytes, ``None`` for none). See SECURITY.md."""
        from .artifact import check_key

        self._set(artifact_key=None if key is None else check_key(key))

    @setter_property
    def debug_info(self, enable: bool) -> None:
        """Keep debug information (Wasm backtraces always name functions here)."""
        self._set(debug_info=_want_bool(enable))

    # ------------------------------------------------------------ native-compiler tuning
    # Accepted and checked as wasmtime-py does; they tune machine code generation,
    # which nanoproc's tiers do their own way.
    @setter_property
    def cranelift_debug_verifier(self, enable: bool) -> None:
        """Cranelift option (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def cranelift_opt_level(self, opt_level: str) -> None:
        """Cranelift option: ``none``, ``speed`` or ``speed_and_size`` (accepted, no effect)."""
        if opt_level not in ("none", "speed", "speed_and_size"):
            raise WasmtimeError("unknown opt level: " + str(opt_level))
        self._check_open()

    @setter_property
    def cranelift_nan_canonicalization(self, enable: bool) -> None:
        """Cranelift option (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    def cranelift_flag_enable(self, flag: str) -> None:
        """Cranelift target flag (accepted, no effect)."""
        if not isinstance(flag, str):
            raise TypeError("expected a str")
        self._check_open()

    def cranelift_flag_set(self, key: str, value: str) -> None:
        """Cranelift target flag (accepted, no effect)."""
        if not isinstance(key, str):
            raise TypeError("expected a str for key")
        if not isinstance(value, str):
            raise TypeError("expected a str for value")
        self._check_open()

    @setter_property
    def profiler(self, profiler: str) -> None:
        """Native profiler integration: ``none``, ``jitdump``, ``vtune``, ``perfmap``
        (accepted, no effect: Python profilers see the interp tier directly)."""
        if profiler not in ("none", "jitdump", "vtune", "perfmap"):
            raise WasmtimeError("unknown profiler: " + str(profiler))
        self._check_open()

    @setter_property
    def parallel_compilation(self, enable: bool) -> None:
        """Compile functions in parallel (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def shared_memory(self, enable: bool) -> None:
        """Allow shared memories (accepted; shared memories are not supported yet)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def gc_support(self, enable: bool) -> None:
        """GC support switch (accepted; GC follows ``wasm_gc``)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def native_unwind_info(self, enable: bool) -> None:
        """Native unwind information (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def macos_use_mach_ports(self, enable: bool) -> None:
        """macOS trap handling (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def signals_based_traps(self, enable: bool) -> None:
        """Signal-based traps (accepted, no effect: traps are explicit checks here)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def memory_may_move(self, enable: bool) -> None:
        """Memory relocation policy (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def memory_reservation(self, size: int) -> None:
        """Virtual memory reserved per memory (accepted, no effect)."""
        _want_int(size)
        self._check_open()

    @setter_property
    def memory_guard_size(self, size: int) -> None:
        """Guard region size (accepted, no effect: accesses are bounds-checked)."""
        _want_int(size)
        self._check_open()

    @setter_property
    def memory_reservation_for_growth(self, size: int) -> None:
        """Extra reservation for growth (accepted, no effect)."""
        _want_int(size)
        self._check_open()

    @setter_property
    def memory_init_cow(self, enable: bool) -> None:
        """Copy-on-write memory initialisation (accepted, no effect)."""
        _want_bool(enable)
        self._check_open()

    @setter_property
    def target(self, triple: str) -> None:
        """Target triple. Any known architecture is accepted (the tiers produce code
        for the host only); an unknown one raises WasmtimeError."""
        if not isinstance(triple, str):
            raise TypeError("expected a str")
        arch = triple.split("-", 1)[0]
        if arch not in _KNOWN_ARCHS or "-" not in triple:
            raise WasmtimeError(f"failed to parse target triple `{triple}`: unrecognized architecture")
        self._check_open()
