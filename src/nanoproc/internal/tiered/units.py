"""Per-function tier-up: the hot functions of a module get native code, a few at a
time, while the rest stays on the interp tier.

Used for modules too big for a whole-module compile (see backend.MAX_BACKGROUND_CODE;
CPython for WASI has 89,000 functions) and wherever ``NANOPROC_TIER_UNITS=always``
asks for it. How it goes:

* A sampler thread (one per process) looks every ``INTERVAL`` seconds at what each
  thread runs (``sys._current_frames``): the innermost interp-tier frame of a Wasm
  function counts one sample for it. Sampling costs the running code nothing and
  sees loops as well as calls.
* Calls from native code into a function still on the interp tier are counted
  too (``TieredBackend.foreign_call``): such a crossing costs microseconds the
  sampler does not see.
* Every ``ROUND`` seconds, the functions whose samples and crossings add up to
  ``MIN_HITS`` (decayed by half each round) and not native yet are chosen, hottest
  first, with the small functions they call directly, up to ``BUDGET``
  instructions. A round with no hot function resumes a set an earlier process left
  unfinished (``Plan.resume``), or else takes the functions the program has run on
  the interp tier (``IDLE``): in the end all the code a program runs is native, this
  run's and, through the unit index, the next process's. A chosen set is made
  *piece by piece* (``PIECE`` instructions each, ``Plan.make_pieces``) on a maker
  thread, while the sampler's thread goes on sampling: each piece is a unit,
  compiled at the engine's optimisation level by a compile worker process
  (..workers; IR generation and LLVM outside the program's process), cached,
  listed in the unit index and offered before the next is started; a function
  bigger than a piece is made by a side thread, so that it holds up no other. Hot
  functions go to a worker at the program's own priority (the program runs their
  interp code meanwhile: on a busy machine a niced worker did not finish one before
  a short program ended), an idle round's to a niced one (CPU nobody else wants).
  Where no worker can be had, on the maker thread. Or taken from the compile cache;
  then linked here. An exit kills a worker's compile under way: only that piece is
  lost (the rest of a hot set stays listed as unfinished for the next run).
* Its functions' callers are then given *install stubs* (from the maker thread:
  dict and attribute stores only). The first stub called, on the thread running
  that store's code, binds every unit not bound yet to the instance (llvm/units.py:
  one vmctx per instance, state shared with the interp tier) and points the
  callers of each unit function (interp bindings, ``FuncInst.call``) to its native
  entry. Frames running interp code finish there; their later calls go native.
* A warm start: the units compiled for a module are listed in the compile cache
  (``unit_index``); the first instantiation loads them (on its thread, before any
  code runs: the first calls are native) and installs them as above.

Semantics at each install are those of the whole-instance switch (backend.py):
fuel and the epoch deadline live in the store, memories, tables, globals and data
segments are shared, traps and exceptions crossing tiers are folded by
``TieredBackend.foreign_call`` / ``fold``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from .. import threads
from ..exec.instance import ModuleInstance

if TYPE_CHECKING:
    from .backend import TieredArtifact, TieredBackend

INTERVAL = float(os.environ.get("NANOPROC_TIER_INTERVAL", "0.005"))
"""Seconds between two samples."""
QUIET_INTERVAL = float(os.environ.get("NANOPROC_TIER_QUIET_INTERVAL", "0.2"))
"""Seconds between two samples once they find no interp code running: the interval
doubles from ``INTERVAL`` up to this while samples find none, and is back at
``INTERVAL`` at the first that does (or at a unit made). A sample counts for the
interval it stands for. Waking 200 times a second cost a program running native
code (no interp frame, no crossing) up to 2x its time on a loaded machine: each
wake-up of this thread can cost the program's thread its place on a core."""
ROUND = float(os.environ.get("NANOPROC_TIER_ROUND", "1.0"))
"""Seconds of samples a unit is chosen from."""
MIN_HITS = 3
"""Heat (samples, decayed by half each round they do not make a unit) that makes a
function hot: 15 ms of interp time. Any hot function gets native code, however
small its share: a program's time spread thinly over many functions (CPython's
start-up) is still interp time."""
CROSSINGS_PER_SAMPLE = 500
"""Calls from native code into a function still on the interp tier worth one
sample: a crossing costs microseconds (a host record's callback into Python) that
the sampler never sees (no interp frame runs during it), a sample stands for
``INTERVAL`` of interp time."""
DECAY = 0.5
"""What is left of a function's heat after a round that did not make it native."""
BUDGET = int(os.environ.get("NANOPROC_TIER_BUDGET", "40000"))
"""Instructions in one unit (its hottest function comes in whatever its size)."""
CALLEE_MAX = 2_000
"""Largest direct callee taken into a unit with its hot caller (unsampled)."""
IDLE = os.environ.get("NANOPROC_TIER_IDLE", "1") != "0"
"""Whether rounds with no hot function compile the functions the program has run
(so that its next run, or the next process through the unit index, is native
from the start)."""
IDLE_BUDGET = int(os.environ.get("NANOPROC_TIER_IDLE_BUDGET", "10000"))
"""Instructions in one unit of an idle round: smaller than ``BUDGET``, as idle rounds
run back to back (and where no worker process can be had, a program's exit waits for
the unit being compiled in it, see ``Sampler.stop``)."""
MAX_UNITS = 2_000
"""Units per module (each is a linked object; past this the module stays as is)."""
PIECE = int(os.environ.get("NANOPROC_TIER_PIECE", "4000"))
"""Instructions per piece: a chosen set of functions is made as several units of
this size at most (a bigger function alone, after the others), each compiled,
cached, listed in the unit index and offered as it arrives (``Plan.make_pieces``).
A program that ends while a unit is compiled loses only that piece: the next run
resumes with the rest, so a program run briefly and repeatedly converges (one unit
of 40,000 instructions took longer than a whole yosys run and was lost at every
exit). Calls between pieces go through their records, as between any two units."""
SWITCH = float(os.environ.get("NANOPROC_TIER_SWITCH", "0.0002"))
"""The interpreter's thread switch interval (``sys.setswitchinterval``) while the
sampler's thread makes a unit (0: left alone). Making a unit's IR is Python, holding
the GIL; the program's thread, running native code without the GIL, takes it back at
each call into Python (a host function, a function still on the interp tier) and
waits up to the interval for it: at the default 5 ms, a CPython-for-WASI run that
crosses thousands of times took 3-10x as long while a unit was made."""


