"""Translation ahead: on a cold start of a big module, a worker process translates
the functions the program is about to call while this process runs the ones it has.

On an empty cache the first result of a 1 MB program is mostly translation (Python
source generated, then ``compile()``d: 60-70% of the run), done lazily on one core
at each function's first call, while a second core sits idle (wasmtime-py compiles
with Cranelift on every core). Here, a compile worker (..workers: never re-imports
the user's program) decodes the module at ``Module()`` time and then translates, a
few at a time, the direct callees of each function this process translated: the
code a program reaches next. A call that needs a function the worker has done
unpacks it (``marshal``, as the translation cache does: see .packed) instead of
translating it; one the worker is translating waits for it (at most ``WAIT``
seconds, then translates it itself); one merely queued is taken off the queue and
translated here. What the worker guessed wrong costs only its own core.

Same code either way: the worker runs the same translator on the same bytes with
the same options (a translation depends on nothing else: see .codecache), and a
packed translation is checked on unpacking (function index, shape), as the
translation cache's are. A worker that dies, errs or cannot be started leaves
every function to this process; at exit the worker is killed (nothing waits).

Only modules with at least ``codecache.MIN_CODE_BYTES`` of code and no
translations in the cache use it, where worker processes may be started; only the
tiered engine asks for it (``TieredBackend.precompile``, a cold-start policy).

**Off by default** (``NANOPROC_TRANSLATE_AHEAD=1`` turns it on): measured on the
start-up suite (notes/issue-10.md, session 10) it takes 9-15% of the program's own
CPU time off its first run when the worker gets a core of its own, but only
~30% of what the worker translates is ever called (calls race it to the likeliest
functions), so the run's CPU time including the worker's grows by 30-50%; on a
loaded machine the (niced) worker gets no CPU and only its start-up is paid. It
stays opt-in until an idle machine shows the wall-time gain worth that.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from .. import threads

if TYPE_CHECKING:
    from .artifact import ModuleArtifact, Translated, TranslationOptions

WAIT = 0.03
"""Most seconds calls wait for a batch the worker is translating (then they
translate its functions themselves)."""
BATCH_BYTES = 6_000
"""Code bytes of one batch sent to the worker (its first function in any case): small
batches keep a call's wait short; each costs a round trip (~0.1 ms)."""
IDLE_EXIT = 2.0
"""Seconds without anything to translate after which the worker is given back to the
pool (a program past its start translates little)."""


LEVELS = 4
"""Likelihood classes of a call (see :func:`calls`)."""
MAX_LEVEL = int(os.environ.get("NANOPROC_AHEAD_LEVEL", "3"))
"""The least likely class of calls translated ahead (0: only the sure ones)."""


def enabled() -> bool:
    """``NANOPROC_TRANSLATE_AHEAD=1`` (off by default: see the module docstring)."""
    return os.environ.get("NANOPROC_TRANSLATE_AHEAD", "0") == "1"


def start(art: ModuleArtifact, options: TranslationOptions) -> Ahead | None:
    """Start translating ahead for ``art`` with ``options`` (see the module
    docstring); None where it does not apply."""
    if art.ahead is not None or not enabled():
        return art.ahead  # (off: nothing more imported on a cold start)
    from .. import workers
    from . import artifact, codecache

    if not workers.workers_available():
        return None
    wasm = art.compiled.binary
    funcs = art.module.funcs
    if wasm is None or len(funcs) < 2 \
            or funcs[-1].code_offset - funcs[0].code_offset < codecache.MIN_CODE_BYTES:
        return None
    # Test hooks that change translations in this process only: the worker would not
    # see them (it starts from the environment's values).
    translate = sys.modules.get(artifact._TRANSLATE)
    if translate is not None and (translate.REFUSE
                                  or translate.FORCE_FLAT != artifact.env_force_flat()):
        return None
    if artifact.CAST_VIEWS != (sys.byteorder == "little"
                               and os.environ.get("NANOPROC_INTERP_CAST", "1") != "0"):
        return None
    cc = art._cache(options)
    if cc is not None and cc.loaded:
        return None  # a second run: its translations come from the cache
    from ..exec.digest import sha256_hex

    digest = art.compiled.artifacts.get("sha256")
    if digest is None:
        digest = art.compiled.artifacts["sha256"] = sha256_hex(wasm)
    ahead = art.ahead = Ahead(art, options, wasm, digest)
    ahead.start()
    return ahead


