"""Assembly of a module's IR: functions, the trap routine, entry trampolines and
host-call thunks.

A module's functions may be split into partitions, each one LLVM module (compiled
in parallel in worker processes, then linked together): calls across partitions
are calls to external symbols. The first partition also carries the glue:

``w_entry_<shape>(vmctx, fn, args...)``
    The C-ABI entry from Python (ctypes). It checks the calling thread owns the
    store, sets the stack limit on the outermost entry, saves the previous entry's
    jump buffer and sets its own with ``_setjmp``, calls ``fn``, restores, and returns
    the result (multi-value results go to StoreCtx.results). f32 values cross as
    doubles in the Python representation (NaN payload in the top mantissa bits).
``w_host_<shape>(hostctx, args...)``
    What a host function's FuncRecord points to: calls the Python callback (C ABI)
    with the caller's vmctx and the arguments, reads results from StoreCtx.results,
    and traps with TRAP_HOST if the callback reported an exception.
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
from ..symbols import (
    entry_symbol,
    func_symbol,
    held_entry_symbol,
    host_symbol,
    module_shapes,
    vm_layout,
)

# Importing the handler modules registers the instruction handlers.
from . import ops_call, ops_control, ops_memory, ops_numeric, ops_vars  # noqa: F401, E402, I001
from .function import FunctionGen
from .types import LLTYPE, Shape, lltype, ret_type


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
                 fuel: bool = False, epochs: bool = False) -> None:
        self.module = module
        self.func_types = func_types
        self.nimports = module.num_imported_funcs
        self.opt_level = opt_level
        self.fuel = fuel
        self.epochs = epochs
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

    def declare(self, decl: str) -> None:
        self.declarations[decl] = None

    def global_lltype(self, g: int) -> str:
        return lltype(self.globals[g].type)

    func_symbol = staticmethod(func_symbol)

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
    "declare void @PyEval_RestoreThread(ptr) nounwind",
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
"""

ATTRIBUTES = """\
attributes #0 = { noinline nounwind "frame-pointer"="all" }
attributes #1 = { noinline nounwind "frame-pointer"="all" }
attributes #2 = { alwaysinline nounwind }
attributes #3 = { noinline nounwind cold noreturn "frame-pointer"="all" }
"""