def mode() -> str:
    """``NANOPROC_TIER_UNITS``: ``auto`` (per-function tier-up for modules too big
    for a whole-module compile), ``always`` or ``never``."""
    m = os.environ.get("NANOPROC_TIER_UNITS", "auto")
    return m if m in ("auto", "always", "never") else "auto"


class PartialState:
    """``ModuleInstance.tier_state`` of an instance with native units: its interp
    state (which still resolves the functions that have no native code) and its
    native UnitsState."""

    __slots__ = ("interp", "native", "installed")

    def __init__(self, interp: Any, native: Any) -> None:
        self.interp = interp
        self.native = native
        self.installed = 0
        """How many of the plan's units are bound to this instance."""

    def resolve(self, idx: int) -> Callable[..., Any]:
        return self.interp.resolve(idx)  # type: ignore[no-any-return]

    def release(self) -> None:
        for s in (self.interp, self.native):
            rel = getattr(s, "release", None)
            if rel is not None:
                rel()


class Plan:
    """Per-module state of the per-function tier-up (``TieredArtifact.plan``)."""

    def __init__(self, backend: TieredBackend, art: TieredArtifact) -> None:
        self.backend = backend
        self.art_ref = weakref.ref(art)
        self.samples: defaultdict[int, float] = defaultdict(float)
        """Samples since the last round (the sampler's thread adds them; a sample
        taken after a longer interval counts for more, see QUIET_INTERVAL)."""
        self.translating = 0.0
        """Samples since the last round that found the program translating a
        function for the interp tier: it is starting up, not idle (see ``choose``)."""
        self.starting = False
        """Whether the last round found the program translating (``translating``)."""
        self.crossings: Counter[int] = Counter()
        """Calls from native code into functions still on the interp tier since the
        last round (``TieredBackend.foreign_call`` counts them)."""
        self.heat: dict[int, float] = {}
        """Function -> samples (and crossings) not made native yet, decayed."""
        self.units: list[tuple[list[int], Any]] = []
        """(functions, linked code) of every unit, in the order they were made."""
        self.native: set[int] = set()
        """Functions with native code (or in a unit being made)."""
        self.failed: BaseException | None = None
        """Why no unit can be made (the llvm tier cannot load, or refused the first)."""
        self.refused: set[int] = set()
        """Functions of a unit the llvm tier refused after others were made."""
        self.refusal: BaseException | None = None
        self.exempt: list[int] | None = None
        """Functions the interp tier cannot translate (compiled at instantiation; see
        ``TieredBackend._exempt_unit``), once asked."""
        self.warm_done = False
        self.resumed = False
        self.stopped = False
        """Whether a unit's compile was dropped because the interpreter exits."""
        self.pending: list[list[int]] | None = None
        """The unfinished sets of earlier processes not resumed yet (``resume``)."""
        self.big: list[tuple[list[int], bool, bool]] = []
        """Pieces of one big function (with their ``background`` and ``resumable``)
        waiting for the side thread (see ``make_pieces``)."""
        self.side: threading.Thread | None = None
        self.thunks = False
        self.idle = False
        """Whether the last ``choose`` found no hot function (an idle round's unit:
        compiled by a niced worker, see ``Sampler``)."""
        """Whether the host thunks of the module's function types are made."""
        self.lock = threading.Lock()

    # ------------------------------------------------------------ choosing units
    def choose(self) -> list[int]:
        """The next unit's functions (sorted), or [] (see ``choose_ordered``)."""
        return sorted(self.choose_ordered())

    def choose_ordered(self) -> list[int]:
        """The next unit's functions, or []: the hot functions (samples and
        crossings from native code, see MIN_HITS), hottest first, with their small
        direct callees (after them); when none is hot, the functions the program ran
        on the interp tier (first used first: its start-up, which every run
        repeats), unless the program spent the round translating (it is starting
        up: a unit of what it ran so far would compete with it for nothing)."""
        art = self.art_ref()
        module = art.module_ref() if art is not None else None
        if module is None or art is None:
            return []
        heat = self.heat
        for f, n in self.samples.items():
            heat[f] = heat.get(f, 0.0) + n
        self.samples.clear()
        crossed = self.crossings.copy()
        self.crossings.clear()  # increments in between are lost: a little heat
        for f, n in crossed.items():
            heat[f] = heat.get(f, 0.0) + n / CROSSINGS_PER_SAMPLE
        native = self.native
        refused = self.refused
        hot = [f for f, n in sorted(heat.items(), key=lambda fn: -fn[1])
               if n >= MIN_HITS and f not in native and f not in refused]
        budget = BUDGET
        self.idle = not hot
        translating, self.translating = self.translating, 0.0
        self.starting = translating >= MIN_HITS
        if not hot and IDLE and not self.starting:  # (translating: not idle)
            hot = [f for f in self.backend.interp.used(module)
                   if f not in native and f not in refused]
            budget = IDLE_BUDGET
        nimp = module.num_imported_funcs
        mod = module.module
        chosen: dict[int, None] = {}
        size = 0
        for f in hot:
            n = len(mod.funcs[f - nimp].instrs) + 1
            if chosen and size + n > budget:
                continue  # a smaller one may fit
            chosen[f] = None
            size += n
        for f in list(chosen):
            for ins in mod.funcs[f - nimp].instrs:
                if ins[0].name not in ("call", "return_call"):
                    continue
                g = ins[1]
                if g < nimp or g in chosen or g in native or g in refused:
                    continue
                n = len(mod.funcs[g - nimp].instrs) + 1
                if n <= CALLEE_MAX and size + n <= budget:
                    chosen[g] = None
                    size += n
        for f in list(heat):
            if f in chosen or f in native or f in refused:
                del heat[f]
            else:
                heat[f] *= DECAY
                if heat[f] < 0.5:
                    del heat[f]
        return list(chosen)

    def make_unit(self, funcs: list[int], cached_only: bool = False,
                  background: bool = True, resumable: bool = False) -> bool:
        """Compile (or load) and link the unit of ``funcs``, then offer it to every
        instance. False if it could not be made (the functions stay interp).
        ``background=False``: a worker at the program's priority (else a niced one).
        ``resumable``: listed as unfinished until made (see ``note_pending``)."""
        art = self.art_ref()
        module = art.module_ref() if art is not None else None
        if module is None or art is None:
            return False
        self.native.update(funcs)
        pending = False
        try:
            if not self.thunks:
                # here, not on the store's thread, where making a thunk would wait for
                # LLVM's lock while a unit compiles (tens of seconds)
                self.backend.llvm.unit_thunks(module)
                self.thunks = True
            if resumable and not cached_only:
                note_pending(self.backend, module, funcs, True)
                pending = True
            code = self.backend.llvm.compile_unit(module, funcs, cached_only,
                                                  background=background)
        except Exception as e:  # unsupported here, LLVM failed: stay on the interp tier
            from ..workers import ShuttingDown

            if isinstance(e, ShuttingDown):
                self.native.difference_update(funcs)
                self.stopped = True
                return False  # the exit killed its compile: not refused
            if pending:
                note_pending(self.backend, module, funcs, False)  # not worth a retry
            self.native.difference_update(funcs)
            if self.units:  # the tier works: these functions stay interp, the rest go on
                self.refused.update(funcs)
                self.refusal = e
            else:
                self.failed = e
            return False
        if code is None:
            self.native.difference_update(funcs)
            return False
        with self.lock:
            self.units.append((funcs, code))
        if not cached_only:
            remember_unit(self.backend, module, funcs)
            if pending:
                note_pending(self.backend, module, funcs, False)
        for inst in list(art.instances):
            self.offer(inst, [(funcs, code)])
        return True

    def make_pieces(self, funcs: list[int], background: bool = True,
                    resumable: bool = False) -> int:
        """Make the unit of ``funcs`` (in the order they were chosen) piece by piece
        (``pieces``): each piece its own unit, compiled, cached, indexed and offered
        before the next is started. ``resumable``: the pieces not made yet are
        listed as unfinished (``note_pending``) until every piece is made or
        refused, so that an exit loses only the piece under way. A function bigger
        than a piece goes to a side thread (``_side``) when workers compile: its
        compile may outlast a whole run (yosys's 64,000-instruction AST function), and
        made here it would hold up every other piece at each run until then. How
        many pieces were made here."""
        art = self.art_ref()
        module = art.module_ref() if art is not None else None
        if module is None or art is None or not funcs:
            return 0
        todo = pieces(module, funcs)
        from ..workers import workers_available

        if workers_available():
            big = [p for p in todo if len(p) == 1 and _size(module, p[0]) > PIECE]
            if big:
                todo = todo[: len(todo) - len(big)]  # (pieces puts them last)
                self._to_side(module, big, background, resumable)
        entry = sorted(f for p in todo for f in p)
        listed = resumable and len(todo) > 1
        if listed:
            note_pending(self.backend, module, entry, True)
        made = 0
        for i, piece in enumerate(todo):
            if _stopping():
                return made  # the exit (a compile in this thread would be waited for)
            if self.failed is not None or len(self.units) >= MAX_UNITS:
                break
            if self.make_unit(piece, background=background,
                              resumable=resumable and not listed):
                made += 1
            elif self.stopped:
                return made  # the exit: the rest stays listed
            if listed and i + 1 < len(todo):
                rest = sorted(f for p in todo[i + 1:] for f in p)
                note_pending(self.backend, module, entry, False, rest)
                entry = rest
        if listed:
            note_pending(self.backend, module, entry, False)
        return made

    def _to_side(self, module: Any, big: list[list[int]], background: bool,
                 resumable: bool) -> None:
        """Queue ``big`` (pieces of one function each) for the side thread, which
        makes them one at a time (started if it is not running); each listed as
        unfinished now when ``resumable``."""
        for piece in big:
            if resumable:
                note_pending(self.backend, module, piece, True)
        with self.lock:
            self.native.update(f for p in big for f in p)  # not chosen again meanwhile
            # (hot: at the program's priority, as the others: a niced worker finished
            # nothing within a run on a busy machine, see ``Sampler``)
            self.big.extend((p, background, resumable) for p in big)
            if self.side is None:
                self.side = threads.start_daemon(self._side, "nanoproc tier-up side")

    def _side(self) -> None:
        """The side thread: makes the queued pieces of big functions (see
        ``make_pieces``) while the sampler's thread goes on with other units. At
        exit its compile is dropped like the sampler's (``Sampler.stop`` waits
        only for a link under way)."""
        while True:
            with self.lock:
                if not self.big or _stopping() or self.failed is not None:
                    self.side = None
                    return
                piece, background, resumable = self.big.pop(0)
            with _side_busy:
                if not _stopping():
                    self.make_unit(piece, background=background, resumable=resumable)

    def warm(self) -> None:
        """Load the units an earlier run compiled (see ``unit_index``); once."""
        with self.lock:
            if self.warm_done:
                return
            self.warm_done = True
        art = self.art_ref()
        module = art.module_ref() if art is not None else None
        if module is None:
            return
        try:
            sets = unit_index(self.backend, module)
        except Exception as e:  # no llvm tier here
            self.failed = e
            return
        for funcs in sets:
            if self.failed is not None or len(self.units) >= MAX_UNITS:
                return
            if not set(funcs) & self.native:
                self.make_unit(funcs, cached_only=True)

    def resume(self, limit: int | None = None) -> bool:
        """Make the units an earlier process started but did not finish (see
        ``note_pending``), the latest first, at the program's priority: ``limit``
        sets of them at most (the sampler's maker thread takes the latest before
        the first round, the others in rounds with nothing hot, see
        ``Sampler._run``). Whether sets are left."""
        self.resumed = True
        art = self.art_ref()
        module = art.module_ref() if art is not None else None
        if module is None or self.failed is not None:
            return False
        if self.pending is None:
            try:
                self.pending = unit_index(self.backend, module, "pending")
            except Exception:  # no llvm tier here
                self.pending = []
        sets = self.pending
        while sets and limit != 0:
            funcs = sets.pop()  # the latest first
            if limit is not None:
                limit -= 1
            if self.failed is not None or len(self.units) >= MAX_UNITS or self.stopped:
                return False
            rest = [f for f in funcs if f not in self.native and f not in self.refused]
            if rest != funcs:  # some pieces were made (the warm start loaded them)
                note_pending(self.backend, module, funcs, False, rest or None)
            if rest:
                self.make_pieces(rest, background=False, resumable=True)
        return bool(sets)

    # ------------------------------------------------------------ installing
    def offer(self, inst: ModuleInstance,
              pending: list[tuple[list[int], Any]] | None = None) -> None:
        """Give the functions of units not bound to ``inst`` install stubs (from any
        thread; the binding happens on the thread running the store's code).
        ``pending``: only those units (a unit just made: the earlier ones were
        offered already; offering every unbound unit at each of a warm start's ~70
        units was quadratic)."""
        state = inst.tier_state
        if state is None:
            return
        interp_state = getattr(state, "interp", state)
        if pending is None:
            done = state.installed if isinstance(state, PartialState) else 0
            with self.lock:
                pending = self.units[done:]
        ref = weakref.ref(inst)
        for funcs, _code in pending:
            for f in funcs:
                self.backend.interp.override(interp_state, f, _install_stub(self, ref, f))

    def install(self, inst: ModuleInstance) -> None:
        """Bind every unit not bound yet to ``inst`` (on its store's thread)."""
        state = inst.tier_state
        if state is None:
            return
        with self.lock:
            units = list(self.units)
        todo = units
        if isinstance(state, PartialState):
            if state.installed >= len(units):
                return
            interp_state = state.interp
            todo = units[state.installed:]
            state.native.add_units([(code, funcs) for funcs, code in todo])
        else:
            interp_state = state
            native = self.backend.llvm.units_state(inst, [(code, funcs) for funcs, code in todo])
            state = PartialState(interp_state, native)
            inst.tier_state = state
            self.backend.interp.refresh_tables(interp_state)
        budget = self.backend.interp.depth_budget
        override = self.backend.interp.override
        ref = weakref.ref(inst)
        for funcs, _code in todo:
            for f in funcs:
                override(interp_state, f, _entry_stub(ref, f, budget, override))
        state.installed += len(todo)