class Ahead:
    """One module's translation ahead (``ModuleArtifact.ahead``).

    Which functions, in which order: the direct calls of each function translated
    here are sorted by the worker (:func:`calls`) by how likely they are to run; the
    likeliest go first, and among equals the latest caller's (a program runs depth
    first)."""

    def __init__(self, art: ModuleArtifact, options: TranslationOptions, wasm: bytes,
                 digest: str) -> None:
        self.options = options
        self.wasm = wasm
        self.digest = digest
        self.nimp = art.num_imported
        self.offsets = [f.code_offset for f in art.module.funcs]
        self.art_ref = weakref.ref(art)
        self.cond = threading.Condition()
        self.stacks: list[list[int]] = [[] for _ in range(LEVELS)]
        """Callees to send by likelihood class (see :func:`calls`), each a stack: the
        latest caller's on top, its first call first."""
        self.queued: set[int] = set()
        """Functions waiting to be sent (taken off when this process needs them)."""
        self.unclassified: list[int] = []
        """Functions translated here whose calls the worker has not sorted yet."""
        self.inflight: set[int] = set()
        self.ready: dict[int, bytes] = {}
        self.seen: set[int] = set()
        """Functions translated here, queued or sent: never queued again."""
        self.sent_at = 0.0
        """When the batch in flight was sent."""
        self.dead = False
        """The worker is gone (or never came): every function is translated here."""
        self.stats = {"hit": 0, "waited": 0, "late": 0, "here": 0, "sent": 0}

    def start(self) -> None:
        threads.start_daemon(self._pump, "nanoproc translate ahead")

    # ------------------------------------------------------------ this process
    def note(self, t: Translated) -> None:
        """``t`` was translated (or unpacked) here: have its direct calls sorted."""
        with self.cond:
            if self.dead:
                return
            self.seen.add(t.funcidx)
            if any(c >= self.nimp and c not in self.seen for c in t.callees):
                self.unclassified.append(t.funcidx)
                self.cond.notify_all()

    def take(self, funcidx: int) -> bytes | None:
        """The worker's packed translation of ``funcidx`` (waiting for it if the
        worker has it in hand), or None: translate it here."""
        with self.cond:
            data = self.ready.pop(funcidx, None)
            if data is not None:
                self.stats["hit"] += 1
                return data
            if funcidx in self.inflight and not self.dead:
                # WAIT bounds the wait for a batch, not for each of its functions (a
                # worker starved of CPU must not make every call wait)
                left = self.sent_at + WAIT - time.monotonic()
                if left > 0:
                    self.cond.wait_for(lambda: funcidx not in self.inflight or self.dead,
                                       left)
                data = self.ready.pop(funcidx, None)
                if data is not None:
                    self.stats["waited"] += 1
                    return data
                self.stats["late"] += 1
            self.queued.discard(funcidx)
            self.seen.add(funcidx)
            self.stats["here"] += 1
            return None

    # ------------------------------------------------------------ the worker's side
    def _add(self, calls: list[tuple[int, int]]) -> None:
        """Queue what the worker sorted (called with the lock held)."""
        seen = self.seen
        for c, level in reversed(calls):  # the first call on top
            if c not in seen and level <= MAX_LEVEL:
                seen.add(c)
                self.stacks[level].append(c)
                self.queued.add(c)

    def _next(self) -> list[int] | None:
        """The stack to take the next function from (None: nothing queued)."""
        for st in self.stacks:
            if st:
                return st
        return None

    def _batch(self) -> list[int]:
        """The next functions to send (called with the lock held)."""
        batch: list[int] = []
        size = 0
        offsets = self.offsets
        last = len(offsets) - 1
        while (st := self._next()) is not None:
            f = st.pop()
            if f not in self.queued:
                continue  # taken by this process meanwhile
            i = f - self.nimp
            n = (offsets[i + 1] - offsets[i]) if i < last else BATCH_BYTES
            if batch and size + n > BATCH_BYTES:
                st.append(f)  # the next batch's first
                break
            self.queued.discard(f)
            batch.append(f)
            size += n
        self.inflight.update(batch)
        return batch

    def _pump(self) -> None:
        from .. import workers

        p = workers.pool(background=True)
        w = None
        try:
            w = p.acquire()
            if w is None:
                return
            opts = tuple(self.options)
            w.run("translate", next(workers._task_ids), self.digest, self.wasm, opts, [], [])
            while True:
                with self.cond:
                    if not self.cond.wait_for(
                            lambda: self._next() is not None or self.unclassified,
                            IDLE_EXIT):
                        return
                    if self.art_ref() is None:
                        return
                    batch = self._batch()
                    classify, self.unclassified = self.unclassified, []
                    self.sent_at = time.monotonic()
                self.stats["sent"] += len(batch)
                got, sorted_calls = w.run("translate", next(workers._task_ids), self.digest,
                                          self.wasm, opts, batch, classify)
                with self.cond:
                    for f in batch:
                        data = got.get(f)
                        if isinstance(data, bytes) and f in self.inflight:
                            self.ready[f] = data
                    self.inflight.difference_update(batch)
                    for found in sorted_calls:
                        self._add(found)
                    self.cond.notify_all()
        except BaseException:  # the worker died, erred or was killed (exit): work here
            if w is not None:
                w.kill()
                w = None
        finally:
            with self.cond:
                self.dead = True
                self.inflight.clear()
                for st in self.stacks:
                    st.clear()
                self.queued.clear()
                self.cond.notify_all()
            if w is not None:
                p.release(w)


