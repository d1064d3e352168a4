"""The llvm tier: Wasm functions compiled to machine code through LLVM (llvmlite).

Use::

    backend = LLVMBackend(max_wasm_stack=512 * 1024)
    inst = instantiate(store, compiled, imports, backend)      # exec.instance
    try:
        result = inst.exports["run"].call(*args)               # FuncInst.call
    except BaseException as e:
        raise backend.convert_exception(e) from None

It shares every runtime object with the interp tier (stores, memories, tables,
globals, host functions, traps) and runs the same modules: those needing SIMD are refused with
UnsupportedFeature, as there.

A module is compiled on its first instantiation (or by ``compile_module``, for
AOT artifacts), from the compile cache when possible; every instance shares the
loaded code.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from ..errors import UnsupportedFeature, WasmtimeError
from ..exec.compiled import CompiledModule
from ..exec.instance import ModuleInstance
from ..syntax.types import EXN_HIERARCHY, ArrayType, FuncType, RefType, StructType
from .artifact import decode_payload, encode_payload
from .code import LoadedCode
from .compiler import (
    CodeOptions,
    Progress,
    cached_objects,
    load_code,
    module_objects,
    opt_level_from_env,
)
from .instance import InstanceState
from .nativestore import NativeStore
from .traps import convert_exception

DEFAULT_MAX_WASM_STACK = 512 * 1024
LLVM_FEATURES = frozenset({"exceptions"})
"""Features of :func:`..exec.features.unsupported_feature`'s list this tier runs."""


def _has_exnref_fields(module: Any) -> bool:
    """Whether a struct or array type of ``module`` holds exnrefs (a store that runs
    it collects its GC and exception objects together: see gcheap)."""
    for st in module.deftypes:
        comp = st.comp
        fields = comp.fields if isinstance(comp, StructType) else (
            (comp.field,) if isinstance(comp, ArrayType) else ())
        for f in fields:
            t = f.storage
            if isinstance(t, RefType) and t.heap in EXN_HIERARCHY:
                return True
    return False


class ModuleArtifact:
    """The llvm tier's per-module state: its object code and, once linked, its code."""

    def __init__(self, module: CompiledModule, options: CodeOptions) -> None:
        self.module = module
        self.options = options
        self.objects: list[bytes] | None = None
        self.code: LoadedCode | None = None
        self._lock = threading.Lock()
        self._unsupported: str | None | bool = False
        self.uses_gc = any(not isinstance(st.comp, FuncType) for st in module.module.deftypes)
        """Whether the module declares struct or array types (its code may allocate)."""
        self.exnref_fields = self.uses_gc and _has_exnref_fields(module.module)

    @property
    def opt_level(self) -> int:
        return self.options.opt_level

    def check_supported(self) -> None:
        if self._unsupported is False:
            self._unsupported = self.module.unsupported_feature(LLVM_FEATURES)
        if self._unsupported:
            raise UnsupportedFeature(str(self._unsupported), "in the llvm tier")

    def compile(self, progress: Progress | None = None, jobs: int | None = None) -> list[bytes]:
        """The module's object code (compiling it, or reading the compile cache)."""
        self.check_supported()
        with self._lock:
            if self.objects is None:
                self.objects = module_objects(self.module, self.options, progress, jobs)
            return self.objects

    def compile_in_background(self, jobs: int | None = None) -> list[bytes]:
        """Like :meth:`compile`, by worker processes even for a small module (called
        from a background thread while the module runs on another tier)."""
        self.check_supported()
        with self._lock:
            if self.objects is None:
                self.objects = module_objects(self.module, self.options, None, jobs,
                                              background=True)  # fmt: skip
            return self.objects

    def from_cache(self) -> bool:
        """Whether the object code is here, taking it from the compile cache if it is
        there (never waits for a compile in progress)."""
        if self.objects is not None:
            return True
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self.objects is None and self.check_supported_quietly():
                self.objects = cached_objects(self.module, self.options)
            return self.objects is not None
        finally:
            self._lock.release()

    def check_supported_quietly(self) -> bool:
        try:
            self.check_supported()
        except UnsupportedFeature:
            return False
        return True

    def install(self, objects: list[bytes]) -> None:
        """Use precompiled object code (an AOT artifact's) instead of compiling."""
        with self._lock:
            self.objects = objects

    def load(self) -> LoadedCode:
        code = self.code
        if code is None:
            objects = self.compile()
            with self._lock:
                if self.code is None:
                    self.code = load_code(self.module, objects)
                code = self.code
        return code