def _install_stub(plan: Plan, ref: Any, idx: int) -> Callable[..., Any]:
    """Stands for function ``idx`` once a unit with it is ready: binds the units to
    the instance, then makes the call (natively). A partial, not a closure: two
    objects per function and instance instead of five (each a survivor counting
    towards a full collection of the cyclic GC; CPython-for-WASI's instances have
    2,400 unit functions)."""
    return partial(_install_call, plan, ref, idx)


def _install_call(plan: Plan, ref: Any, idx: int, *args: Any) -> Any:
    inst = ref()
    plan.install(inst)
    return inst.funcs[idx].call(*args)


def _entry_stub(ref: Any, f: int, budget: int,
                override: Callable[..., None]) -> Callable[..., Any]:
    """Function ``f`` of a unit bound to the instance ``ref()``, until its first call
    from Python (interp code, ``FuncInst.call``) makes its native entry and puts that
    in its place: most unit functions are only ever called from native code, which
    needs no entry (an instance of CPython-for-WASI has thousands). Holds the
    instance weakly: the stub sits in the instance's own overrides. A partial, as
    ``_install_stub``."""
    return partial(_entry_call, ref, f, budget, override)


def _entry_call(ref: Any, f: int, budget: int, override: Callable[..., None],
                *args: Any) -> Any:
    state = ref().tier_state
    fn = state.native.bind_call(f)
    if budget:
        fn = _drop_depth(fn, len(state.native.inst.funcs[f].type.params))
    override(state.interp, f, fn)
    return fn(*args)


