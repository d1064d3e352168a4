"""Assembly of a module's IR: functions, the trap routine, entry trampolines and
host-call thunks.

A module's functions may be split into partitions, each one LLVM module (compiled
in parallel in worker processes, then linked together): calls across partitions
are calls to external symbols. The first partition carries the glue, or the
objects shared per shape provide it (see ..glue):

``w_entry_<shape>(argv)``
    The C-ABI entry from Python (ctypes). It checks the calling thread owns the
    store, sets the stack limit on the outermost entry, saves the previous entry's
    jump buffer and sets its own with ``_setjmp``, calls ``fn``, restores, and returns
    the result (see :mod:`.boundary`). f32 values cross as doubles in the Python
    representation (NaN payload in the top mantissa bits).
``w_host_<shape>(hostctx, args...)``
    What a host function's FuncRecord points to: calls the Python callback through
    the C API with the caller's vmctx and the arguments, reads results from
    StoreCtx.results, and traps with TRAP_HOST if anything was raised.
``np_helper(vmctx, op, a, b, c, d)``
    Calls the runtime's Python helper (see :mod:`..hostcall`).
``np_trap(sc, kind, pc)``
    Records the trap and the return addresses of the frames up to the innermost
    entry (frame pointers are kept everywhere), then ``longjmp``s to that entry.
    It never crosses a Python frame: between any trap and the innermost entry from
    Python there is only generated code.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...syntax.module import Module
from ...syntax.types import FuncType, GlobalType
from .. import abi
from ..symbols import func_symbol, module_shapes, vm_layout

# Importing the handler modules registers the instruction handlers.
from . import ops_call, ops_control, ops_exc, ops_gc, ops_memory, ops_numeric, ops_simd, ops_vars  # noqa: F401, E402, I001
from .boundary import PYAPI_DECLS, entry_trampoline, host_thunk, runtime_routines
from .function import FunctionGen, quick_module
from .types import Shape, is_wide, lltype, native_shape, ret_type


@dataclass(frozen=True)
class MemInfo:
    addr64: bool
    page_log2: int
    min_bytes: int
    max_bytes: int
    """The most bytes the memory can ever hold."""


class ModuleInfo:
    """What translating a module's functions needs to know about the module."""

    def __init__(self, module: Module, func_types: list[FuncType], opt_level: int,
                 fuel: bool = False, epochs: bool = False, interrupts: bool = True,
                 unit: frozenset[int] | None = None) -> None:
        self.module = module
        self.unit = unit
        """For a partial unit (per-function tier-up, see ..units): the defined
        functions it compiles; calls to the others go through their vmctx slot's
        FuncRecord, as calls to imports do. None: the whole module."""
        self.func_types = func_types
        self.nimports = module.num_imported_funcs
        self.opt_level = opt_level
        self.fuel = fuel
        self.epochs = epochs
        self.interrupts = interrupts
        self.quick = unit is None and quick_module(len(module.funcs), opt_level)
        """Small functions get the quick pipeline (function.QUICK_FUNCS); never those
        of a partial unit, which are hot."""
        self.memories = [
            MemInfo(m.limits.addr64, (m.page_size - 1).bit_length(), m.limits.min * m.page_size,
                    m.limits.max * m.page_size if m.limits.max is not None
                    else 1 << (64 if m.limits.addr64 else 32))
            for m in module.memory_types()
        ]  # fmt: skip
        self.table_addr64 = [t.limits.addr64 for t in module.table_types()]
        self.globals: list[GlobalType] = module.global_types()
        self.layout = vm_layout(module)
        self.declarations: dict[str, None] = {}
        self.routines: dict[str, str] = {}
        """Internal functions the partition's code calls (name -> definition)."""

    def declare(self, decl: str) -> None:
        self.declarations[decl] = None

    def routine(self, name: str, text: str) -> None:
        self.routines.setdefault(name, text)

    def global_lltype(self, g: int) -> str:
        return lltype(self.globals[g].type)

    func_symbol = staticmethod(func_symbol)

    def direct(self, f: int) -> bool:
        """Whether a call of function ``f`` is a direct call of its native symbol
        (a defined function of this unit), not one through its FuncRecord."""
        return f >= self.nimports and (self.unit is None or f in self.unit)

    def shapes(self) -> list[Shape]:
        return module_shapes(self.module)


def _shape(ft: FuncType) -> Shape:
    from .types import shape_of

    return shape_of(ft)


HEADER_DECLS = (
    "declare ptr @llvm.frameaddress.p0(i32)",
    "declare void @llvm.experimental.stackmap(i64, i32, ...)",
    "declare i32 @_setjmp(ptr) returns_twice",
    "declare void @longjmp(ptr, i32) noreturn nounwind",
    "declare i64 @pthread_self() nounwind",
    "declare ptr @PyEval_SaveThread() nounwind",
    "declare void @llvm.eh.sjlj.longjmp(ptr) noreturn nounwind",
    "declare void @PyEval_RestoreThread(ptr) nounwind",
    *PYAPI_DECLS,
)

