"""The interp tier: Wasm functions translated to Python source, run by CPython.

Use::

    backend = InterpBackend(max_wasm_stack=512 * 1024)
    inst = instantiate(store, compiled, imports, backend)      # exec.instance
    try:
        result = inst.exports["run"].call(*args)               # FuncInst.call
    except BaseException as e:
        raise backend.convert_exception(e) from None

``FuncInst.call`` is the fastest entry: after the first call it is the translated
Python function itself, taking and returning values in the representation of
:mod:`..exec.values` (None / value / tuple).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import UnsupportedFeature
from ..exec.compiled import CompiledModule
from ..exec.gctypes import declares_gc_types
from ..exec.instance import ModuleInstance
from .artifact import _TRANSLATE, ModuleArtifact, TranslationOptions
from .binding import InstanceState
from .frames import _REGISTRY as _CODE_REGISTRY
from .frames import convert_exception, implicit_trap, wasm_frames

DEFAULT_MAX_WASM_STACK = 512 * 1024
"""Bytes, as wasmtime's default ``max_wasm_stack``."""

BYTES_PER_FRAME = 16
"""How much of ``max_wasm_stack`` one Wasm call uses here: one Python frame per Wasm
frame, counted as 16 bytes, the smallest frame Cranelift makes (return address and
frame pointer), so small stacks allow as many nested calls as wasmtime allows a
small function. Each engine's limit is enforced by a depth budget in the code (see
callgraph); Python's recursion limit, raised to fit the largest engine, is only the
backstop."""

HEADROOM = 1000
"""Python frames left for the host program below the first Wasm call."""


MAX_FRAMES = 16384
"""Deepest Wasm recursion allowed whatever ``max_wasm_stack`` says (the default 512
KiB would give 32,768, as deep as wasmtime goes). Most Wasm calls are Python calls
CPython runs without the C stack, but some are not (a tail-call trampoline's call, a
host function calling back into Wasm), and CPython 3.11 has no guard for the C stack:
Python's recursion limit (at most MAX_FRAMES + HEADROOM here, and process-wide) is
what bounds it. A study on this machine (8 MiB stack): nested calls through a
class's ``__call__`` (two Python frames and ~560 bytes of C stack each) crash
CPython at ~15,000 levels, ``f(*args)`` calls at ~30,000; host functions calling back
into Wasm stop with RecursionError well before either at this limit. Twice the limit
would let a host program's own runaway recursion through such calls crash where it
now raises RecursionError."""