def trap_routine() -> str:
    sc = abi.SC
    return f"""\
@np_trap_ptr = internal global ptr @np_trap

define internal void @np_trap(ptr %sc, i32 %kind, i32 %pc) #3 {{
entry:
  %kp = getelementptr inbounds i8, ptr %sc, i64 {sc["trap_kind"]}
  store i32 %kind, ptr %kp, align 4
  %pp = getelementptr inbounds i8, ptr %sc, i64 {sc["trap_pc"]}
  store i32 %pc, ptr %pp, align 4
  %fl = load i32, ptr %sc, align 4
  %fl1 = or i32 %fl, {abi.EXIT_TRAP}
  store i32 %fl1, ptr %sc, align 4
  %fp0 = call ptr @llvm.frameaddress.p0(i32 0)
  %stopp = getelementptr inbounds i8, ptr %sc, i64 {sc["entry_fp"]}
  %stop = load ptr, ptr %stopp, align 8
  %bt = getelementptr inbounds i8, ptr %sc, i64 {sc["bt"]}
  br label %loop
loop:
  %n = phi i64 [ 0, %entry ], [ %n1, %next ]
  %fp = phi ptr [ %fp0, %entry ], [ %up, %next ]
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
  %jbp = getelementptr inbounds i8, ptr %sc, i64 {sc["jmpbuf"]}
  %jb = load ptr, ptr %jbp, align 8
  call void @longjmp(ptr %jb, i32 1)
  unreachable
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


# ---------------------------------------------------------------- entries and thunks
_C_TYPE = {"i": "i32", "I": "i64", "f": "double", "F": "double", "r": "ptr"}
"""How each shape letter crosses the C ABI to and from Python."""


def _c_ret(results: str) -> str:
    return _C_TYPE[results] if len(results) == 1 else "void"


def entry_trampoline(shape: Shape, release_gil: bool = True) -> str:
    """``RET w_entry_<shape>(ptr argv)``, argv = [vmctx, fn, args...] (8 bytes each).

    Called through ``ctypes.PYFUNCTYPE`` with the GIL held: arguments are read and
    the store claimed for this thread (depth, owner) while no other Python thread
    can run, then the GIL is released for the Wasm code and taken back before
    returning (host callbacks take it themselves). Passing the arguments in memory
    rather than as C arguments avoids ctypes' per-argument conversion costs.

    Without ``release_gil`` (symbol ``w_entry_held_<shape>``) the GIL stays held: for
    functions that run in bounded time (no loops, no calls, no bulk operations),
    where releasing and retaking it would cost more than the call itself.
    """
    params, results = shape
    sc = abi.SC
    cret = _c_ret(results)
    zero = {"i32": "0", "i64": "0", "double": "0.0", "ptr": "null", "void": ""}[cret]
    ret_zero = f"ret {cret} {zero}" if cret != "void" else "ret void"
    loads = [
        "  %vmctx = load ptr, ptr %argv, align 8",
        "  %fnp = getelementptr inbounds i8, ptr %argv, i64 8",
        "  %fn = load ptr, ptr %fnp, align 8",
    ]
    call_args = []
    for i, c in enumerate(params):
        loads.append(f"  %ap{i} = getelementptr inbounds i8, ptr %argv, i64 {16 + 8 * i}")
        if c == "f":
            loads.append(f"  %ad{i} = load double, ptr %ap{i}, align 8")
            loads.append(f"  %a{i} = call float @np_narrow(double %ad{i})")
        else:
            loads.append(f"  %a{i} = load {LLTYPE[c]}, ptr %ap{i}, align 8")
        call_args.append(f"{LLTYPE[c]} %a{i}")
    wret = ret_type(results)
    call = f"call tailcc {wret} %fn(ptr %vmctx{''.join(', ' + a for a in call_args)})"
    out = [f"  {call}" if wret == "void" else f"  %r = {call}"]
    restore = """\
{restore_gil}  %oj = load volatile ptr, ptr %save0, align 8
  store ptr %oj, ptr %jbp, align 8
  %of = load volatile ptr, ptr %save1, align 8
  store ptr %of, ptr %efp, align 8
  %od = load volatile i64, ptr %save2, align 8
  store i64 %od, ptr %dp, align 8
  %ol = load volatile i64, ptr %save4, align 8
  %ol.lo = trunc i64 %ol to i32
  store i32 %ol.lo, ptr %limp, align 8
  %ol.s = lshr i64 %ol, 32
  %ol.hi = trunc i64 %ol.s to i16
  store i16 %ol.hi, ptr %limhp, align 4"""
    restore_gil = ("  %ots = load volatile ptr, ptr %save3, align 8\n"
                   "  call void @PyEval_RestoreThread(ptr %ots)\n") if release_gil else ""
    restore = restore.replace("{restore_gil}", restore_gil)
    out.append(restore)
    if len(results) == 1:
        if results == "f":
            out.append("  %rw = call double @np_widen(float %r)")
            out.append("  ret double %rw")
        else:
            out.append(f"  ret {_C_TYPE[results]} %r")
    elif results:
        res = sc["results"]
        for i, c in enumerate(results):
            out.append(f"  %v{i} = extractvalue {wret} %r, {i}")
            out.append(f"  %s{i} = getelementptr inbounds i8, ptr %sc, i64 {res + 8 * i}")
            if c == "f":
                out.append(f"  %w{i} = call double @np_widen(float %v{i})")
                out.append(f"  store double %w{i}, ptr %s{i}, align 8")
            elif c == "i":
                out.append(f"  %z{i} = zext i32 %v{i} to i64")
                out.append(f"  store i64 %z{i}, ptr %s{i}, align 8")
            else:
                out.append(f"  store {LLTYPE[c]} %v{i}, ptr %s{i}, align 8")
        out.append("  ret void")
    else:
        out.append("  ret void")
    body = "\n".join(out)
    restore2 = (restore.replace("%ots", "%cts").replace("%oj", "%cj").replace("%of", "%cf")
                .replace("%od", "%cd").replace("%ol", "%cl"))  # fmt: skip
    head = "\n".join(loads)
    release = ("  %ts = call ptr @PyEval_SaveThread()\n"
               "  store volatile ptr %ts, ptr %save3, align 8") if release_gil else ""
    symbol = entry_symbol(shape) if release_gil else held_entry_symbol(shape)
    return f"""\