METADATA = """\
!0 = !{!"nanoproc tbaa"}
!1 = !{!"linear memory", !0, i64 0}
!2 = !{!"runtime state", !0, i64 0}
!3 = !{!1, !1, i64 0}
!4 = !{!2, !2, i64 0}
!5 = !{}
!6 = !{!"branch_weights", i32 1048575, i32 1}
!7 = !{i64 16}
!8 = !{i64 8}
!9 = !{!"gc heap", !0, i64 0}
!10 = !{!9, !9, i64 0}
!11 = !{!"branch_weights", i32 1, i32 1048575}
"""

ATTRIBUTES = """\
attributes #0 = { noinline nounwind "frame-pointer"="all" }
attributes #1 = { noinline nounwind "frame-pointer"="all" }
attributes #2 = { alwaysinline nounwind }
attributes #3 = { noinline nounwind cold noreturn "frame-pointer"="all" }
attributes #5 = { noinline optnone nounwind "frame-pointer"="all" }
attributes #6 = { noinline nounwind cold "frame-pointer"="all" }
attributes #7 = { noinline nounwind "frame-pointer"="all" "nanoproc-light" }
attributes #8 = { noinline nounwind "frame-pointer"="all" "nanoproc-quick" }
"""


def _frame_walk(done: str) -> str:
    """The loop shared by ``np_trap`` and ``np_throw_site``: the return addresses of
    the frames from the routine's caller up to the innermost entry into StoreCtx.bt
    (and their count into bt_len), then ``done``'s instructions."""
    sc = abi.SC
    return f"""\
  %fp0 = call ptr @llvm.frameaddress.p0(i32 0)
  %stopp = getelementptr inbounds i8, ptr %sc, i64 {sc["entry_fp"]}
  %stop = load ptr, ptr %stopp, align 8
  %bt = getelementptr inbounds i8, ptr %sc, i64 {sc["bt"]}
  br label %loop
loop:
  %n = phi i64 [ 0, %walk ], [ %n1, %next ]
  %fp = phi ptr [ %fp0, %walk ], [ %up, %next ]
  %atstop = icmp eq ptr %fp, %stop
  %isnull = icmp eq ptr %fp, null
  %full = icmp uge i64 %n, {abi.BACKTRACE_CAP}
  %d1 = or i1 %atstop, %isnull
  %done = or i1 %d1, %full
  br i1 %done, label %out, label %body
body:
  %rap = getelementptr inbounds i8, ptr %fp, i64 8
  %ra = load i64, ptr %rap, align 8
  %slot = getelementptr inbounds i64, ptr %bt, i64 %n
  store i64 %ra, ptr %slot, align 8
  %n1 = add i64 %n, 1
  %up = load ptr, ptr %fp, align 8
  %rising = icmp ugt ptr %up, %fp
  br i1 %rising, label %next, label %outn
next:
  br label %loop
outn:
  br label %out
out:
  %len = phi i64 [ %n, %loop ], [ %n1, %outn ]
  %lp = getelementptr inbounds i8, ptr %sc, i64 {sc["bt_len"]}
  store i64 %len, ptr %lp, align 8
{done}"""


def trap_routine() -> str:
    """``np_trap`` and ``np_throw_site``.

    A Wasm exception's backtrace is taken where it is thrown (``np_throw_site``, on
    the throwing path only), as wasmtime and the interp tier report it: if no handler
    catches it, the landing that passes it out of the entry calls ``np_trap`` with
    ``KEEP_SITE`` and the recorded site stays (the throw's frames are gone by then)."""
    sc = abi.SC
    def jump(k: str) -> str:
        return f"""\
  %jbp{k} = getelementptr inbounds i8, ptr %sc, i64 {sc["jmpbuf"]}
  %jb{k} = load ptr, ptr %jbp{k}, align 8
  call void @longjmp(ptr %jb{k}, i32 1)
  unreachable
"""

    record_pc = f"""\
  %pp = getelementptr inbounds i8, ptr %sc, i64 {sc["trap_pc"]}
  store i32 %pc, ptr %pp, align 4
"""
    return f"""\
@np_trap_ptr = internal global ptr @np_trap

define internal void @np_trap(ptr %sc, i32 %kind, i32 %pc) #3 {{
entry:
  %kp = getelementptr inbounds i8, ptr %sc, i64 {sc["trap_kind"]}
  store i32 %kind, ptr %kp, align 4
  %keep = icmp eq i32 %pc, {abi.KEEP_SITE}
  br i1 %keep, label %kept, label %walk
kept:
{jump('k')}walk:
{record_pc}{_frame_walk(jump(''))}}}

define internal void @np_throw_site(ptr %sc, i32 %pc) #6 {{
walk:
{record_pc}{_frame_walk("  ret void")}
}}

define internal double @np_widen(float %f) #2 {{
  %b = bitcast float %f to i32
  %isnan = fcmp uno float %f, %f
  %b64 = zext i32 %b to i64
  %sign = and i64 %b64, 2147483648
  %sign1 = shl i64 %sign, 32
  %pay = and i64 %b64, 8388607
  %pay1 = shl i64 %pay, 29
  %nb0 = or i64 %sign1, 9218868437227405312
  %nb = or i64 %nb0, %pay1
  %nan = bitcast i64 %nb to double
  %ext = fpext float %f to double
  %r = select i1 %isnan, double %nan, double %ext
  ret double %r
}}

define internal float @np_narrow(double %d) #2 {{
  %b = bitcast double %d to i64
  %isnan = fcmp uno double %d, %d
  %sign = lshr i64 %b, 63
  %sign1 = shl i64 %sign, 31
  %pay = lshr i64 %b, 29
  %pay1 = and i64 %pay, 8388607
  %nb0 = or i64 %sign1, 2139095040
  %nb1 = or i64 %nb0, %pay1
  %nb = trunc i64 %nb1 to i32
  %nan = bitcast i32 %nb to float
  %tr = fptrunc double %d to float
  %r = select i1 %isnan, float %nan, float %tr
  ret float %r
}}
"""