class LLVMBackend:
    """The ``llvm`` execution tier (see the module docstring).

    ``consume_fuel`` and ``epoch_interruption`` compile fuel metering and epoch
    checks into the code, counted as the interp tier counts them (see
    :mod:`.irgen.metering`); code compiled without them never pays for them.
    """

    name = "llvm"
    supports_fuel = True
    supports_epochs = True

    def __init__(self, max_wasm_stack: int = DEFAULT_MAX_WASM_STACK,
                 opt_level: int | None = None, consume_fuel: bool = False,
                 epoch_interruption: bool = False, interrupt_checks: bool = True) -> None:
        self.max_wasm_stack = max_wasm_stack
        level = opt_level_from_env() if opt_level is None else opt_level
        self.options = CodeOptions(level, consume_fuel, epoch_interruption, interrupt_checks)
        self.foreign: Any = None
        """Set by a backend composing this tier with another: ``foreign(instance)``
        gives the Python callable native code calls, as ``caller(fi, *args)``, for
        the Wasm functions ``fi`` of ``instance`` that are not native code (yet),
        which are then treated like host functions (see hostcall.host_records)."""
        self.epoch_stores: dict[int, weakref.ReferenceType[Any]] = {}
        """id -> NativeStore of every live store with epoch checks (see epoch_changed)."""

    @property
    def opt_level(self) -> int:
        return self.options.opt_level

    def epoch_changed(self, epoch: int) -> None:
        """The engine's epoch advanced (called by ``Engine.increment_epoch``): set the
        trip byte of every store whose deadline it reached."""
        for key, ref in tuple(self.epoch_stores.items()):
            ns = ref()
            if ns is None:
                self.epoch_stores.pop(key, None)
            else:
                ns.sync_trip()

    _cached_key: tuple[CodeOptions, str] | None = None

    def _key(self) -> str:
        # computed once per options (every instantiation asks)
        opts = self.options
        cached = self._cached_key
        if cached is None or cached[0] is not opts:
            cached = self._cached_key = (opts, "llvm:" + opts.key())
        return cached[1]

    def prepare(self, module: CompiledModule) -> ModuleArtifact:
        """The module's llvm artifact for this backend's options (compiled on first use)."""
        key = self._key()
        art = module.artifacts.get(key)
        if art is None:
            art = ModuleArtifact(module, self.options)
            module.artifacts[key] = art
        return art  # type: ignore[no-any-return]

    def has_cached_code(self, wasm: bytes) -> bool:
        """Whether the compile cache holds this engine's code for module ``wasm`` (which
        was then valid: only validated modules are compiled)."""
        import hashlib

        from . import cache

        digest = hashlib.sha256(wasm).hexdigest()
        if cache.load_quick(digest, self.options.key()) is not None:
            return True
        return cache.load(cache.cache_key(digest, self.options.key())) is not None

    def precompile(self, module: CompiledModule) -> None:
        """Compile ``module`` now (``Module()`` does, as in wasmtime). A module this tier
        cannot run is refused at instantiation instead, as by the interp tier."""
        art = self.prepare(module)
        try:
            art.compile()
        except UnsupportedFeature:
            pass

    def instantiate(self, inst: ModuleInstance) -> None:
        art = self.prepare(inst.module)
        code = art.load()
        ns = NativeStore.of(inst.store, self)
        if art.uses_gc:
            heap = ns.gc_heap()  # native code finds it in the StoreCtx
            if art.exnref_fields:
                heap.attach_exceptions()
        ns.reserve_frame(code.max_frame)
        inst.tier_state = InstanceState(inst, code, ns)

    # ------------------------------------------------------------ partial units
    def compile_unit(self, module: CompiledModule, funcs: list[int],
                     cached_only: bool = False, background: bool = True) -> LoadedCode | None:
        """Linked native code of defined functions ``funcs`` (sorted) of ``module``
        alone, calling the others through their FuncRecords (see .units); compiled
        by a worker process (``background``: a niced one), or in this thread where
        none can be had, unless cached. ``cached_only``: None when not cached."""
        from .units import cached_unit, load_unit, unit_objects

        self.prepare(module).check_supported()
        code = cached_unit(module, funcs, self.options)
        if code is not None:
            return code
        objects = unit_objects(module, funcs, self.options, cached_only, background)
        if objects is None:
            return None
        return load_unit(module, funcs, objects, self.options)

    def unit_thunks(self, module: CompiledModule) -> None:
        """Make the host thunks units of ``module`` may need (see units.prepare_thunks)."""
        from .units import prepare_thunks

        prepare_thunks(module)

    def units_state(self, inst: ModuleInstance, units: Any = ()) -> Any:
        """A UnitsState for ``inst``, which runs on another tier, with ``units``
        (``(code, funcs)`` pairs) bound; more are added to it later (see .units)."""
        from .units import units_state

        return units_state(inst, self, list(units))

    @staticmethod
    def store_running(st: Any) -> bool:
        """Whether native code of store ``st`` is on a stack (an entry not yet left)."""
        ns = st.tier_state
        return ns is not None and ns.sc.depth > 0

    def gc_heap(self, store: Any) -> Any:
        """The store's GC heap (native; see gcheap)."""
        return NativeStore.of(store, self).gc_heap()

    # ------------------------------------------------------------ AOT artifacts
    def serialize_code(self, module: CompiledModule) -> bytes:
        """The compiled code of ``module`` for an artifact (compiling it if needed)."""
        art = self.prepare(module)
        if not art.options.interrupts:
            raise WasmtimeError("code compiled without interrupt checks cannot be serialized")
        return encode_payload(art.compile(), art.options)

    def load_serialized(self, module: CompiledModule, payload: bytes) -> None:
        """Give ``module`` the compiled code of an artifact (refused unless it was made
        for this machine, build and engine settings)."""
        objects, options = decode_payload(payload)
        for what, theirs, ours in (("fuel metering", options.fuel, self.options.fuel),
                                   ("epoch interruption", options.epochs, self.options.epochs)):
            if theirs != ours:
                state = "with" if theirs else "without"
                raise WasmtimeError(f"serialized module was compiled {state} {what}, "
                                    "which this engine's configuration does not match "
                                    "(`nanoproc compile -W consume-fuel` / "
                                    "`-W epoch-interruption` compile them in)")
        art = ModuleArtifact(module, self.options.replace(opt_level=options.opt_level))
        art.install(objects)
        module.artifacts[self._key()] = art

    @staticmethod
    def convert_exception(exc: BaseException) -> BaseException:
        """See :func:`.traps.convert_exception`."""
        return convert_exception(exc)

    def __repr__(self) -> str:
        return f"<LLVMBackend {self.options.key()}>"