def _drop_depth(fn: Callable[..., Any], nparams: int) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return fn(*args[:nparams])

    return call


def count_units(backend: TieredBackend, inst: ModuleInstance, art: TieredArtifact,
                schedule: list[tuple[int, list[int]]]) -> None:
    """Testing hook (``TieredBackend.units_after``): after ``n`` calls of the
    instance's functions (counted by stubs, so inside a running call too), make the
    unit of ``funcs`` and install it, for each ``(n, funcs)`` of ``schedule`` (in
    increasing ``n``), whatever the sampler would choose."""
    plan = art.plan
    if plan is None:
        plan = art.plan = Plan(backend, art)
    state = inst.tier_state
    count = [0]
    todo = sorted(schedule)
    ref = weakref.ref(inst)
    nimp = inst.module.num_imported_funcs

    def counting(idx: int) -> Callable[..., Any]:
        target: list[Any] = []

        def stub(*args: Any) -> Any:
            count[0] += 1
            made = False
            while todo and todo[0][0] <= count[0]:
                _, funcs = todo.pop(0)
                funcs = sorted(set(funcs) - plan.native)
                if funcs and plan.make_unit(funcs, background=False):  # the call waits
                    made = True
            if made:
                i = ref()
                assert i is not None  # it is running
                return i.funcs[idx].call(*args)
            if not target:
                i = ref()
                assert i is not None  # it is running
                # the interp code (the stub stays); the instance's state is not held
                # here: the stub is in its overrides, and a cycle would keep the
                # instance for the cyclic GC
                target.append(getattr(i.tier_state, "interp", i.tier_state).resolve(idx))
            return target[0](*args)

        return stub

    if todo:
        for idx in range(nimp, len(inst.funcs)):
            backend.interp.override(state, idx, counting(idx))
    if plan.units:  # made for an earlier instance
        plan.offer(inst)


