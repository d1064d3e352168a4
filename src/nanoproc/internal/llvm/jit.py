"""LLVM through llvmlite: IR text to object code, and object code into memory.

Objects are compiled for the host CPU (every feature it has) with position-
independent code and the small code model, and linked by ORC's LLJIT with
JITLink. (RuntimeDyld with the small code model can abort the process once large
address ranges are reserved; JITLink builds GOT/PLT stubs for far targets.)
Compiling to an object first, rather than handing IR to the JIT, is what makes
the compile cache and AOT artifacts possible: loading is linking only.

llvmlite serialises all LLVM work behind one process-wide lock, so parallel
compilation uses worker processes (see :mod:`.parallel`).
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import llvmlite
import llvmlite.binding as llvm

_lock = threading.Lock()
_names = itertools.count()


@cache
def _init() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@dataclass(frozen=True)
class HostTarget:
    triple: str
    cpu: str
    features: str
    datalayout: str
    llvm_version: str
    llvmlite_version: str

    def key(self) -> str:
        """What compiled code depends on besides the IR: part of cache keys."""
        return "|".join((self.triple, self.cpu, self.features, self.llvm_version,
                         self.llvmlite_version))  # fmt: skip


@cache
def host_target() -> HostTarget:
    _init()
    triple = llvm.get_process_triple()
    cpu = llvm.get_host_cpu_name()
    features = llvm.get_host_cpu_features().flatten()
    tm = _target_machine(2)
    version = ".".join(map(str, llvm.llvm_version_info))
    return HostTarget(triple, cpu, features, str(tm.target_data), version,
                      llvmlite.__version__)  # fmt: skip


@cache
def _target_machine(opt: int) -> Any:
    _init()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=opt, reloc="pic", codemodel="small",
    )  # fmt: skip


def compile_ir(text: str, opt: int, passes: bool = True) -> bytes:
    """Parse, verify, optimise (``opt`` 0-3) and compile IR text to an ELF object
    (``passes=False``: code generation at ``opt`` only, for IR optimised already)."""
    _init()
    tm = _target_machine(opt)
    mod = llvm.parse_assembly(text)
    mod.verify()
    if opt > 0 and passes:
        pto = llvm.create_pipeline_tuning_options(speed_level=opt)
        pb = llvm.create_pass_builder(tm, pto)
        if _marks(text, QUICK_MARK) and _only_quick(text):
            # Only small loop-free functions (irgen.function.QUICK_FUNCS): a few
            # cheap passes, then the fast code generator.
            tm = _target_machine(0)
            _quick_passes().run(mod, pb)
        elif _marks(text, LIGHT_MARK) and _light(mod, pb):
            # Only light functions: the -O0 pipeline (it still inlines what must be)
            # and the fast code generator, whose register allocator is linear in the
            # function (the -O2 one is not).
            tm = _target_machine(0)
            pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))
            pb.getModulePassManager().run(mod, pb)
        else:
            pb.getModulePassManager().run(mod, pb)
        if "@llvm.canonicalize" in text:
            pruned = prune_canonicalize(str(mod))
            if pruned is not None:
                mod = llvm.parse_assembly(pruned)
    return bytes(tm.emit_object(mod))


LIGHT_MARK = '"nanoproc-light"'
"""The attribute of functions the code generator marks for the light pipeline
(irgen.function.LIGHT_DEPTH)."""
QUICK_MARK = '"nanoproc-quick"'
"""The attribute of functions the code generator marks for the quick pipeline
(irgen.function.QUICK_FUNCS)."""


def _marks(text: str, mark: str) -> bool:
    """Whether some function of IR ``text`` is marked with ``mark`` (the attribute
    groups' definitions are in every partition; their uses are not)."""
    from .irgen.function import LIGHT, QUICK

    group = LIGHT if mark == LIGHT_MARK else QUICK
    return mark in text and f") {group} {{" in text


def _only_quick(text: str) -> bool:
    """Whether every function IR ``text`` defines, its internal helpers aside, is
    marked for the quick pipeline (a scan of the text: reading attributes through
    llvmlite costs more than compiling a quick function)."""
    from .irgen.function import QUICK

    defined = text.count("\ndefine ") - text.count("\ndefine internal ")
    return defined == text.count(f") {QUICK} {{\n")


def _quick_passes() -> Any:
    """The quick pipeline's passes: the -O0 pipeline's inlining of what must be, locals
    promoted to registers and peephole folding (a module pass manager: one function
    pass manager run per function from Python costs more than the passes). Not
    SimplifyCFG: it merges returns into one block, after which a ``return_call`` is
    no longer in tail position for the fast code generator (no CodeGenPrepare to
    duplicate the return) and recursion through it exhausts the stack."""
    mpm = llvm.create_new_module_pass_manager()
    mpm.add_always_inliner_pass()
    mpm.add_sroa_pass()
    mpm.add_instruction_combine_pass()
    return mpm


def _light(mod: Any, pb: Any) -> bool:
    """The light pipeline of marked functions: their locals promoted to registers
    (SROA), then ``optnone``, which the -O2 pipeline skips and which selects
    instructions fast: time linear in the function, whatever its shape. True if every
    function ``mod`` defines, its internal helpers aside, is marked."""
    fpm = llvm.create_new_function_pass_manager()
    fpm.add_sroa_pass()
    mark = LIGHT_MARK.encode()
    only = True
    for fn in mod.functions:
        if fn.is_declaration or fn.linkage == llvm.Linkage.internal:
            continue
        if any(mark in a for a in fn.attributes):
            fpm.run(fn, pb)
            fn.add_function_attribute("optnone")
        else:
            only = False
    return only


_FTYPE = r"(?:float|double|<\d+ x (?:float|double)>)"
_CANON = re.compile(
    rf"^(\s+%[-\w.$]+ = )(?:tail |notail )?call (?:[a-z]+ )*({_FTYPE}) "
    rf"@llvm\.canonicalize\.(?:v\d+)?f(?:32|64)\({_FTYPE} (%[-\w.$]+)\)(.*)$")
_DEF = re.compile(r"^\s+(%[-\w.$]+) = (?:tail |notail )?(\w+)(.*)$")
_QUIETING = frozenset({"fadd", "fsub", "fmul", "fdiv"})
"""Arithmetic whose NaN results are always quiet on the host (x86-64, AArch64).
Conversions are not listed: code generation folds fptrunc(fpext x) to x."""
_ZERO = r"-?0\.0+e\+00|0x(?:8|0)000000000000000"
_ONE = r"-?1\.0+e\+00|0x(?:3FF|BFF)0000000000000"
_IDENTITY = {
    "fadd": re.compile(rf"[ ,](?:{_ZERO})\b"),
    "fsub": re.compile(rf"[ ,](?:{_ZERO})\b"),
    "fmul": re.compile(rf"[ ,](?:{_ONE})\b"),
    "fdiv": re.compile(rf"[ ,](?:{_ONE})\b"),
}
"""Operands that make the instruction an identity (or a negation): x + -0.0, x - 0.0,
-0.0 - x, x * 1.0, x * -1.0, x / 1.0, x / -1.0. Code generation may still fold such
an instruction away, so its canonicalize must stay."""


def prune_canonicalize(ir: str) -> str | None:
    """Optimised IR with every ``llvm.canonicalize`` of a value an arithmetic
    instruction produced replaced by a no-op: the instruction survived optimisation,
    so the hardware quiets its NaNs. (Calls of folded-away arithmetic remain.)
    None if nothing changed."""
    lines = ir.split("\n")
    defs: dict[str, str] = {}
    changed = False
    for i, line in enumerate(lines):
        if line.startswith("define "):
            defs = {}
            continue
        m = _DEF.match(line)
        if m is None:
            continue
        op = m.group(2)
        identity = _IDENTITY.get(op)
        defs[m.group(1)] = "" if identity is not None and identity.search(m.group(3)) else op
        c = _CANON.match(line)
        if c is not None and defs.get(c.group(3)) in _QUIETING:
            lines[i] = f"{c.group(1)}bitcast {c.group(2)} {c.group(3)} to {c.group(2)}"
            changed = True
    return "\n".join(lines) if changed else None


@cache
def _jit() -> Any:
    _init()
    return llvm.create_lljit_compiler(_target_machine(2), use_jit_link=True)


class Library:
    """Linked objects in memory; the code stays valid while this object lives."""

    def __init__(self, tracker: Any, addresses: dict[str, int]) -> None:
        self._tracker = tracker
        self.addresses = addresses


def link(objects: list[bytes], symbols: list[str]) -> Library:
    """Link ``objects`` into a new JIT library and look up ``symbols`` in it."""
    builder = llvm.JITLibraryBuilder()
    for obj in objects:
        builder.add_object_img(obj)
    builder.add_current_process()
    for s in symbols:
        builder.export_symbol(s)
    with _lock:
        name = f"nanoproc{next(_names)}"
        tracker = builder.link(_jit(), name)
    return Library(tracker, {s: tracker[s] for s in symbols})