def frames_for(max_wasm_stack: int) -> int:
    """Nested Wasm calls allowed by a ``max_wasm_stack`` of that many bytes."""
    return min(max(max_wasm_stack // BYTES_PER_FRAME, 16), MAX_FRAMES)


def ensure_recursion_limit(frames: int) -> None:
    """Raise (never lower) Python's recursion limit to fit ``frames`` Wasm calls.

    CPython 3.11+ runs Python-to-Python calls without using the C stack, and a direct
    Wasm call is one of those, so a limit of tens of thousands is safe; going past
    it raises RecursionError, which becomes the "call stack exhausted" trap.
    """
    want = frames + HEADROOM
    if sys.getrecursionlimit() < want:
        sys.setrecursionlimit(want)


class InterpBackend:
    """The ``interp`` execution tier (see the module docstring).

    ``consume_fuel`` and ``epoch_interruption`` compile fuel metering and epoch
    checks into the code (see :mod:`.metering` and docs/fuel.md); code translated
    without them never pays for them. All instances in one store must come from
    backends with equal settings (the API ensures it: one engine per store).
    """

    name = "interp"
    supports_fuel = True
    supports_epochs = True

    def __init__(
        self,
        max_wasm_stack: int = DEFAULT_MAX_WASM_STACK,
        consume_fuel: bool = False,
        epoch_interruption: bool = False,
    ) -> None:
        self.max_wasm_stack = max_wasm_stack
        frames = frames_for(max_wasm_stack)
        # Python's recursion limit (raised to fit MAX_FRAMES at most) bounds an engine
        # allowed the most; one allowed fewer counts depth in its recursive functions.
        budget = frames if frames < MAX_FRAMES else 0
        self.options = TranslationOptions(consume_fuel, epoch_interruption, budget)
        ensure_recursion_limit(frames)

    def prepare(self, module: CompiledModule) -> ModuleArtifact:
        """The module's interp artifact (created once; translation happens lazily)."""
        art = module.artifacts.get("interp")
        if art is None:
            art = ModuleArtifact(module)
            module.artifacts["interp"] = art
        return art

    def instantiate(self, inst: ModuleInstance, exempt: frozenset[int] = frozenset()) -> None:
        """Give every function defined by ``inst`` a lazy ``FuncInst.call``.
        ``exempt``: functions a composing backend gives other code before any runs
        (``override``), which this tier may be unable to translate."""
        module = inst.module
        art = module.artifacts.get("interp") or self.prepare(module)
        if art._unsupported is not None:  # None: scanned, nothing missing
            art.check_supported()
        translate = sys.modules.get(_TRANSLATE)
        if translate is not None and translate.REFUSE:  # a test hook (see translate_risky)
            art.translate_risky(self.options, exempt)
        gc = art.declares_gc
        if gc is None:
            gc = art.declares_gc = declares_gc_types(module)
        if gc:
            from .gcobjects import HEAP

            store = inst.store
            if store.heap is None:
                store.heap = HEAP
            elif store.heap is not HEAP:
                raise UnsupportedFeature("gc", "in the interp tier, for a store whose GC "
                                         "objects live in the llvm tier")
        inst.tier_state = InstanceState(inst, art, self.options)

    @staticmethod
    def store_running(st: Any) -> bool:
        """Whether a function of store ``st`` is on some thread's stack: a frame whose
        globals are one of its instances' (each instance's code runs in its own
        globals dict). Walks every frame, so only for rare questions (closing)."""
        # (An instance a composing backend moved to another tier keeps our state as
        # ``tier_state.interp``: its frames still running here count too.)
        states = [getattr(i.tier_state, "interp", i.tier_state) for i in st.instances]
        spaces = {id(getattr(s, "G", None)) for s in states}
        spaces.discard(id(None))
        if not spaces:
            return False
        tops = list(sys._current_frames().values())
        frame: Any = None
        try:
            for frame in tops:
                while frame is not None:
                    if id(frame.f_globals) in spaces:
                        return True
                    frame = frame.f_back
            return False
        finally:
            # This frame is among those walked: holding them would be a cycle that
            # keeps the store alive until the cyclic GC runs.
            del tops, frame

    @staticmethod
    def gc_heap(store: object) -> object:
        """The GC heap of a store: this tier's objects are Python objects."""
        from .gcobjects import HEAP

        return HEAP

    @staticmethod
    def convert_exception(exc: BaseException) -> BaseException:
        """See :func:`.frames.convert_exception`."""
        return convert_exception(exc)

    # ------------------------------------------------ for a backend composing tiers
    @property
    def depth_budget(self) -> int:
        """Depth budget generated code passes as a trailing ``dp`` argument to
        callees (0: none; see callgraph)."""
        return self.options.stack_frames

    frames_between = staticmethod(wasm_frames)
    """``frames_between(tb, stop)``: this tier's Wasm frames in a traceback,
    innermost first, outside ``stop`` (an earlier head of the same chain)."""

    implicit_trap = staticmethod(implicit_trap)
    """``implicit_trap(exc)``: the Trap a Python error raised by this tier's code
    stands for, or None."""

    def untranslatable(self, module: CompiledModule) -> list[int]:
        """Defined functions of ``module`` this tier cannot translate among those it
        checks at instantiation (what makes ``instantiate`` raise UnsupportedFeature)."""
        return self.prepare(module).untranslatable(self.options)  # type: ignore[no-any-return]

    @staticmethod
    def function_of(code: Any) -> tuple[Any, int] | None:
        """(syntax module, function index) of a code object this tier generated, or
        None (a composing backend's sampler asks what a thread is running)."""
        info = _CODE_REGISTRY.get(code.co_filename)
        if info is None:
            return None
        try:
            return info.art.module, info.funcidx
        except ReferenceError:  # its module is gone
            return None

    @staticmethod
    def translating_codes() -> frozenset[Any]:
        """Code objects on the stack of a thread that is translating a function (a
        sampler's frames below them belong to the caller that asked, not to its
        interp code running)."""
        return frozenset({ModuleArtifact.translated.__code__})

    def used(self, module: CompiledModule) -> list[int]:
        """Defined functions of ``module`` some instance bound for a call, in
        first-use order (a composing backend compiles what the program ran)."""
        return list(self.prepare(module).used)

    @staticmethod
    def override(state: Any, idx: int, fn: Any) -> None:
        """Make calls to defined function ``idx`` of the instance whose interp state
        is ``state`` go to ``fn`` (see ``InstanceState.override``); safe from another
        thread."""
        state.override(idx, fn)

    def translate_ahead(self, module: CompiledModule) -> None:
        """Let a worker process translate ``module``'s functions ahead of their first
        calls (a cold start of a big module; see .ahead)."""
        if os.environ.get("NANOPROC_TRANSLATE_AHEAD", "0") != "1":
            return  # off (ahead.enabled's test, without importing it on every cold start)
        from .ahead import start

        start(self.prepare(module), self.options)

    def has_cached_code(self, wasm: bytes) -> bool:
        """Whether the translation cache holds code of module ``wasm`` for this
        engine's options (which was then valid: see codecache.known_valid)."""
        from .codecache import known_valid

        return known_valid(wasm, self.options)

    def last_translation(self, module: CompiledModule) -> tuple[float, float]:
        """When a function of ``module`` was last translated: ``time.monotonic()``
        and ``time.process_time()`` then (its creation if none was)."""
        return self.prepare(module).last_translation  # type: ignore[no-any-return]

    @staticmethod
    def refresh_tables(state: Any) -> None:
        """Rebind the element lists of an instance's tables (``state`` is the
        instance's interp state) after another tier replaced them."""
        state.refresh_tables()