def _size(module: Any, f: int) -> int:
    return len(module.module.funcs[f - module.num_imported_funcs].instrs) + 1


def pieces(module: Any, funcs: list[int]) -> list[list[int]]:
    """``funcs`` (in the order chosen) cut into units of ``PIECE`` instructions at
    most, each sorted; a function bigger than that alone, after the others (its
    compile is the longest, and the likeliest to be cut short by an exit)."""
    out: list[list[int]] = []
    big: list[list[int]] = []
    current: list[int] = []
    size = 0
    for f in funcs:
        n = _size(module, f)
        if n > PIECE:
            big.append([f])
            continue
        if current and size + n > PIECE:
            out.append(sorted(current))
            current, size = [], 0
        current.append(f)
        size += n
    if current:
        out.append(sorted(current))
    return out + big


# ---------------------------------------------------------------- the unit index
def _index_key(backend: TieredBackend, module: Any, name: str = "units") -> str:
    from ..llvm import cache
    from ..llvm.compiler import module_digest

    return cache.cache_key(f"{module_digest(module)}:{name}", backend.llvm.options.key())


def _quick_index_key(backend: TieredBackend, module: Any, name: str = "units") -> str | None:
    """The index's key computed without loading LLVM, or None when that cannot be
    done (then the llvm tier is loaded to compute it)."""
    from ..exec.digest import sha256_hex
    from ..llvm import cache

    config = getattr(backend._probe, "config", None)
    if config is None or module.binary is None or cache.cache_dir() is None:
        return None
    digest = module.artifacts.get("sha256")  # llvm.compiler.module_digest's, kept there
    if digest is None:
        digest = module.artifacts["sha256"] = sha256_hex(module.binary)
    return cache.quick_key(f"{digest}:{name}", config) or ""


