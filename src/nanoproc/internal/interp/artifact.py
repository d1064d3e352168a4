"""What the interp tier keeps per module: static facts and translated code.

One :class:`ModuleArtifact` lives in ``CompiledModule.artifacts["interp"]`` and is
shared by every instance of the module: functions are translated once, on their
first call in any instance, and the code objects are reused by all instances
(each binds them to its own globals).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import CodeType
from typing import Any, NamedTuple

from ..errors import UnsupportedFeature
from ..exec.compiled import CompiledModule
from ..records import Record
from ..syntax.ops import BY_NAME
from ..syntax.types import FuncType

_TRANSLATE = __name__.rpartition(".")[0] + ".translate"
"""The translator's module name: it is imported only to translate (~15 ms CPU), so
code that only asks about it looks in ``sys.modules``."""


def env_force_flat() -> int | None:
    """``translate.FORCE_FLAT``'s start value: the ``NANOPROC_INTERP_FLAT`` variable."""
    env = os.environ.get("NANOPROC_INTERP_FLAT")
    return int(env) if env else None


def force_flat() -> int | None:
    """The flat-lowering bound in force, without importing the translator: its flag
    once imported (tests set it), else the value it starts with."""
    translate = sys.modules.get(_TRANSLATE)
    return translate.FORCE_FLAT if translate is not None else env_force_flat()

INTERP_FEATURES = frozenset({"exceptions"})
"""Features beyond the core the interp tier runs (see exec/features)."""

CAST_VIEWS = sys.byteorder == "little" and os.environ.get("NANOPROC_INTERP_CAST", "1") != "0"

TAIL_OPS = frozenset(
    BY_NAME[n] for n in ("return_call", "return_call_indirect", "return_call_ref")
)

class TranslationOptions(NamedTuple):
    """What changes generated code: part of the code cache key, so one module can be
    translated several ways (engines with and without metering) side by side."""

    fuel: bool = False
    """Meter fuel (docs/fuel.md): a local counter, synced with ``StoreState.fuel``."""
    epochs: bool = False
    """Check the engine's epoch against the store's deadline at entries and loops."""
    stack_frames: int = 0
    """Depth budget of recursive functions per entry from the host (see callgraph);
    0 for none (the engines allowed the most rely on Python's recursion limit)."""


DEFAULT_OPTIONS = TranslationOptions()


class Translated(Record):
    """The result of translating one function."""

    __slots__ = __match_args__ = ("funcidx", "source", "code", "body_code", "consts", "funcrefs",
                                  "tail_targets", "cast_memories", "callees", "line_pcs")  # fmt: skip
    funcidx: int
    source: str
    code: CodeType
    """Code of the function as called (the trampoline entry for tail-calling ones)."""
    body_code: CodeType | None
    """For functions that make tail calls: the body, which returns TailCall markers."""
    consts: dict[str, Any]
    """Extra globals the code needs (NaN constants, ...)."""
    funcrefs: frozenset[int]
    """Function indices whose FuncInst the code references (ref.func): ``F<idx>``."""
    tail_targets: frozenset[int]
    """Functions whose body ``b<idx>`` the code tail-calls directly."""
    cast_memories: frozenset[int]
    """Memories whose cast views (``MI<m>``, ``MQ<m>``, ``MD<m>``) the code reads."""
    callees: tuple[int, ...]
    """Functions the code calls by name (``f<idx>``)."""
    line_pcs: tuple[int, ...]
    """Line of the source -> index of its instruction (the trap-frame table)."""

    def __init__(self, funcidx: int, source: str, code: CodeType, body_code: CodeType | None,
                 consts: dict[str, Any], funcrefs: frozenset[int], tail_targets: frozenset[int],
                 cast_memories: frozenset[int], callees: tuple[int, ...],
                 line_pcs: tuple[int, ...] = ()) -> None:  # fmt: skip
        self.funcidx = funcidx
        self.source = source
        self.code = code
        self.body_code = body_code
        self.consts = consts
        self.funcrefs = funcrefs
        self.tail_targets = tail_targets
        self.cast_memories = cast_memories
        self.callees = callees
        self.line_pcs = line_pcs


