"""Translation of one Wasm function into the source of one Python function.

Wasm locals become Python locals (``l0``, ``l1``, ...; parameters are the Python
parameters), the operand stack is resolved at translation time into inline
expressions (see :mod:`.exprs`), block results travel in slot variables named
after their stack height (``s3``), and structured control flow becomes ``while
True:`` loops with ``break``/``continue`` as decided by :mod:`.structure`.
Branches that must leave several Python loops at once set ``brk`` to the target
label's id and break; each loop they cross dispatches on ``brk`` right after it.

The operand-stack discipline lives in :mod:`.stackbase`, the control-flow lowering
in :mod:`.control`, the instruction handlers in :mod:`.ops_numeric`,
:mod:`.ops_memory` and :mod:`.ops_call`; this module drives them over a body and
compiles the result.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import UnsupportedFeature
from ..exec.trap import ENTRY_PC
from ..syntax.module import Instr
from ..syntax.types import F32, F64, I32, I64, V128, ValType
from .artifact import env_force_flat
from .control import CONTROL, ChainUnsafe, Ctl
from .flat import FLAT_HEIGHTS
from .flat_exc import FlatExcFlow
from .stackbase import MASK, MASKV, SIGN, trap_pc
from .structure import Construct, Structure

if TYPE_CHECKING:
    from .artifact import ModuleArtifact, Translated, TranslationOptions

__all__ = ["HANDLERS", "MASK", "MASKV", "SIGN", "Handler", "Translator", "register", "trap_pc",
           "translate_function"]

Handler = Callable[["Translator", Instr], None]
HANDLERS: dict[str, Handler] = {}
"""Instruction name -> handler; filled by the ops_* modules."""


def register(name: str) -> Callable[[Handler], Handler]:
    """Decorator: ``fn`` handles instruction ``name``."""

    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return deco


_REVIVE = frozenset({"else", "end", "catch", "catch_all", "delegate"})
"""Instructions that end a construct's arm: code after them may be reachable again."""


class Translator(FlatExcFlow):
    """Translates one defined function (see :func:`translate_function`)."""

    def __init__(self, art: ModuleArtifact, funcidx: int,
                 options: TranslationOptions | None = None,
                 no_chain: frozenset[int] = frozenset(), flat_height: int | None = None) -> None:
        super().__init__()
        self.init_flat()
        self.art = art
        self.funcidx = funcidx
        if options is None:
            from .artifact import DEFAULT_OPTIONS

            options = DEFAULT_OPTIONS
        # Only an engine with a depth budget needs the call graph (a whole-module pass).
        self.init_metering(options, bool(options.stack_frames) and funcidx in art.recursive)
        func = art.module.funcs[funcidx - art.num_imported]
        self.body: list[Instr] = func.instrs
        self.ftype = art.func_types[funcidx]
        self.nparams = len(self.ftype.params)
        self.local_types: list[ValType] = list(self.ftype.params) + func.local_types()
        self.local_facts: list[tuple[str, frozenset[int], int, int] | None] = (
            [None] * len(self.local_types))
        """Per local, made at its first access: see ops_memory._local_facts."""
        self.st = Structure(self.body, self.ftype, art.block_arity, no_chain, flat_height)
        art.note_tail_calls(funcidx, bool(self.st.tail_calls))
        self.funcrefs: set[int] = set()
        self.callees: set[int] = set()
        """Functions the code calls by name (``f<idx>``): bound when this one is."""
        self.tail_targets: set[int] = set()
        self.cast_memories: set[int] = set()
        self.tail_caller = art.makes_tail_calls(funcidx)
        self.self_tail = any(
            self.body[i][0].name == "return_call" and self.body[i][1] == funcidx
            for i in self.st.tail_calls
        )
        self.line_pcs: list[int] = []

    # ------------------------------------------------------------ driving
    def seq(self, start: int, stop: int) -> None:
        """Translate instructions ``start`` .. ``stop - 1``."""
        body = self.body
        at = self.st.at
        pc = start
        out = self.out
        control = CONTROL.get
        handlers = HANDLERS.get
        while pc < stop:
            ins = body[pc]
            name = ins[0].name
            out.pc = pc
            if not self.reachable:
                if name not in _REVIVE:
                    c = at.get(pc)
                    pc = c.end + 1 if c is not None else pc + 1
                    continue
                # An instruction reached in dead code costs nothing, as in wasmtime
                # (``catch``/``delegate`` after a branch: their handlers or the code
                # after them revive, the instruction itself is not run).
            elif self.fuel:
                self.charge(name)
            special = control(name)
            if special is not None:
                pc = special(self, ins, pc)
                continue
            handler = handlers(name)
            if handler is None:
                handler = _late_handler(name)
            if handler is None:
                raise UnsupportedFeature(name, "instruction not supported by the interp tier")
            handler(self, ins)
            pc += 1

    def run(self) -> str:
        """Translate the whole body; returns the function's Python source."""
        func = Ctl(self.st.func, 0, 0, 1)
        self.ctls.append(func)
        prologue_at = 0
        if self.self_tail:
            self.top = Ctl(Construct("loop", -1, len(self.body), self.nparams, 0, None), 0,
                           self.new_label(), 1)
            self.open_loop(self.top)
            prologue_at = self.out.mark()
        if self.st.flat:
            self.open_dispatch()
        self.seq(0, len(self.body))
        self.out.pc = max(len(self.body) - 1, 0)
        if self.reachable or func.reached:
            self.emit_return()
        if self.st.flat:
            self.close_dispatch()
        if self.top is not None:
            self.out.indent -= 1
            self.loops.pop()
        return self.assemble(prologue_at)

    def assemble(self, prologue_at: int) -> str:
        """Put the def line and local initialisation around the emitted body."""
        indent = "        " if self.self_tail else "    "
        init: list[str] = []
        groups: dict[str, list[str]] = {}
        for i, t in enumerate(self.local_types[self.nparams :], self.nparams):
            groups.setdefault(_zero(t), []).append(f"l{i}")
        for zero, names in groups.items():
            init.append(f"{indent}{' = '.join(names)} = {zero}")
        if self.uses_brk:
            init.append(f"{indent}brk = 0")
        if self.st.delegates:
            init.append(f"{indent}dg = 0")
        has_loops = any(c.kind == "loop" for c in self.st.constructs)
        entry = self.entry_lines(indent, has_loops)
        lines = self.out.lines
        pcs = self.out.pcs
        lines[prologue_at:prologue_at] = entry + init
        # The entry checks report the function's entry (see exec.trap.entry_offset).
        pcs[prologue_at:prologue_at] = [ENTRY_PC] * len(entry) + [0] * len(init)
        if not lines:
            lines.append("    return")
            pcs.append(0)
        params = ", ".join([*(f"l{i}" for i in range(self.nparams)), *self.budget_params()])
        name = f"b{self.funcidx}" if self.tail_caller else f"f{self.funcidx}"
        self.line_pcs = [0, 0, *pcs]  # line numbers start at 1, and line 1 is the def
        return f"def {name}({params}):\n" + "\n".join(lines) + "\n"