def unit_index(backend: TieredBackend, module: Any, name: str = "units") -> list[list[int]]:
    """The function sets of the units compiled for ``module`` (compile cache),
    asked without loading LLVM when possible (a cold start has nothing cached).
    ``name="pending"``: the units started but not finished (see ``note_pending``)."""
    from ..llvm import cache

    key = _quick_index_key(backend, module, name) if backend._llvm is None else None
    if key == "":
        return []  # nothing was ever compiled into this cache on this machine
    if key is None:
        key = _index_key(backend, module, name)
    got = cache.load(key)
    out = []
    for entry in got or ():
        try:
            out.append([int(x) for x in entry.decode().split(",") if x])
        except ValueError:
            return []  # damaged: nothing cached (the checksum makes this unlikely)
    return out


_index_lock = threading.Lock()

MAX_PENDING = 16
"""Unfinished units remembered per module (the latest)."""


def note_pending(backend: TieredBackend, module: Any, funcs: list[int], started: bool,
                 rest: list[int] | None = None) -> None:
    """Remember (``started``) or forget the unit of ``funcs`` as unfinished: a program
    ending while a worker compiles a unit kills the worker (the exit does not wait),
    and the next process makes that unit first (``Plan.resume``); without this, a
    short program whose hot unit takes longer to compile than what is left of its
    run would lose it at every exit. ``rest`` (when forgetting): what is left of it,
    listed in its place (a unit made piece by piece, see ``Plan.make_pieces``)."""
    from ..llvm import cache

    entry = ",".join(map(str, funcs)).encode()
    with _index_lock:
        key = _index_key(backend, module, "pending")
        old = list(cache.load(key) or ())
        entries = [e for e in old if e != entry]
        if started:
            entries = [*entries[-(MAX_PENDING - 1):], entry]
        elif rest:
            new = ",".join(map(str, rest)).encode()
            at = old.index(entry) if entry in old else len(old)
            entries = [e for e in old[:at] if e != new] + [new]
            entries += [e for e in old[at + 1:] if e != new]
            entries = entries[-MAX_PENDING:]
        cache.store(key, entries)


