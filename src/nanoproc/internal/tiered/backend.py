"""Tiered execution: start on the interp tier at once, switch to native code when the
llvm tier has compiled it in the background.

This backend composes two others (given to it by ``api/tiers.py``) through their
public methods; it imports neither tier. Per module:

* ``precompile`` (``Module()``) takes the native code from the compile cache when it
  is there: a warm start runs native code from the first call. Otherwise the
  module is scheduled for a background compile (by worker processes, see
  internal.workers): at once for a big module, after a short while in use for a small
  one (most small modules live too briefly to repay a compile).
* ``instantiate`` gives the instance native code when it is ready, else interp code,
  and records the instance.
* When the code arrives (a background thread links it), each live instance's
  functions are replaced by *switch stubs*. The first stub called, on the thread
  running that store's code, switches the whole instance: the llvm tier binds it
  (its memories, tables and globals are the same objects; tables and globals get
  their native cells), and every function's callers (``FuncInst.call``, the interp
  code's bindings) go to native code from then on. Frames already running in the
  interp tier finish there; their later calls are native.

A module that declares struct or array types runs on the llvm tier from the start
(its instantiation waits for the native code): GC objects are Python objects in the
interp tier and native ones in the llvm tier, and a store holds one kind.

Semantics do not change at the switch: both tiers count fuel the same way and keep
it in the store between calls, check the same epoch deadline, share memories,
tables and globals, and raise the same traps. A trap's backtrace is put together
across tiers: each crossing from interp code into native code (or back) adds the
frames seen so far to the exception and marks how much of its Python traceback was
counted (see :meth:`TieredBackend.fold`).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from .. import threads
from ..errors import UnsupportedFeature
from ..exec.compiled import CompiledModule
from ..exec.exceptions import Thrown, thrown_to_api
from ..exec.gctypes import declares_gc_types
from ..exec.instance import ModuleInstance
from ..exec.trap import HostError, Trap, TrapCode, host_error_result
from . import bounded, units

DELAY = float(os.environ.get("NANOPROC_TIER_DELAY", "0.25"))
"""Seconds a module is in use (instantiated and alive) before its compile may
start; ``NANOPROC_TIER_DELAY=0`` compiles every module at once."""

QUIET = float(os.environ.get("NANOPROC_TIER_QUIET", "2.0"))
"""The compile waits, besides DELAY, for a quiet spell: no function of the module
translated by the interp tier for this much of the process's CPU time (or ten
times as much wall time, for a process that waits). While functions are still
being translated the program is starting up, and a compile competing with it for
the CPU (and for the interpreter lock: loading LLVM) would delay its first result;
once they stop, the program runs the code it has (or waits), and native code
pays. Starting a compile costs the program's thread too (loading LLVM, planning
partitions: decoding every body, under the interpreter lock), so a program done
within a few seconds is better off without one; its next run takes the interp
tier's cached translations (interp/codecache.py)."""

POLL = 0.05
"""Seconds between two checks of a module waiting for its compile to start."""

MAX_BACKGROUND_CODE = int(os.environ.get("NANOPROC_TIER_MAX_CODE", str(8 << 20)))
"""Code section bytes above which a module is not compiled in the background: the
compile is whole-module (per-function tier-up is not built yet), and for a module
this big (CPython for WASI: 99 MB, 32 M instructions) it takes CPU hours and
gigabytes per worker. Such a module stays on the interp tier (slow, not wrong);
``Module.serialize``, ``nanoproc compile`` and the llvm strategy still compile it
when asked."""

_MARK = "_nanoproc_tb_mark"