def _zero(t: ValType) -> str:
    if t is I32 or t is I64 or t is V128:
        return "0"
    if t is F32 or t is F64:
        return "0.0"
    return "None"


def _late_handler(name: str) -> Handler | None:
    """The handler of a SIMD instruction: ops_simd (and the helpers its code calls,
    see helpers.ensure_simd) are loaded by the first one translated."""
    from . import ops_simd  # noqa: F401  (registers the SIMD handlers)
    from .helpers import ensure_simd

    ensure_simd()
    return HANDLERS.get(name)


# ---------------------------------------------------------------- entry point
def translate_function(art: ModuleArtifact, funcidx: int, options: TranslationOptions) -> Translated:
    """Translate and compile defined function ``funcidx`` of ``art``'s module."""
    from . import (  # noqa: F401  (register handlers)
        ops_call,
        ops_exc,
        ops_gc,
        ops_memory,
        ops_numeric,
    )

    if funcidx in REFUSE:
        raise UnsupportedFeature(DEEP, "refused by translate.REFUSE (a test hook)")
    no_chain: frozenset[int] = frozenset()
    flat_height: int | None = FORCE_FLAT
    flatter = iter(FLAT_HEIGHTS if FORCE_FLAT is None else ())
    while True:
        tr = Translator(art, funcidx, options, no_chain, flat_height)
        try:
            source = tr.run()
            return _compiled(art, funcidx, tr, source)
        except ChainUnsafe as e:
            no_chain |= {e.start}
        except (UnsupportedFeature, SyntaxError, RecursionError, MemoryError) as e:
            # Nested deeper than CPython allows (refused by the translator, or by
            # CPython's compiler): again with more of the function flat.
            if isinstance(e, UnsupportedFeature) and e.feature != DEEP:
                raise
            flat_height = next(flatter, None)
            if flat_height is None:
                raise
            no_chain = frozenset()


DEEP = "deeply nested control flow"
REFUSE: frozenset[int] = frozenset()
"""Test hook: function indices the translator refuses, as it would a function too
big for CPython's compiler (none is known: with flat handlers every nesting
translates), to test the refusal paths: at instantiation (artifact.translate_risky)
and the tiered strategy's native unit for such functions."""
FORCE_FLAT: int | None = env_force_flat()
"""Tests set this (or the environment variable ``NANOPROC_INTERP_FLAT``, for the
fuzzer's processes) to translate every function with the flat lowering at that
bound (see :mod:`.flat`), to run whole suites through it."""


def _compiled(art: ModuleArtifact, funcidx: int, tr: Translator, source: str) -> Translated:
    """Compile the source of a translated function."""
    from .artifact import Translated
    from .frames import register_code

    line_pcs = tr.line_pcs
    if tr.tail_caller:
        args = ", ".join([*(f"l{i}" for i in range(tr.nparams)), *(["dp"] if tr.frames else [])])
        params = ", ".join([*(f"l{i}" for i in range(tr.nparams)), *tr.budget_params()])
        entry = (
            f"def f{funcidx}({params}):\n"
            f"    r = b{funcidx}({args})\n"
            f"    while r.__class__ is TailCall:\n"
            f"        r = r[0](*r[1])\n"
            f"    return r\n"
        )
        source = source + entry
        line_pcs = line_pcs + [0] * 5
    filename = _filename(art, funcidx, source)
    module_code = compile(source, filename, "exec")
    codes = {c.co_name: c for c in module_code.co_consts if hasattr(c, "co_name")}
    code = codes[f"f{funcidx}"]
    body_code = codes.get(f"b{funcidx}")
    for c in codes.values():
        register_code(c, art, funcidx, line_pcs)
    return Translated(funcidx, source, code, body_code, tr.consts, frozenset(tr.funcrefs),
                      frozenset(tr.tail_targets), frozenset(tr.cast_memories),
                      tuple(sorted(tr.callees)), tuple(line_pcs))


_serial = itertools.count()


def _filename(art: ModuleArtifact, funcidx: int, source: str) -> str:
    """A unique file name for the code (it keys the trap-frame registry)."""
    name = art.func_name(funcidx)
    label = f"{art.name or 'module'}!{name or funcidx} #{next(_serial)}"
    dump = os.environ.get("NANOPROC_INTERP_DUMP")
    if dump:
        from .debug import dump_source

        return dump_source(dump, art, funcidx, source)
    return f"<wasm {label}>"