define dso_local {cret} @{symbol}(ptr %argv) #1 {{
entry:
  %jb = alloca [40 x i64], align 16
  %save0 = alloca ptr, align 8
  %save1 = alloca ptr, align 8
  %save2 = alloca i64, align 8
  %save3 = alloca ptr, align 8
  %save4 = alloca i64, align 8
{head}
  %sc = load ptr, ptr %vmctx, align 8
  %dp = getelementptr inbounds i8, ptr %sc, i64 {sc["depth"]}
  %depth = load i64, ptr %dp, align 8
  %self = call i64 @pthread_self()
  %ownp = getelementptr inbounds i8, ptr %sc, i64 {sc["owner"]}
  %owner = load i64, ptr %ownp, align 8
  %mine = icmp eq i64 %owner, %self
  br i1 %mine, label %owned, label %foreign
foreign:
  %nested = icmp ne i64 %depth, 0
  %why = select i1 %nested, i32 {abi.EXIT_CONCURRENT}, i32 {abi.EXIT_THREAD}
  %fl = load i32, ptr %sc, align 4
  %fl1 = or i32 %fl, %why
  store i32 %fl1, ptr %sc, align 4
  {ret_zero}
owned:
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %fai = ptrtoint ptr %fa to i64
  %limp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_limit"]}
  %limhp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_limit"] + 4}
  ; Only bytes 0-5 are the limit; byte 7 is the epoch trip Python sets from any
  ; thread, so this code never writes it (6-byte stores, no read-modify-write).
  %oldlim.w = load atomic i64, ptr %limp monotonic, align 8
  %oldlim = and i64 %oldlim.w, {abi.LIMIT_MASK}
  store volatile i64 %oldlim, ptr %save4, align 8
  %lowp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_low"]}
  %low = load i64, ptr %lowp, align 8
  %outer = icmp eq i64 %depth, 0
  br i1 %outer, label %firstlimit, label %nestedlimit
firstlimit:
  ; Wasm may use max_stack bytes below this entry.
  %maxp = getelementptr inbounds i8, ptr %sc, i64 {sc["max_stack"]}
  %max = load i64, ptr %maxp, align 8
  %roomy = icmp ugt i64 %fai, %max
  %cand0 = sub i64 %fai, %max
  %cand1 = select i1 %roomy, i64 %cand0, i64 0
  br label %setlimit
nestedlimit:
  ; Re-entry from a host function: the host's frames (Python, ctypes) do not count
  ; against max_wasm_stack, so the limit moves down by their size.
  %hfpp = getelementptr inbounds i8, ptr %sc, i64 {sc["host_fp"]}
  %hfp = load i64, ptr %hfpp, align 8
  %above = icmp ugt i64 %hfp, %fai
  %used0 = sub i64 %hfp, %fai
  %used = select i1 %above, i64 %used0, i64 0
  %fits = icmp ugt i64 %oldlim, %used
  %cand2 = sub i64 %oldlim, %used
  %cand3 = select i1 %fits, i64 %cand2, i64 0
  br label %setlimit
setlimit:
  %cand = phi i64 [ %cand1, %firstlimit ], [ %cand3, %nestedlimit ]
  %higher = icmp ugt i64 %cand, %low
  %lim = select i1 %higher, i64 %cand, i64 %low
  %lim.lo = trunc i64 %lim to i32
  store i32 %lim.lo, ptr %limp, align 8
  %lim.s = lshr i64 %lim, 32
  %lim.hi = trunc i64 %lim.s to i16
  store i16 %lim.hi, ptr %limhp, align 4
  br label %go
go:
  %jbp = getelementptr inbounds i8, ptr %sc, i64 {sc["jmpbuf"]}
  %efp = getelementptr inbounds i8, ptr %sc, i64 {sc["entry_fp"]}
  %oldj = load ptr, ptr %jbp, align 8
  store volatile ptr %oldj, ptr %save0, align 8
  %oldf = load ptr, ptr %efp, align 8
  store volatile ptr %oldf, ptr %save1, align 8
  store volatile i64 %depth, ptr %save2, align 8
  store ptr %jb, ptr %jbp, align 8
  store ptr %fa, ptr %efp, align 8
  %d1 = add i64 %depth, 1
  store i64 %d1, ptr %dp, align 8
{release}  %sj = call i32 @_setjmp(ptr %jb) #4
  %trapped = icmp ne i32 %sj, 0
  br i1 %trapped, label %caught, label %run