def remember_unit(backend: TieredBackend, module: Any, funcs: list[int]) -> None:
    """Add a unit to the module's index in the compile cache."""
    from ..llvm import cache

    with _index_lock:
        key = _index_key(backend, module)
        entries = list(cache.load(key) or ())
        entries.append(",".join(map(str, funcs)).encode())
        cache.store(key, entries)


# ---------------------------------------------------------------- the sampler
class Sampler:
    """The process's sampler thread (see the module docstring)."""

    def __init__(self, backend: TieredBackend) -> None:
        self.function_of = backend.interp.function_of
        self.translating: frozenset[Any] = backend.interp.translating_codes()
        """Code of the interp tier's translation: a thread with it on its stack is
        translating a function, not running the interp code of the Wasm frame below
        (its caller): such a sample counts for no function (``Plan.translating``).
        Counted, a program's start-up (translation bursts) made its parsers "hot":
        boolector's first unit was the callers of the functions being translated,
        not its solver loop."""
        self.plans: weakref.WeakValueDictionary[int, Plan] = weakref.WeakValueDictionary()
        """id of a module's syntax tree -> its plan."""
        self.keep: dict[int, Any] = {}
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.busy = threading.Lock()
        """Held while this thread loads or the maker thread makes a unit (LLVM at work)."""
        self.maker: threading.Thread | None = None
        """The thread making units (one at a time), see ``_make``."""
        self.stopping = False

    def stop(self) -> None:
        """No unit is started from now on (at exit). A unit a worker process compiles
        is dropped (the background workers are killed: the exit does not wait for
        it, and the cache never sees a part of it); one compiled in this process
        (no workers here) is waited for: the interpreter's teardown frees LLVM
        objects a compile in a daemon thread still uses, and LLVM aborts the
        process."""
        from .. import workers

        self.stopping = True
        workers.abandon()
        with self.busy, _side_busy:
            pass

    def add(self, module: Any, plan: Plan) -> None:
        with self.lock:
            self.plans[id(module.module)] = plan
            if self.thread is None:
                self.thread = threads.start_daemon(self._run, "nanoproc tier-up sampler")

    def _run(self) -> None:
        next_round = time.monotonic() + ROUND
        interval = INTERVAL
        while True:
            with self.lock:
                if not self.plans or self.stopping:
                    self.thread = None
                    return
            for plan in list(self.plans.values()):
                if not plan.warm_done:
                    with self.busy:
                        if not self.stopping:
                            plan.warm()
                if not plan.resumed and not self.making():
                    plan.resumed = True
                    self._make(partial(plan.resume, 1))  # the set the last exit cut
            time.sleep(interval)
            hit = self.sample(interval / INTERVAL)
            interval = INTERVAL if hit else min(interval * 2, max(INTERVAL, QUIET_INTERVAL))
            now = time.monotonic()
            if now >= next_round and not self.making():
                # (while a unit is made, samples add up for the next round)
                for plan in list(self.plans.values()):
                    if plan.failed is None and len(plan.units) < MAX_UNITS:
                        if plan.crossings:
                            interval = INTERVAL  # native code calls interp code
                        work = round_work(plan)
                        if work is not None:
                            interval = INTERVAL
                            self._make(work)
                            break
                next_round = time.monotonic() + ROUND

    def making(self) -> bool:
        """Whether the maker thread is making units."""
        maker = self.maker
        return maker is not None and maker.is_alive()

    def _make(self, work: Callable[[], Any]) -> None:
        """Run ``work`` (making units) on the maker thread, so that this thread keeps
        sampling meanwhile (a unit of yosys takes seconds to compile: the sampler
        saw its program only between units, and chose the next unit from a few
        samples). Holds ``busy`` (see ``stop``)."""

        def run() -> None:
            with self.busy:
                if self.stopping:
                    return
                with _switching():
                    work()

        self.maker = threads.start_daemon(run, "nanoproc tier-up maker")

    def sample(self, weight: float = 1.0) -> bool:
        """Count ``weight`` samples for the interp function each thread runs (its
        innermost Wasm frame on the interp tier); whether any was found."""
        me = threading.get_ident()
        function_of = self.function_of
        translating = self.translating
        plans = self.plans
        frames = sys._current_frames()
        frame: Any = None
        found = False
        try:
            for tid, frame in frames.items():
                if tid == me:
                    continue
                depth = 0
                busy = False
                while frame is not None and depth < 64:
                    code = frame.f_code
                    if code in translating:
                        busy = True  # (see ``translating``)
                    elif (hit := function_of(code)) is not None:
                        plan = plans.get(id(hit[0]))
                        if plan is not None:
                            if busy:
                                plan.translating += weight
                            else:
                                plan.samples[hit[1]] += weight
                            found = True
                        break
                    frame = frame.f_back
                    depth += 1
        finally:
            del frames, frame
        return found