# ---------------------------------------------------------------- in the worker
def prepare(wasm: bytes) -> Any:
    """The worker's state for a module: its interp artifact (bodies decoded lazily;
    the parent validated them)."""
    from ..binary import decode_module
    from ..exec.compiled import CompiledModule
    from ..valid import validate_module
    from .artifact import ModuleArtifact

    module = decode_module(wasm)
    compiled = CompiledModule(module, validate_module(module, bodies=False))
    compiled.binary = wasm
    return ModuleArtifact(compiled)


def work(art: ModuleArtifact, options: tuple[Any, ...], funcs: list[int],
         classify: list[int]) -> tuple[dict[int, bytes], list[list[tuple[int, int]]]]:
    """The worker's task: packed translations of ``funcs`` and the sorted calls of
    each of ``classify`` (see :func:`calls`)."""
    return translate_packed(art, options, funcs), [calls(art, f) for f in classify]


def calls(art: ModuleArtifact, funcidx: int) -> list[tuple[int, int]]:
    """The defined functions ``funcidx`` calls directly, in code order, each with how
    likely the call is to run: 0 at the body's top level before any branch or
    return (it runs whenever the caller does, unless a callee traps or exits), else
    the least block depth of its calls (capped at ``LEVELS - 1``). In the start-up
    suite's programs 91-96% of level-0 callees run, 80-85% of level 1, 70-85% of
    level 2, 50-70% of the deeper ones."""
    nimp = art.num_imported
    level: dict[int, int] = {}
    depth = 0
    straight = True
    top = LEVELS - 1
    for ins in art.module.funcs[funcidx - nimp].instrs:
        name = ins[0].name
        if name in _OPEN:
            depth += 1
        elif name == "end":
            depth -= 1
        elif name in _CALL:
            g = ins[1]
            if g >= nimp:
                k = 0 if straight and depth == 0 else min(max(depth, 1), top)
                if k < level.get(g, LEVELS):
                    level[g] = k
        elif depth == 0 and name in _LEAVE:
            straight = False
    return list(level.items())


_OPEN = frozenset({"block", "loop", "if", "try", "try_table"})
_CALL = frozenset({"call", "return_call"})
_LEAVE = frozenset({"br", "br_if", "br_table", "return", "unreachable", "throw", "rethrow",
                    "throw_ref", "br_on_null", "br_on_non_null", "br_on_cast",
                    "br_on_cast_fail", "return_call", "return_call_indirect",
                    "return_call_ref"})


def translate_packed(art: ModuleArtifact, options: tuple[Any, ...],
                     funcs: list[int]) -> dict[int, bytes]:
    """Packed translations of ``funcs`` (a function that fails is left out: the
    parent translates it and meets the error itself)."""
    from .artifact import TranslationOptions
    from .packed import pack
    from .translate import translate_function

    opts = TranslationOptions(*options)
    out: dict[int, bytes] = {}
    for f in funcs:
        try:
            t = translate_function(art, f, opts)
        except Exception:
            continue
        data = pack(t, art.makes_tail_calls(f))
        if data is not None:
            out[f] = data
    return out