class TieredArtifact:
    """Per-module state: the two tiers' artifacts and the background compile."""

    def __init__(self, backend: TieredBackend, module: CompiledModule) -> None:
        self.backend = backend
        self.module_ref = weakref.ref(module)
        self.interp_art = backend.interp.prepare(module)
        self._llvm_art: Any = None
        self.code: Any = None
        """The linked native code, once it is ready."""
        self.failed: BaseException | None = None
        """Why native code will never come (unsupported, compile error)."""
        self.state = "idle"  # idle -> scheduled -> compiling -> ready | failed
        self.instances: weakref.WeakSet[ModuleInstance] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._probed = False
        self.in_use_since = 0.0
        self.plan: Any = None
        """The per-function tier-up's state (units.Plan), for a module that uses it."""
        self._stays: bool | None = None
        """Cached :meth:`stays_interp`."""
        self.foreign_caller: Any = None
        """What native code calls for the module's functions on the interp tier (see
        ``TieredBackend.foreign_call``)."""

    def stays_interp(self) -> bool:
        """Whether the module's instances run on the interp tier for good (every
        call of its functions is brief: see .bounded), unless a testing hook asks
        for a switch or native code was given (an AOT artifact)."""
        b = self.backend
        if b.switch_after is not None or b.units_after is not None or not bounded.ENABLED:
            return False
        keep = self._stays
        if keep is None:
            module = self.module_ref()
            keep = self._stays = self.code is None and module is not None \
                and bounded.bounded(module)
        return keep

    @property
    def llvm_art(self) -> Any:
        """The llvm tier's artifact (loading that tier on first use)."""
        art = self._llvm_art
        if art is None:
            module = self.module_ref()
            assert module is not None
            art = self._llvm_art = self.backend.llvm.prepare(module)
        return art

    @llvm_art.setter
    def llvm_art(self, art: Any) -> None:
        self._llvm_art = art

    # ------------------------------------------------------------ readiness
    def ready(self) -> bool:
        """Whether native code is here (loading it from the cache if it is there)."""
        if self.code is not None:
            return True
        if self.failed is not None or self.state == "compiling":
            return False
        if not self._probed:
            # Asked once without loading LLVM: on a cold start, the usual case, the
            # answer is no and the llvm tier is not even imported.
            self._probed = True
            module = self.module_ref()
            if module is not None and self._llvm_art is None \
                    and self.backend.probe_cache(module) is False:
                return False
        elif self._llvm_art is None:
            return False
        try:
            if not self.llvm_art.from_cache():
                return False
            self.code = self.llvm_art.load()
        except Exception as e:  # no llvm tier here, or an entry that cannot be linked
            self.failed = e
            return False
        self.state = "ready"
        return True

    def schedule(self, now: bool = False) -> None:
        """Start the background compile: now, or once the module has been in use for
        DELAY seconds and is quiet (see QUIET)."""
        with self._lock:
            if self.state != "idle" or self.failed is not None:
                return
            if not now and self.too_big():
                return  # stays on the interp tier (see MAX_BACKGROUND_CODE)
            self.state = "scheduled"
            self.in_use_since = time.monotonic()
        if now or DELAY <= 0:
            self._start()
        else:
            self._later()

    def uses_units(self) -> bool:
        """Whether the module gets per-function tier-up (see units.py) instead of a
        whole-module compile: too big for one (``NANOPROC_TIER_UNITS=auto``), or
        always (``always``); never with ``never`` or for a module declaring GC
        types (it runs natively from the start)."""
        m = units.mode()
        if m == "never" or (m == "auto" and not self.too_big()):
            return False
        module = self.module_ref()
        return module is not None and not declares_gc_types(module)

    def too_big(self) -> bool:
        """Whether the module is too big for a background compile."""
        module = self.module_ref()
        funcs = module.module.funcs if module is not None else []
        if len(funcs) < 2:
            return False
        return funcs[-1].code_offset - funcs[0].code_offset > MAX_BACKGROUND_CODE

    def _later(self) -> None:
        threads.start_daemon(self._watch, "nanoproc tier-up watch")

    def _watch(self) -> None:
        """Wait (on a thread of its own) until the compile is due, then start it; give
        up when the module's last instance is gone."""
        time.sleep(DELAY)
        while True:
            module = self.module_ref()
            if module is None or not any(True for _ in self.instances):
                with self._lock:
                    if self.state == "scheduled":
                        self.state = "idle"  # the next instantiation schedules it again
                return
            if self.state != "scheduled":
                return
            now = time.monotonic()
            if now - self.in_use_since >= DELAY and self._quiet(module, now):
                del module
                self._start()
                return
            del module
            time.sleep(POLL)

    def _quiet(self, module: CompiledModule, now: float) -> bool:
        wall, cpu = self.backend.interp.last_translation(module)
        return time.process_time() - cpu >= QUIET or now - wall >= 10 * QUIET

    def _start(self) -> None:
        with self._lock:
            if self.state not in ("scheduled", "idle"):
                return
            self.state = "compiling"
        threads.start_daemon(self._compile, "nanoproc tier-up")

    def _compile(self) -> None:
        try:
            art = self.llvm_art
            art.check_supported()
            art.compile_in_background(self.backend.jobs)
            code = art.load()
        except BaseException as e:  # stay on the interp tier; the reason is kept
            self.failed = e
            self.state = "failed"
            return
        self.code = code
        self.state = "ready"
        self.backend.compiled_count += 1
        for inst in list(self.instances):
            self.backend.offer_switch(inst)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until native code is ready or failed (tests, benchmarks); True if
        ready. Starts the compile if it was not started."""
        if self.ready():
            return True
        self.schedule(now=True)
        if self.state == "scheduled":
            self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.code is None and self.failed is None:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return self.code is not None

    def llvm_may_run(self) -> bool:
        """Whether the llvm tier can run the module (loads that tier)."""
        try:
            return bool(self.llvm_art.check_supported_quietly())
        except Exception as e:  # the llvm tier cannot be loaded here
            self.failed = e
            return False


class SwitchedState:
    """``ModuleInstance.tier_state`` of an instance that switched to native code."""

    __slots__ = ("interp", "native")

    def __init__(self, interp: Any, native: Any) -> None:
        self.interp = interp
        self.native = native

    def release(self) -> None:
        for s in (self.interp, self.native):
            rel = getattr(s, "release", None)
            if rel is not None:
                rel()


class TieredBackend:
    """The ``tiered`` strategy's backend (see the module docstring)."""

    name = "tiered"
    supports_fuel = True
    supports_epochs = True

    def __init__(self, interp: Any, llvm: Any, jobs: int | None = None,
                 probe: Callable[[bytes], bool | None] | None = None) -> None:
        """``llvm`` is the llvm backend, or a function making it (called when native
        code is first needed: a cold start never loads LLVM on the program's
        thread). ``probe(module)`` says whether the compile cache has the module's
        code without loading LLVM, given its bytes (True, False, or None: unknown)."""
        self.interp = interp
        self._llvm: Any = None
        self._make_llvm: Callable[[], Any] | None = None
        if callable(llvm) and not hasattr(llvm, "prepare"):
            self._make_llvm = llvm
        else:
            self._adopt(llvm)
        self._llvm_lock = threading.Lock()
        self._probe = probe
        self.max_wasm_stack = interp.max_wasm_stack
        self.jobs = jobs if jobs is not None else max(1, (os.cpu_count() or 1) - 1)
        """Worker processes one background compile uses (one core is left to the
        running program)."""
        self.compiled_count = 0
        self.switch_after: Callable[[CompiledModule], int] | None = None
        """Testing hook (the differential fuzzer's ``tiered`` engine): when set, an
        instance starts on the interp tier and switches after ``switch_after(module)``
        calls of its functions (counted from Python and from its own code), with the
        native code compiled when that count is reached, whatever the policy says."""
        self.units_after: Callable[[CompiledModule], list[tuple[int, list[int]]]] | None = None
        """Testing hook (the fuzzer's ``tiered-units`` engine): instances get
        per-function tier-up on this schedule (see units.count_units) and no sampler."""
        self.sample_units = os.environ.get("NANOPROC_TIER_SAMPLE", "1") != "0"
        """Whether modules with per-function tier-up are sampled for hot functions
        (tests turn it off and make units themselves: ``TieredArtifact.plan``)."""

    def _adopt(self, llvm: Any) -> None:
        llvm.foreign = self.foreign_call
        self._llvm = llvm

    @property
    def llvm(self) -> Any:
        """The llvm backend (created, and LLVM loaded, on first use)."""
        llvm = self._llvm
        if llvm is None:
            with self._llvm_lock:
                if self._llvm is None:
                    assert self._make_llvm is not None
                    self._adopt(self._make_llvm())
                llvm = self._llvm
        return llvm

    def probe_cache(self, module: CompiledModule) -> bool | None:
        """Whether the compile cache holds the module's native code, answered
        without loading LLVM when possible (None: unknown)."""
        if self._llvm is not None or self._probe is None or module.binary is None:
            return None
        return self._probe(module.binary)

    # ------------------------------------------------------------ Backend
    def prepare(self, module: CompiledModule) -> TieredArtifact:
        art = module.artifacts.get("tiered")
        if art is None:
            art = module.artifacts["tiered"] = TieredArtifact(self, module)
        return art  # type: ignore[no-any-return]

    def precompile(self, module: CompiledModule) -> None:
        """``Module()``: native code from the cache if it is there. Otherwise
        nothing: the compile starts once the module is in use and quiet (see
        QUIET), so it does not compete with the program's start; meanwhile a worker
        may translate ahead for the interp tier (see interp/ahead.py). Nothing for
        a module that stays on the interp tier (see .bounded)."""
        art = self.prepare(module)
        if art.stays_interp():
            return
        if not art.ready() and self.switch_after is None and self.units_after is None:
            self.interp.translate_ahead(module)

    def instantiate(self, inst: ModuleInstance) -> None:
        art = self.prepare(inst.module)
        if art.stays_interp():
            try:
                self.interp.instantiate(inst)  # for good: see .bounded
                return
            except UnsupportedFeature:
                art._stays = False  # the usual way decides (native code, if it runs it)
        if self.switch_after is None and art.ready():
            self.llvm.instantiate(inst)
            return
        if declares_gc_types(inst.module) and art.llvm_may_run():
            # GC objects are Python objects in one tier and native in the other: a
            # module that can make or look into them runs natively from the start.
            if art.wait():
                self.llvm.instantiate(inst)
                return
        try:
            self.interp.instantiate(inst)
        except UnsupportedFeature:
            if self.units_after is None and self.switch_after is None and art.uses_units() \
                    and self._exempt_unit(inst, art):
                return  # the functions interp cannot run are native from the start
            # The interp tier cannot run it: wait for the native code, if any.
            if not art.llvm_may_run() or not art.wait():
                raise
            self.llvm.instantiate(inst)
            return
        art.instances.add(inst)
        if self.units_after is not None:
            units.count_units(self, inst, art, self.units_after(inst.module))
            return
        if self.switch_after is None and art.uses_units():
            self._units_instance(inst, art)
            return
        if self.switch_after is not None:
            self._count_calls(inst, art, self.switch_after(inst.module))
        elif art.code is not None:  # arrived meanwhile
            self.offer_switch(inst)
        else:
            art.schedule()

    def _plan(self, art: TieredArtifact) -> units.Plan:
        """The module's per-function tier-up state (made, and the module given to the
        sampler, on first use)."""
        plan = art.plan
        if plan is None:
            plan = art.plan = units.Plan(self, art)
            plan.warm()  # the units an earlier run made, from the cache (if any)
            if self.sample_units:
                module = art.module_ref()
                assert module is not None
                units.sampler(self).add(module, plan)
        return plan  # type: ignore[no-any-return]

    def _units_instance(self, inst: ModuleInstance, art: TieredArtifact) -> None:
        """A new instance of a module with per-function tier-up: the units made so far
        are offered to it, and the sampler watches the module."""
        fresh = art.plan is None
        plan = self._plan(art)
        if plan.units and not fresh:  # (a fresh plan's warm start offered its units)
            plan.offer(inst)

    def _exempt_unit(self, inst: ModuleInstance, art: TieredArtifact) -> bool:
        """The interp tier refused ``inst``'s module (functions it cannot translate):
        compile those functions as a unit now (or take it from the cache) and
        instantiate on the interp tier with them native from the start, instead of
        waiting for a whole-module compile (CPU hours for CPython-for-WASI). False
        if that cannot be done."""
        plan = self._plan(art)
        if plan.exempt is None:
            module = art.module_ref()
            assert module is not None
            plan.exempt = sorted(self.interp.untranslatable(module))
        bad = plan.exempt
        if not bad:
            return False
        if not set(bad) <= plan.native and not plan.make_unit(bad, background=False):
            return False
        self.interp.instantiate(inst, exempt=frozenset(bad))
        art.instances.add(inst)
        plan.install(inst)  # before any code runs (this is the store's thread)
        return True

    def gc_heap(self, store: Any) -> Any:
        """The store's GC heap: the llvm tier's (modules declaring GC types run there)."""
        return self.llvm.gc_heap(store)

    def has_cached_code(self, wasm: bytes) -> bool:
        """See ``LLVMBackend.has_cached_code`` (the verdict cached with the code);
        asked without loading LLVM when possible."""
        if self.interp.has_cached_code(wasm):
            return True  # the interp tier's translation cache knows it too
        if self._llvm is None and self._probe is not None:
            probe = self._probe(wasm)
            if probe is not None:
                return probe
        try:
            return bool(self.llvm.has_cached_code(wasm))
        except Exception:  # the llvm tier cannot be loaded here: nothing is cached
            return False

    def epoch_changed(self, epoch: int) -> None:
        if self._llvm is not None:  # else no store has native code to tell
            self._llvm.epoch_changed(epoch)

    def store_running(self, st: Any) -> bool:
        """Whether code of store ``st`` is on a stack, in either tier (closing it is
        refused then)."""
        llvm = self._llvm  # not loaded: no store has native code
        return (llvm is not None and bool(llvm.store_running(st))) \
            or bool(self.interp.store_running(st))

    # ------------------------------------------------------------ AOT artifacts
    def serialize_code(self, module: CompiledModule) -> bytes:
        """Complete native code of ``module`` (compiled now if it is not ready)."""
        return self.llvm.serialize_code(module)  # type: ignore[no-any-return]

    def load_serialized(self, module: CompiledModule, payload: bytes) -> None:
        self.llvm.load_serialized(module, payload)
        art = self.prepare(module)
        art.llvm_art = self.llvm.prepare(module)
        art._stays = False  # its native code was asked for
        art.ready()

    # ------------------------------------------------------------ the switch
    def offer_switch(self, inst: ModuleInstance) -> None:
        """Native code for ``inst`` is ready: replace its functions by switch stubs
        (from any thread; the switch itself happens on the store's thread)."""
        state = inst.tier_state
        if state is None or isinstance(state, SwitchedState):
            return
        nimp = inst.module.num_imported_funcs
        budget = self.interp.depth_budget
        ref = weakref.ref(inst)
        for idx in range(nimp, len(inst.funcs)):
            self.interp.override(state, idx, _switch_stub(self, ref, idx, budget))

    def switch(self, inst: ModuleInstance) -> None:
        """Move ``inst`` to native code (on the thread running its store's code)."""
        state = inst.tier_state
        if state is None or isinstance(state, SwitchedState):
            return
        self.llvm.instantiate(inst)
        native = inst.tier_state
        inst.tier_state = SwitchedState(state, native)
        self.interp.refresh_tables(state)
        budget = self.interp.depth_budget
        nimp = inst.module.num_imported_funcs
        for idx in range(nimp, len(inst.funcs)):
            self.interp.override(state, idx, _native_stub(self, native, state, idx, budget))

    def _count_calls(self, inst: ModuleInstance, art: TieredArtifact, count: int) -> None:
        """Install the ``switch_after`` hook's counting stubs (see there)."""
        state = inst.tier_state
        left = [max(1, count)]
        ref = weakref.ref(inst)

        def counting(idx: int) -> Callable[..., Any]:
            target: list[Any] = []

            def stub(*args: Any) -> Any:
                left[0] -= 1
                if left[0] == 0:
                    i = ref()
                    assert i is not None  # it is running
                    if art.wait():
                        self.offer_switch(i)
                    return i.funcs[idx].call(*args)
                if not target:
                    target.append(state.resolve(idx))  # the interp code (the stub stays)
                return target[0](*args)

            return stub

        nimp = inst.module.num_imported_funcs
        for idx in range(nimp, len(inst.funcs)):
            self.interp.override(state, idx, counting(idx))

    # ------------------------------------------------------------ crossing tiers
    def foreign_call(self, inst: Any) -> Callable[..., Any]:
        """What native code calls for the Wasm functions of ``inst`` still on the
        interp tier, as ``caller(fi, *args)``: the function, with its exceptions
        folded (see :meth:`fold`) so that a trap of interp code is a Trap with its
        frames, not a host error. One caller serves every function of the module (the
        llvm tier binds ``fi`` to it in C: a table's worth of records per instance),
        and reads ``fi.call`` at each call: it may not be bound yet (reading it
        translates the function), and it changes when the function gets native code."""
        art = self.prepare(inst.module)
        caller = art.foreign_caller
        if caller is None:
            plan = art.plan
            if art.stays_interp():
                caller = _bounded_caller(self.fold, partial(_tier_up_bounded, weakref.ref(art)),
                                         bounded.CROSSINGS)
            else:
                caller = _foreign_caller(self.fold, plan.crossings if plan is not None else None)
            art.foreign_caller = caller
        return caller  # type: ignore[no-any-return]

    def fold(self, exc: BaseException) -> BaseException:
        """Add the interp frames of ``exc``'s traceback not counted yet to its Wasm
        backtrace, mark the traceback as counted, and turn Python errors of interp
        code into the traps they stand for."""
        mark = getattr(exc, _MARK, None)
        tb = exc.__traceback__
        frames = self.interp.frames_between(tb, mark)
        if isinstance(exc, Trap):
            exc.frames = list(exc.frames) + frames
            _mark(exc, tb)
            return exc
        prior = getattr(exc, "wasm_frames", [])
        if isinstance(exc, HostError | Thrown):
            exc.wasm_frames = prior + frames  # type: ignore[union-attr]
            _mark(exc, tb)
            return exc
        if isinstance(exc, RecursionError):
            trap = Trap.of(TrapCode.STACK_OVERFLOW)
            trap.frames = prior + frames
            return trap
        trap = self.interp.implicit_trap(exc)
        if trap is not None:
            trap.frames = frames
            return trap  # type: ignore[no-any-return]
        return exc

    def convert_exception(self, exc: BaseException) -> BaseException:
        """What the API raises for ``exc`` escaping Wasm code (as either tier does)."""
        out = self.fold(exc)
        if isinstance(out, HostError):
            return host_error_result(out, getattr(out, "wasm_frames", []))
        if isinstance(out, Thrown):
            thrown = thrown_to_api(out)
            thrown.frames = getattr(out, "wasm_frames", [])
            return thrown
        if out is not exc and isinstance(out, Trap):
            out.__cause__ = None
            out.__suppress_context__ = True
        return out

    def __repr__(self) -> str:
        llvm = "llvm (not loaded)" if self._llvm is None else repr(self._llvm)
        return f"<TieredBackend {self.interp!r} + {llvm}>"