run:
{body}
caught:
{restore2}
  {ret_zero}
}}
"""


def host_thunk(shape: Shape) -> str:
    params, results = shape
    sc = abi.SC
    wret = ret_type(results)
    args = "".join(f", {LLTYPE[c]} %a{i}" for i, c in enumerate(params))
    conv = []
    cargs = []
    for i, c in enumerate(params):
        if c == "f":
            conv.append(f"  %w{i} = call double @np_widen(float %a{i})")
            cargs.append(f"double %w{i}")
        else:
            cargs.append(f"{LLTYPE[c]} %a{i}")
    lines = [
        f"define dso_local tailcc {wret} @{host_symbol(shape)}(ptr %hctx{args}) #1 {{",
        "entry:",
        "  %cb = load ptr, ptr %hctx, align 8",
        f"  %scp = getelementptr inbounds i8, ptr %hctx, i64 {abi.HOST_SC}",
        "  %sc = load ptr, ptr %scp, align 8",
        f"  %cp = getelementptr inbounds i8, ptr %sc, i64 {sc['caller']}",
        "  %caller = load ptr, ptr %cp, align 8",
        "  %hfa = call ptr @llvm.frameaddress.p0(i32 0)",
        f"  %hfpp = getelementptr inbounds i8, ptr %sc, i64 {sc['host_fp']}",
        "  store ptr %hfa, ptr %hfpp, align 8",
        *conv,
        f"  %ok = call i32 %cb(ptr %caller{''.join(', ' + a for a in cargs)})",
        "  %bad = icmp eq i32 %ok, 0",
        "  br i1 %bad, label %fail, label %done",
        "fail:",
        f"  call void @np_trap(ptr %sc, i32 {abi.TRAP_HOST}, i32 -1)",
        "  unreachable",
        "done:",
    ]
    vals = []
    for i, c in enumerate(results):
        lines.append(f"  %p{i} = getelementptr inbounds i8, ptr %sc, i64 {sc['results'] + 8 * i}")
        if c == "f":
            lines.append(f"  %d{i} = load double, ptr %p{i}, align 8")
            lines.append(f"  %v{i} = call float @np_narrow(double %d{i})")
        else:
            lines.append(f"  %v{i} = load {LLTYPE[c]}, ptr %p{i}, align 8")
        vals.append((LLTYPE[c], f"%v{i}"))
    if not vals:
        lines.append("  ret void")
    elif len(vals) == 1:
        lines.append(f"  ret {vals[0][0]} {vals[0][1]}")
    else:
        agg = "undef"
        for i, (t, v) in enumerate(vals):
            lines.append(f"  %agg{i} = insertvalue {wret} {agg}, {t} {v}, {i}")
            agg = f"%agg{i}"
        lines.append(f"  ret {wret} {agg}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- assembling
@dataclass
class Partition:
    """One LLVM module's worth of a Wasm module."""

    index: int
    funcs: list[int]
    glue: bool
    """Whether it carries the entries and host thunks."""


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
        decls.append(f"declare tailcc {ret_type(_shape(ft)[1])} @{info.func_symbol(f)}(ptr{params}) #0")
    glue = []
    if part.glue:
        for shape in shapes if shapes is not None else info.shapes():
            glue.append(entry_trampoline(shape))
            glue.append(entry_trampoline(shape, release_gil=False))
            glue.append(host_thunk(shape))
    header = [
        f'target datalayout = "{datalayout}"',
        f'target triple = "{triple}"',
        "",
        *HEADER_DECLS,
        *info.declarations,
        *decls,
        "",
        trap_routine(),
    ]
    return ("\n".join(header) + "\n" + "\n".join(bodies) + "\n" + "\n".join(glue) + "\n"
            + ATTRIBUTES + 'attributes #4 = { returns_twice }\n' + METADATA)


def glue_only_text(shapes: list[Shape], triple: str, datalayout: str) -> str:
    """A module with just entries and thunks for ``shapes`` (host functions whose shape
    no loaded module provides)."""
    header = [
        f'target datalayout = "{datalayout}"',
        f'target triple = "{triple}"',
        *HEADER_DECLS,
        "",
        trap_routine(),
    ]
    glue = []
    for shape in shapes:
        glue.append(entry_trampoline(shape))
        glue.append(entry_trampoline(shape, release_gil=False))
        glue.append(host_thunk(shape))
    return ("\n".join(header) + "\n" + "\n".join(glue) + "\n" + ATTRIBUTES
            + 'attributes #4 = { returns_twice }\n' + METADATA)