@contextlib.contextmanager
def _switching() -> Iterator[None]:
    """``SWITCH`` as the switch interval for the block (restored after, unless
    someone changed it meanwhile)."""
    old = sys.getswitchinterval()
    if not SWITCH or SWITCH >= old:
        yield
        return
    sys.setswitchinterval(SWITCH)
    mine = sys.getswitchinterval()  # as the interpreter stores it (microseconds)
    try:
        yield
    finally:
        if sys.getswitchinterval() == mine:
            sys.setswitchinterval(old)


def round_work(plan: Plan) -> Callable[[], Any] | None:
    """What a round gives the maker thread for ``plan``, or None: the hot functions
    (``Plan.choose_ordered``) at the program's priority; with nothing hot, the next
    set an earlier process left unfinished (hot then; ``Plan.resume``), unless the
    program spent the round translating; else the idle round's set, on the niced
    workers (lost at an exit, not listed)."""
    funcs = plan.choose_ordered()
    if plan.starting and not funcs:
        return None  # its start-up: no unit to compete with it (see Plan.translating)
    if (not funcs or plan.idle) and (plan.pending or plan.pending is None):
        return partial(plan.resume, 1)
    if not funcs:
        return None
    return partial(plan.make_pieces, funcs, background=plan.idle, resumable=not plan.idle)


_SAMPLER: Sampler | None = None
_sampler_lock = threading.Lock()
_side_busy = threading.Lock()
"""Held while a side thread (``Plan._side``) loads or compiles a unit."""


def _stopping() -> bool:
    """Whether the interpreter exits (the sampler was stopped)."""
    return _SAMPLER is not None and _SAMPLER.stopping


def sampler(backend: TieredBackend) -> Sampler:
    global _SAMPLER
    with _sampler_lock:
        if _SAMPLER is None:
            _SAMPLER = Sampler(backend)
            atexit.register(_SAMPLER.stop)
        return _SAMPLER