def _foreign_caller(fold: Callable[[BaseException], BaseException],
                    crossings: Any) -> Callable[..., Any]:
    """``TieredBackend.foreign_call``'s caller (made once per module: every store's
    records share it); for a module with per-function tier-up it counts the
    crossings (see units.CROSSINGS_PER_SAMPLE)."""
    if crossings is None:
        def call(fi: Any, *args: Any) -> Any:
            try:
                return fi.call(*args)
            except BaseException as e:
                raise fold(e) from None

        return call

    def counted(fi: Any, *args: Any) -> Any:
        crossings[fi.index] += 1
        try:
            return fi.call(*args)
        except BaseException as e:
            raise fold(e) from None

    return counted


def _bounded_caller(fold: Callable[[BaseException], BaseException],
                    give_up: Callable[[Any], None], limit: int) -> Callable[..., Any]:
    """The foreign caller of a module kept on the interp tier for good (see .bounded):
    it counts the calls native code makes into it, and after ``limit`` of them the
    module tiers up as any other (``give_up(instance)``): native code calling a brief
    function in a hot loop would otherwise pay a crossing into Python per call."""
    left = [max(1, limit)]

    def call(fi: Any, *args: Any) -> Any:
        if left[0]:
            left[0] -= 1
            if not left[0]:
                give_up(fi.instance)
        try:
            return fi.call(*args)
        except BaseException as e:
            raise fold(e) from None

    return call