class ModuleArtifact:
    """Per-module state of the interp tier."""

    def __init__(self, module: CompiledModule) -> None:
        self.compiled = module
        mod = module.module
        self.module = mod
        self.types = module.types
        self.num_imported = module.num_imported_funcs
        self.num_imported_mems = sum(1 for imp in mod.imports if imp.kind == "memory")
        self.func_types: list[FuncType] = module.func_types
        self.mem_addr64 = [m.limits.addr64 for m in mod.memory_types()]
        self.mem_max_bytes = [
            m.limits.max * m.page_size if m.limits.max is not None
            else 1 << (64 if m.limits.addr64 else 32)
            for m in mod.memory_types()
        ]
        """The most bytes each memory can ever hold (what an access can never pass)."""
        self.mem_castable = [
            CAST_VIEWS and m.page_size % 8 == 0 for m in mod.memory_types()
        ]
        """Memories whose views can be cast to 4- and 8-byte items (sizes are multiples
        of 8 and the machine is little-endian): aligned loads then index the cast."""
        self.table_addr64 = [t.limits.addr64 for t in mod.table_types()]
        self.global_types = mod.global_types()
        nfuncs = len(module.func_types)
        self.func_names = [f"f{i}" for i in range(nfuncs)]
        """Global names of the functions (precomputed: instantiation is hot)."""
        self.entity_names = (
            [(f"M{m}", f"MEM{m}") for m in range(len(self.mem_addr64))],
            [(f"T{t}", f"TAB{t}") for t in range(len(self.table_addr64))],
            [(f"G{g}" if gt.mutable else f"g{g}", gt.mutable)
             for g, gt in enumerate(self.global_types)],
        )
        self.name = module.name
        self.code: dict[tuple[int, TranslationOptions], Translated] = {}
        self.code_infos: list[Any] = []
        """Trap-frame records of the generated code (see frames.register_code)."""
        self._tail: dict[int, bool] = {}
        self._recursive: frozenset[int] | None = None
        self._lock = threading.Lock()
        self.last_translation = (time.monotonic(), time.process_time())
        """When the last function was translated (wall clock, this process's CPU
        time): a tiered engine waits for a quiet spell before compiling natively."""
        self.used: dict[int, None] = {}
        """Defined functions bound for a call in some instance, in first-use order (a
        composing backend compiles what a program ran; see ``InterpBackend.used``)."""
        self._unsupported: str | None | bool = False
        self.binder: Any = None
        """``bind(state, inst) -> G``, generated on first instantiation (binding)."""
        self.declares_gc: bool | None = None
        """Whether the module declares GC types (asked at every instantiation)."""
        """``bind(state, inst) -> G``, generated on first instantiation (binding)."""
        """False: not scanned yet; None: fine; str: the missing feature."""
        self.ahead: Any = None
        """The worker translating ahead of this process (.ahead.Ahead), if any."""
        self._caches: dict[TranslationOptions, Any] = {}
        """Options -> the translation cache (codecache.CodeCache, or None: not cached)."""

    # ------------------------------------------------------------ features
    def check_supported(self) -> None:
        """Raise UnsupportedFeature if the module needs a feature this tier lacks."""
        if self._unsupported is None:
            return
        if self._unsupported is False:
            self._unsupported = self.compiled.unsupported_feature(INTERP_FEATURES)
        if self._unsupported:
            raise UnsupportedFeature(str(self._unsupported), "in the interp tier")

    def translate_risky(self, options: TranslationOptions,
                        exempt: frozenset[int] = frozenset()) -> None:
        """Translate now the functions whose translation may fail, so that
        UnsupportedFeature is raised at instantiation, before any code runs;
        ``exempt``: functions a composing backend runs itself (never translated).
        Since handlers are flat (see .flat_exc) every nesting translates and no
        function is known to fail: only ``translate.REFUSE`` (a test hook) names some,
        so nothing is decoded or translated here."""
        for f in self._risky():
            if f not in exempt:
                self.translated(f, options)

    def _risky(self) -> list[int]:
        # Asked at every instantiation: a function-level ``from . import`` costs more
        # than the rest of it, and REFUSE is empty unless a test imported the module.
        translate = sys.modules.get(_TRANSLATE)
        if translate is None or not translate.REFUSE:
            return []
        first = self.num_imported
        return [f for f in sorted(translate.REFUSE) if first <= f < first + len(self.module.funcs)]

    def untranslatable(self, options: TranslationOptions) -> list[int]:
        """The functions :meth:`translate_risky` checks that this tier cannot
        translate."""
        from ..errors import UnsupportedFeature

        out = []
        for f in self._risky():
            try:
                self.translated(f, options)
            except UnsupportedFeature:
                out.append(f)
        return out

    # ------------------------------------------------------------ static facts
    def block_arity(self, bt: Any) -> tuple[int, int]:
        if bt is None:
            return 0, 0
        if isinstance(bt, int):
            ft = self.module.functype(bt)
            return len(ft.params), len(ft.results)
        return 0, 1

    def canon(self, typeidx: int) -> Any:
        return self.compiled.canon(typeidx)

    def makes_tail_calls(self, funcidx: int) -> bool:
        """Whether defined function ``funcidx`` contains return_call* instructions."""
        r = self._tail.get(funcidx)
        if r is None:
            body = self.module.funcs[funcidx - self.num_imported].instrs
            r = any(ins[0] in TAIL_OPS for ins in body)
            self._tail[funcidx] = r
        return r

    def note_tail_calls(self, funcidx: int, makes_them: bool) -> None:
        """Record what a translation's structure scan found (saves a pass later)."""
        self._tail[funcidx] = makes_them

    def func_name(self, funcidx: int) -> str | None:
        return self.compiled.func_name(funcidx)

    @property
    def recursive(self) -> frozenset[int]:
        """Defined functions that may take part in a recursion (they count depth)."""
        r = self._recursive
        if r is None:
            from .callgraph import recursive_functions

            r = self._recursive = recursive_functions(self.module)
        return r

    # ------------------------------------------------------------ code
    def translated(self, funcidx: int, options: TranslationOptions = DEFAULT_OPTIONS) -> Translated:
        """The translation of defined function ``funcidx`` (translating it if needed)."""
        key = (funcidx, options)
        t = self.code.get(key)
        if t is None:
            with self._lock:
                t = self.code.get(key)
                if t is None:
                    t = self._translate(funcidx, options)
                    self.code[key] = t
                    self.last_translation = (time.monotonic(), time.process_time())
                    ahead = self.ahead
                    if ahead is not None and ahead.options == options:
                        ahead.note(t)
        return t

    def _cache(self, options: TranslationOptions) -> Any:
        """The translation cache for ``options`` (codecache.CodeCache), or None."""
        try:
            return self._caches[options]
        except KeyError:
            from .codecache import open_cache

            cc = self._caches[options] = open_cache(self, options)
            return cc

    def _translate(self, funcidx: int, options: TranslationOptions) -> Translated:
        """Translate ``funcidx``, or take its translation from the translation cache
        (see :mod:`.codecache`; what is translated here goes there)."""
        # The translator is imported only to translate (~15 ms CPU of imports): a start
        # whose code comes from the cache never needs it. REFUSE (a test hook) is set
        # only by tests that imported it.
        loaded = sys.modules.get(_TRANSLATE)
        if loaded is not None and funcidx in loaded.REFUSE:
            # before the cache, which may hold an earlier translation
            return loaded.translate_function(self, funcidx, options)  # type: ignore[no-any-return]
        cc = self._cache(options)
        if cc is not None:
            from .packed import unpack

            data = cc.take(funcidx)
            if data is not None:
                t = unpack(data, self, funcidx)
                if t is not None:
                    return t
        ahead = self.ahead
        if ahead is not None and ahead.options == options:
            from .packed import unpack

            data = ahead.take(funcidx)
            if data is not None:
                t = unpack(data, self, funcidx)
                if t is not None:
                    if cc is not None:
                        cc.add(funcidx, data)
                    return t
        from .translate import translate_function

        t = translate_function(self, funcidx, options)
        if cc is None:
            return t
        from .packed import pack

        data = pack(t, self.makes_tail_calls(funcidx))
        if data is not None:
            cc.add(funcidx, data)
        return t