# ---------------------------------------------------------------- assembling
@dataclass
class Partition:
    """One LLVM module's worth of a Wasm module."""

    index: int
    funcs: list[int]
    glue: bool
    """Whether it carries the entries and host thunks (else the shared objects of
    ..glue provide them)."""


def partition_text(info: ModuleInfo, part: Partition, triple: str, datalayout: str,
                   shapes: list[Shape] | None = None) -> str:
    """The IR text of one partition."""
    bodies = []
    called: set[int] = set()
    for f in part.funcs:
        gen = FunctionGen(info, f)
        bodies.append(gen.run())
        called |= gen.calls
    # Direct calls into other partitions need declarations.
    decls = []
    for f in sorted(called - set(part.funcs)):
        ft = info.func_types[f]
        params = "".join(", " + lltype(t) for t in ft.params)
        out = ", ptr" if is_wide(_shape(ft)[1]) else ""
        decls.append(f"declare tailcc {ret_type(_shape(ft)[1])} @{info.func_symbol(f)}"
                     f"(ptr{out}{params}) #0")
    glue = []
    if part.glue:
        glue = _glue(shapes if shapes is not None else info.shapes())
    header = [
        f'target datalayout = "{datalayout}"',
        f'target triple = "{triple}"',
        "",
        *HEADER_DECLS,
        *info.declarations,
        *decls,
        "",
        trap_routine(),
        runtime_routines(),
        *info.routines.values(),
    ]
    return ("\n".join(header) + "\n" + "\n".join(bodies) + "\n" + "\n".join(glue) + "\n"
            + ATTRIBUTES + 'attributes #4 = { returns_twice }\n' + METADATA)


def _glue(shapes: list[Shape]) -> list[str]:
    """Entries (both kinds) for every entry shape, a host thunk for every native shape."""
    glue = []
    thunks: dict[Shape, None] = {}
    for shape in shapes:
        glue.append(entry_trampoline(shape))
        glue.append(entry_trampoline(shape, release_gil=False))
        thunks[native_shape(shape)] = None
    glue += [host_thunk(s) for s in thunks]
    return glue


def shared_glue_text(entries: list[Shape], thunks: list[Shape], triple: str,
                     datalayout: str) -> str:
    """A module with the entries (both kinds) of ``entries`` and the host thunks of
    native shapes ``thunks``, defined ``weak_odr``: glue depends on its shape alone, so
    one object serves every module with that shape (see ..glue), and two objects that
    both define a shape's symbols may be linked together (the linker keeps one)."""
    header = [
        f'target datalayout = "{datalayout}"',
        f'target triple = "{triple}"',
        *HEADER_DECLS,
        "",
        trap_routine(),
        runtime_routines(),
    ]
    glue = [entry_trampoline(s, release_gil=g) for s in entries for g in (True, False)]
    glue += [host_thunk(s) for s in thunks]
    weak = [g.replace("define dso_local ", "define weak_odr dso_local ", 1) for g in glue]
    assert all(w != g for w, g in zip(weak, glue)), "a glue routine is not dso_local"
    return ("\n".join(header) + "\n" + "\n".join(weak) + "\n" + ATTRIBUTES
            + 'attributes #4 = { returns_twice }\n' + METADATA)


def glue_only_text(shapes: list[Shape], triple: str, datalayout: str) -> str:
    """A module with just host thunks for native ``shapes`` (host functions whose shape
    no loaded module provides)."""
    header = [
        f'target datalayout = "{datalayout}"',
        f'target triple = "{triple}"',
        *HEADER_DECLS,
        "",
        trap_routine(),
        runtime_routines(),
    ]
    glue = [host_thunk(shape) for shape in shapes]
    return ("\n".join(header) + "\n" + "\n".join(glue) + "\n" + ATTRIBUTES
            + 'attributes #4 = { returns_twice }\n' + METADATA)