def _tier_up_bounded(ref: Any, inst: Any) -> None:
    """A bounded module's functions were called from native code often: it tiers up
    (its compile starts now; the calling instance switches when the code is ready,
    later instances get the code at instantiation)."""
    art = ref()
    if art is None:
        return
    art._stays = False
    if inst is not None:
        art.instances.add(inst)
    art.schedule(now=True)


def _mark(exc: BaseException, tb: Any) -> None:
    try:
        setattr(exc, _MARK, tb)
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass


def _switch_stub(backend: TieredBackend, ref: Any, idx: int, budget: int) -> Callable[..., Any]:
    """Stands for function ``idx`` once native code is ready: switches the instance,
    then makes the call (natively)."""

    def stub(*args: Any) -> Any:
        inst = ref()
        backend.switch(inst)
        fn = inst.funcs[idx].call
        return fn(*args)

    return stub


def _native_stub(backend: TieredBackend, native: Any, interp_state: Any, idx: int,
                 budget: int) -> Callable[..., Any]:
    """Function ``idx`` of a switched instance until its first call binds its native
    entry (then callers get the entry itself, or a wrapper dropping the interp
    tier's depth argument when the engine has a depth budget)."""

    def stub(*args: Any) -> Any:
        fn = native.bind_call(idx)
        if budget:
            fn = _drop_depth(fn, len(native.inst.funcs[idx].type.params))
        backend.interp.override(interp_state, idx, fn)
        return fn(*args)

    return stub


def _drop_depth(fn: Callable[..., Any], nparams: int) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return fn(*args[:nparams])

    return call
