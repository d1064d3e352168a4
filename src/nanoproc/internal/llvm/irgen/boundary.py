"""Generated code at the boundary with Python: entry trampolines, host thunks and the
helper call, all written against CPython's C API.

Every crossing is made so that no Python failure can be lost or misread, whenever it
happens (a RecursionError as a Python frame is pushed, a KeyboardInterrupt at any
bytecode boundary, a MemoryError making an int):

* Python calls an entry through a ``ctypes.PYFUNCTYPE`` prototype: ctypes raises any
  exception the entry left set. The entry reports what stopped it that way, never
  through shared memory: after a trap it sets ``StoreCtx.exit_trap``, when the store
  belongs to another thread ``exit_thread`` (claim it and retry) or ``exit_busy``
  (it is running there). So a failure is per call and per thread, and nothing stale
  is left for the next call to misread.
* Results leave as Python objects made here, before any Python code can run:
  references are owned (``Py_IncRef``) the moment native code lets go of them, so an
  externref whose last other owner went away during the call (a table slot
  overwritten, a host function's fresh object) is never read after it was freed.
* Native code calls Python (a host function, the runtime helper) with
  ``PyObject_Vectorcall``, not a ctypes callback. Whatever escapes, even before the
  first line of the Python function ran, is fetched with ``PyErr_Fetch`` into
  ``StoreCtx.pending`` and turned into a TRAP_HOST trap; a ctypes callback would
  print it as "Exception ignored" and return garbage, which native code would take
  for a result.
"""

from __future__ import annotations

from .. import abi
from ..symbols import entry_symbol, held_entry_symbol, host_symbol
from .types import (
    LLTYPE,
    UNOPTIMISED,
    Shape,
    huge_shape,
    is_huge,
    is_wide,
    ret_type,
)

PYAPI_DECLS = (
    "declare i32 @PyGILState_Ensure() nounwind",
    "declare void @PyGILState_Release(i32) nounwind",
    "declare ptr @PyLong_FromUnsignedLongLong(i64) nounwind",
    "declare ptr @PyFloat_FromDouble(double) nounwind",
    "declare ptr @PyNumber_Lshift(ptr, ptr) nounwind",
    "declare ptr @PyNumber_Or(ptr, ptr) nounwind",
    "declare ptr @PyObject_Vectorcall(ptr, ptr, i64, ptr) nounwind",
    "declare void @Py_IncRef(ptr) nounwind",
    "declare void @Py_DecRef(ptr) nounwind",
    "declare void @PyErr_Fetch(ptr, ptr, ptr) nounwind",
    "declare void @PyErr_NormalizeException(ptr, ptr, ptr) nounwind",
    "declare i32 @PyException_SetTraceback(ptr, ptr) nounwind",
    "declare void @PyErr_SetNone(ptr) nounwind",
    "declare i64 @PyLong_AsLongLong(ptr) nounwind",
    "declare ptr @PyErr_Occurred() nounwind",
    "declare ptr @PyTuple_New(i64) nounwind",
    "declare i32 @PyTuple_SetItem(ptr, i64, ptr) nounwind",
    "@_Py_NoneStruct = external global i8",
)

_C_TYPE = {"i": "i32", "I": "i64", "f": "double", "F": "double", "r": "ptr", "e": "ptr",
           "a": "ptr"}
"""How each shape letter crosses the C ABI to and from Python."""


def runtime_routines() -> str:
    """``np_capture``, ``np_helper``, ``np_v128_obj`` and ``np_xobj`` (internal to every
    module carrying code).

    Both are ``cold`` (attribute group #6): LLVM puts them in ``.text.unlikely``, so
    the module's Wasm functions keep the placement they had without them (a hot loop
    moved by a few hundred bytes ran 30% slower in benchmarks/programs/vm)."""
    sc = abi.SC
    return f"""\
define internal void @np_capture(ptr %sc) #6 {{
entry:
  %t = alloca ptr, align 8
  %v = alloca ptr, align 8
  %tb = alloca ptr, align 8
  call void @PyErr_Fetch(ptr %t, ptr %v, ptr %tb)
  call void @PyErr_NormalizeException(ptr %t, ptr %v, ptr %tb)
  %tv = load ptr, ptr %t, align 8
  %vv = load ptr, ptr %v, align 8
  %tbv = load ptr, ptr %tb, align 8
  %hasv = icmp ne ptr %vv, null
  %hastb = icmp ne ptr %tbv, null
  %both = and i1 %hasv, %hastb
  br i1 %both, label %settb, label %keep
settb:
  %ign = call i32 @PyException_SetTraceback(ptr %vv, ptr %tbv)
  br label %keep
keep:
  call void @Py_DecRef(ptr %tv)
  call void @Py_DecRef(ptr %tbv)
  %pp = getelementptr inbounds i8, ptr %sc, i64 {sc["pending"]}
  %old = load ptr, ptr %pp, align 8
  store ptr %vv, ptr %pp, align 8
  call void @Py_DecRef(ptr %old)
  ret void
}}

@np_helper_ptr = internal global ptr @np_helper

define internal i64 @np_helper(ptr %vmctx, i32 %op, i64 %a, i64 %b, i64 %c, i64 %d) #6 {{
entry:
  %argv = alloca [6 x ptr], align 8
  %sc = load ptr, ptr %vmctx, align 8
  %hep = getelementptr inbounds i8, ptr %sc, i64 {sc["host_error"]}
  store i32 0, ptr %hep, align 4
  %g = call i32 @PyGILState_Ensure()
  %fnp = getelementptr inbounds i8, ptr %sc, i64 {sc["helper"]}
  %fn = load ptr, ptr %fnp, align 8
  %vi = ptrtoint ptr %vmctx to i64
  %opi = zext i32 %op to i64
  %o0 = call ptr @PyLong_FromUnsignedLongLong(i64 %vi)
  %o1 = call ptr @PyLong_FromUnsignedLongLong(i64 %opi)
  %o2 = call ptr @PyLong_FromUnsignedLongLong(i64 %a)
  %o3 = call ptr @PyLong_FromUnsignedLongLong(i64 %b)
  %o4 = call ptr @PyLong_FromUnsignedLongLong(i64 %c)
  %o5 = call ptr @PyLong_FromUnsignedLongLong(i64 %d)
{_store_args("%argv", 6)}
{_any_null("%o", 6, "%bad")}
  br i1 %bad, label %argfail, label %call
call:
  %r = call ptr @PyObject_Vectorcall(ptr %fn, ptr %argv, i64 6, ptr null)
{_decrefs("%o", 6)}
  %rnull = icmp eq ptr %r, null
  br i1 %rnull, label %fail, label %conv
conv:
  %v = call i64 @PyLong_AsLongLong(ptr %r)
  call void @Py_DecRef(ptr %r)
  %m1 = icmp eq i64 %v, -1
  br i1 %m1, label %check, label %ok
check:
  %err = call ptr @PyErr_Occurred()
  %iserr = icmp ne ptr %err, null
  br i1 %iserr, label %fail, label %ok
ok:
  call void @PyGILState_Release(i32 %g)
  ret i64 %v
argfail:
{_decrefs("%o", 6)}
  br label %fail
fail:
  call void @np_capture(ptr %sc)
  store i32 {abi.TRAP_HOST}, ptr %hep, align 4
  call void @PyGILState_Release(i32 %g)
  ret i64 {abi.HELPER_FAILED}
}}

; The Python int of a v128 (lo | hi << 64: lane 0 in the low bits), a new reference
; (null with the exception set if making it failed), through the public C API only.
; Called with the GIL held.
define internal ptr @np_v128_obj(<2 x i64> %v) #6 {{
entry:
  %lo = extractelement <2 x i64> %v, i32 0
  %hi = extractelement <2 x i64> %v, i32 1
  %h = call ptr @PyLong_FromUnsignedLongLong(i64 %hi)
  %l = call ptr @PyLong_FromUnsignedLongLong(i64 %lo)
  %k = call ptr @PyLong_FromUnsignedLongLong(i64 64)
  %hn = icmp eq ptr %h, null
  %ln = icmp eq ptr %l, null
  %kn = icmp eq ptr %k, null
  %n1 = or i1 %hn, %ln
  %bad = or i1 %n1, %kn
  br i1 %bad, label %done, label %shift
shift:
  %sh = call ptr @PyNumber_Lshift(ptr %h, ptr %k)
  %shn = icmp eq ptr %sh, null
  br i1 %shn, label %done, label %join
join:
  %r = call ptr @PyNumber_Or(ptr %sh, ptr %l)
  call void @Py_DecRef(ptr %sh)
  br label %done
done:
  %res = phi ptr [ null, %entry ], [ null, %shift ], [ %r, %join ]
  call void @Py_DecRef(ptr %h)
  call void @Py_DecRef(ptr %l)
  call void @Py_DecRef(ptr %k)
  ret ptr %res
}}

; The Python object of an externref (a new reference; null with the exception set
; if making it failed). A GC reference in an externref (extern.convert_any: the low
; two bits not both clear) is not an object: the helper (H_EXTERN_OBJECT) makes its
; Python value. Called with the GIL held.
define internal ptr @np_xobj(ptr %vmctx, ptr %v) #6 {{
entry:
  %argv = alloca [6 x ptr], align 8
  %vi = ptrtoint ptr %v to i64
  %tag = and i64 %vi, 3
  %isgc = icmp ne i64 %tag, 0
  br i1 %isgc, label %gc, label %obj
obj:
  %nul = icmp eq ptr %v, null
  %ob = select i1 %nul, ptr @_Py_NoneStruct, ptr %v
  call void @Py_IncRef(ptr %ob)
  ret ptr %ob
gc:
  %sc = load ptr, ptr %vmctx, align 8
  %fnp = getelementptr inbounds i8, ptr %sc, i64 {sc["helper"]}
  %fn = load ptr, ptr %fnp, align 8
  %vm = ptrtoint ptr %vmctx to i64
  %o0 = call ptr @PyLong_FromUnsignedLongLong(i64 %vm)
  %o1 = call ptr @PyLong_FromUnsignedLongLong(i64 {abi.H_EXTERN_OBJECT})
  %o2 = call ptr @PyLong_FromUnsignedLongLong(i64 %vi)
  %o3 = call ptr @PyLong_FromUnsignedLongLong(i64 0)
  %o4 = call ptr @PyLong_FromUnsignedLongLong(i64 0)
  %o5 = call ptr @PyLong_FromUnsignedLongLong(i64 0)
{_store_args("%argv", 6)}
{_any_null("%o", 6, "%bad")}
  br i1 %bad, label %argfail, label %call
call:
  %r = call ptr @PyObject_Vectorcall(ptr %fn, ptr %argv, i64 6, ptr null)
{_decrefs("%o", 6)}
  ret ptr %r
argfail:
{_decrefs("%o", 6)}
  ret ptr null
}}
"""


def _store_args(argv: str, n: int, prefix: str = "%o") -> str:
    lines = []
    for i in range(n):
        lines.append(f"  %ap.{i} = getelementptr inbounds ptr, ptr {argv}, i64 {i}")
        lines.append(f"  store ptr {prefix}{i}, ptr %ap.{i}, align 8")
    return "\n".join(lines)


def _any_null(prefix: str, n: int, out: str) -> str:
    """``out`` = whether any of ``prefix0 .. prefix{n-1}`` is null (an allocation
    failed, with its exception set)."""
    lines = []
    acc = "false"
    for i in range(n):
        lines.append(f"  %nz.{i} = icmp eq ptr {prefix}{i}, null")
        nxt = f"%anyn.{i}" if i < n - 1 else out
        lines.append(f"  {nxt} = or i1 {acc}, %nz.{i}")
        acc = nxt
    if not n:
        lines.append(f"  {out} = or i1 false, false")
    return "\n".join(lines)


def _decrefs(prefix: str, n: int) -> str:
    return "\n".join(f"  call void @Py_DecRef(ptr {prefix}{i})" for i in range(n))


def helper_call(op: int, args: list[str], extra: str = "", callee: str = "@np_helper") -> str:
    """The call of the helper: ``call i64 @np_helper(...)`` (``extra``: call-site
    attributes; ``callee``: the function, or a pointer to it loaded from
    ``@np_helper_ptr``, which hides it from LLVM: see FunctionGen.assemble)."""
    a = [f"i64 {x}" for x in args] + ["i64 0"] * (4 - len(args))
    return f"call i64 {callee}(ptr %vmctx, i32 {op}, {', '.join(a)}){extra}"


# ---------------------------------------------------------------- entries
def _py_value(c: str, v: str, name: str, out: list[str]) -> str:
    """Lines making a new reference to the Python value of native value ``v`` (shape
    letter ``c``; ``x`` an object pointer, null for None); returns its name."""
    if c == "i":
        out.append(f"  %{name}.z = zext i32 {v} to i64")
        out.append(f"  %{name} = call ptr @PyLong_FromUnsignedLongLong(i64 %{name}.z)")
    elif c == "I":
        out.append(f"  %{name} = call ptr @PyLong_FromUnsignedLongLong(i64 {v})")
    elif c == "f":
        out.append(f"  %{name}.w = call double @np_widen(float {v})")
        out.append(f"  %{name} = call ptr @PyFloat_FromDouble(double %{name}.w)")
    elif c == "F":
        out.append(f"  %{name} = call ptr @PyFloat_FromDouble(double {v})")
    elif c == "V":  # an unsigned int from the 16 bytes, lane 0 in the low bits
        out.append(f"  %{name} = call ptr @np_v128_obj(<2 x i64> {v})")
    elif c in "rea":  # handles: Python maps them (funcrefs, exnrefs, GC references)
        out.append(f"  %{name}.i = ptrtoint ptr {v} to i64")
        out.append(f"  %{name} = call ptr @PyLong_FromUnsignedLongLong(i64 %{name}.i)")
    else:
        # in entries only (host thunks see ``r``): %vmctx is defined there
        out.append(f"  %{name} = call ptr @np_xobj(ptr %vmctx, ptr {v})")
    return f"%{name}"


def _as_handles(results: str) -> str:
    """Result letters with every handle kind (``r``, ``e``, ``a``) as ``I``."""
    return results.replace("r", "I").replace("e", "I").replace("a", "I")


def _c_ret(results: str) -> str:
    """What an entry returns: the value itself for one number or funcref, else a
    Python object (an externref's object, a v128's int, or the tuple of several
    results)."""
    if len(results) == 1 and results not in "xV":
        return _C_TYPE[results]
    return "ptr" if results else "void"


def slot_offsets(letters: str) -> list[int]:
    """Byte offsets of values in an array of 8-byte slots (a v128 takes two: its low
    then its high 64 bits)."""
    out = []
    at = 0
    for c in letters:
        out.append(at)
        at += 16 if c == "V" else 8
    return out


def entry_trampoline(shape: Shape, release_gil: bool = True) -> str:
    """``RET w_entry_<shape>(ptr argv)``, argv = [vmctx, fn, args...] (8 bytes each;
    two for a v128).

    Called through ``ctypes.PYFUNCTYPE`` with the GIL held: arguments are read and
    the store claimed for this thread (depth, owner) while no other Python thread
    can run, then the GIL is released for the Wasm code and taken back before
    returning (host callbacks take it themselves). Passing the arguments in memory
    rather than as C arguments avoids ctypes' per-argument conversion costs.

    An externref result is returned as its object, several results as a tuple, both
    new references that ctypes' ``py_object`` result takes over. Without ``release_gil`` (symbol ``w_entry_held_<shape>``) the GIL stays
    held: for functions that run in bounded time (no loops, no calls, no bulk
    operations), where releasing and retaking it would cost more than the call.

    The outermost entry on the main thread registers the store in the SigBlock, so
    that a SIGINT trips its interrupt byte (see :mod:`..interrupts`).
    """
    params, results = shape
    sc = abi.SC
    sig = abi.SIG
    cret = _c_ret(results)
    symbol_name = entry_symbol(shape) if release_gil else held_entry_symbol(shape)
    zero = {"i32": "0", "i64": "0", "double": "0.0", "ptr": "null", "void": ""}[cret]
    ret_zero = f"ret {cret} {zero}" if cret != "void" else "ret void"
    loads = [
        "  %vmctx = load ptr, ptr %argv, align 8",
        "  %fnp = getelementptr inbounds i8, ptr %argv, i64 8",
        "  %fn = load ptr, ptr %fnp, align 8",
    ]
    call_args = []
    offsets = slot_offsets(params)
    for i, c in enumerate(params):
        loads.append(f"  %ap{i} = getelementptr inbounds i8, ptr %argv, i64 {16 + offsets[i]}")
        if c == "f":
            loads.append(f"  %ad{i} = load double, ptr %ap{i}, align 8")
            loads.append(f"  %a{i} = call float @np_narrow(double %ad{i})")
        else:
            loads.append(f"  %a{i} = load {LLTYPE[c]}, ptr %ap{i}, align 8")
        call_args.append(f"{LLTYPE[c]} %a{i}")
    wret = ret_type(results)
    wide = is_wide(results)
    out_arg = ", ptr %wbuf" if wide else ""
    call = f"call tailcc {wret} %fn(ptr %vmctx{out_arg}{''.join(', ' + a for a in call_args)})"
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
  store i16 %ol.hi, ptr %limhp, align 4
  %oxt = load volatile ptr, ptr %save6, align 8
  store ptr %oxt, ptr %exnp, align 8
{unregister}"""
    restore_gil = ("  %ots = load volatile ptr, ptr %save3, align 8\n"
                   "  call void @PyEval_RestoreThread(ptr %ots)\n") if release_gil else ""
    # Unregister: count first, then clear the slot (the handler trips slots up to
    # and including ``count``, so the store stays tripped-able until it is gone).
    unregister = (f"""\
  %oreg = load volatile i64, ptr %save5, align 8
  %oregd = icmp ne i64 %oreg, 0
  br i1 %oregd, label %unreg{{sfx}}, label %unregd{{sfx}}
unreg{{sfx}}:
  %ocnt = load volatile i64, ptr %cntp, align 8
  %ocnt1 = sub i64 %ocnt, 1
  store volatile i64 %ocnt1, ptr %cntp, align 8
  %oslot = getelementptr inbounds i8, ptr %sig, i64 {sig["stores"]}
  %oslot1 = getelementptr inbounds ptr, ptr %oslot, i64 %ocnt1
  store volatile ptr null, ptr %oslot1, align 8
  br label %unregd{{sfx}}
unregd{{sfx}}:""" if release_gil else "")
    restore = restore.replace("{restore_gil}", restore_gil).replace("{unregister}", unregister)
    out.append(restore.replace("{sfx}", ""))
    if len(results) == 1 and results not in "xV":
        if results == "f":
            out.append("  %rw = call double @np_widen(float %r)")
            out.append("  ret double %rw")
        else:
            out.append(f"  ret {_C_TYPE[results]} %r")
    elif results == "V":
        out.append("  ret ptr " + _py_value("V", "%r", "ro", out))
    elif len(results) == 1:
        out.append("  %ro = call ptr @np_xobj(ptr %vmctx, ptr %r)")
        out.append("  ret ptr %ro")
    elif is_huge(results):
        # Funcref, exnref and GC items are handles (Python maps them); kind 1 treats
        # them as i64.
        out += _tuple_loop(_as_handles(results), symbol_name)
    elif results:
        out += _tuple_return(results, wret, wide)
    else:
        out.append("  ret void")
    body = "\n".join(out)
    restore2 = (restore.replace("%ots", "%cts").replace("%oj", "%cj").replace("%of", "%cf")
                .replace("%od", "%cd").replace("%ol", "%cl").replace("%oreg", "%creg")
                .replace("%ocnt", "%ccnt").replace("%oslot", "%cslot").replace("%oxt", "%cxt")
                .replace("{sfx}", ".c"))  # fmt: skip
    head = "\n".join(loads)
    release = ("  %ts = call ptr @PyEval_SaveThread()\n"
               "  store volatile ptr %ts, ptr %save3, align 8") if release_gil else ""
    register = (f"""\
  %sigp = getelementptr inbounds i8, ptr %sc, i64 {sc["sig"]}
  %sig = load ptr, ptr %sigp, align 8
  %cntp = getelementptr inbounds i8, ptr %sig, i64 {sig["count"]}
  %mainp = getelementptr inbounds i8, ptr %sig, i64 {sig["main"]}
  %main = load i64, ptr %mainp, align 8
  %onmain = icmp eq i64 %main, %self
  %regq = and i1 %onmain, %outer
  br i1 %regq, label %regtry, label %regdone
regtry:
  %cnt = load volatile i64, ptr %cntp, align 8
  %room = icmp ult i64 %cnt, {abi.SIG_SLOTS}
  br i1 %room, label %reg, label %regdone
reg:
  %slot0 = getelementptr inbounds i8, ptr %sig, i64 {sig["stores"]}
  %slot = getelementptr inbounds ptr, ptr %slot0, i64 %cnt
  store volatile ptr %sc, ptr %slot, align 8
  %cnt1 = add i64 %cnt, 1
  store volatile i64 %cnt1, ptr %cntp, align 8
  br label %regdone
regdone:
  %regd = phi i64 [ 0, %go ], [ 0, %regtry ], [ 1, %reg ]
  store volatile i64 %regd, ptr %save5, align 8""" if release_gil else "")
    symbol = symbol_name
    kinds = (kinds_constant(f"kinds.{symbol}", _as_handles(results)) + "\n"
             if is_huge(results) else "")
    return kinds + f"""\
define dso_local {cret} @{symbol}(ptr %argv) {UNOPTIMISED if huge_shape(shape) else "#1"} {{
entry:
  %jb = alloca [40 x i64], align 16
  %save0 = alloca ptr, align 8
  %save1 = alloca ptr, align 8
  %save2 = alloca i64, align 8
  %save3 = alloca ptr, align 8
  %save4 = alloca i64, align 8
  %save5 = alloca i64, align 8
  %save6 = alloca ptr, align 8
{f"  %wbuf = alloca [{len(results) + results.count('V')} x i64], align 8" if wide else ""}
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
  %whyo = select i1 %nested, i64 {sc["exit_busy"]}, i64 {sc["exit_thread"]}
  %whyp = getelementptr inbounds i8, ptr %sc, i64 %whyo
  %why = load ptr, ptr %whyp, align 8
  call void @PyErr_SetNone(ptr %why)
  {ret_zero}
owned:
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %fai = ptrtoint ptr %fa to i64
  %limp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_limit"]}
  %limhp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_limit"] + 4}
  ; Only bytes 0-5 are the limit; byte 7 is the interrupt trip Python and the SIGINT
  ; handler set, so this code never writes it (6-byte stores, no read-modify-write).
  %oldlim.w = load atomic i64, ptr %limp monotonic, align 8
  %oldlim = and i64 %oldlim.w, {abi.LIMIT_MASK}
  store volatile i64 %oldlim, ptr %save4, align 8
  %lowp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_low"]}
  %low = load i64, ptr %lowp, align 8
  %outer = icmp eq i64 %depth, 0
  br i1 %outer, label %firstlimit, label %nestedlimit
firstlimit:
  ; The GC scans native frames up to the outermost entry's.
  %topp = getelementptr inbounds i8, ptr %sc, i64 {sc["stack_top"]}
  store i64 %fai, ptr %topp, align 8
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
  ; Wasm exceptions never unwind past an entry: its code starts with no handler.
  %exnp = getelementptr inbounds i8, ptr %sc, i64 {sc["exn_top"]}
  %oldxt = load ptr, ptr %exnp, align 8
  store volatile ptr %oldxt, ptr %save6, align 8
  store ptr null, ptr %exnp, align 8
  store ptr %jb, ptr %jbp, align 8
  store ptr %fa, ptr %efp, align 8
  %d1 = add i64 %depth, 1
  store i64 %d1, ptr %dp, align 8
{register}
{release}  %sj = call i32 @_setjmp(ptr %jb) #4
  %trapped = icmp ne i32 %sj, 0
  br i1 %trapped, label %caught, label %check
check:
  ; The function may spill into its frame before its own stack check runs: enter
  ; it only above the limit, which leaves room for the largest frame below it.
  %roomy.e = icmp uge i64 %fai, %lim
  br i1 %roomy.e, label %run, label %toodeep
toodeep:
  call void @np_trap(ptr %sc, i32 {abi.TRAP_STACK_OVERFLOW}, i32 0)
  unreachable
run:
{body}
caught:
{restore2}
  %xtp = getelementptr inbounds i8, ptr %sc, i64 {sc["exit_trap"]}
  %xt = load ptr, ptr %xtp, align 8
  call void @PyErr_SetNone(ptr %xt)
  {ret_zero}
}}
"""


_KIND = {"i": 0, "I": 1, "f": 2, "F": 3, "r": 4, "x": 5}


def kinds_constant(name: str, letters: str) -> str:
    """A private constant with one byte per letter (see ``_KIND``): huge shapes loop
    over it instead of unrolling code per value."""
    data = "".join(f"\\{_KIND[c]:02X}" for c in letters)
    return f'@{name} = private unnamed_addr constant [{len(letters)} x i8] c"{data}"'


def _tuple_loop(results: str, symbol: str) -> list[str]:
    """The tuple of a huge result buffer ``%wbuf``, made by a loop (code size and
    compile time independent of the count)."""
    n = len(results)
    return [
        f"  %tup = call ptr @PyTuple_New(i64 {n})",
        "  %tupn = icmp eq ptr %tup, null",
        "  br i1 %tupn, label %tfail, label %tpre",
        "tpre:",
        "  br label %tloop",
        "tloop:",
        "  %ti = phi i64 [ 0, %tpre ], [ %ti1, %tset ]",
        f"  %tkp = getelementptr inbounds [{n} x i8], ptr @kinds.{symbol}, i64 0, i64 %ti",
        "  %tk = load i8, ptr %tkp, align 1",
        "  %tvo = shl i64 %ti, 3",
        "  %tvp = getelementptr inbounds i8, ptr %wbuf, i64 %tvo",
        "  switch i8 %tk, label %tI [ i8 0, label %ti32 i8 2, label %tf32 i8 3, label %tf64"
        " i8 5, label %tx ]",
        "ti32:",
        "  %t0 = load i32, ptr %tvp, align 8",
        "  %t0z = zext i32 %t0 to i64",
        "  %o0 = call ptr @PyLong_FromUnsignedLongLong(i64 %t0z)",
        "  br label %tjoin",
        "tI:",
        "  %t1 = load i64, ptr %tvp, align 8",
        "  %o1 = call ptr @PyLong_FromUnsignedLongLong(i64 %t1)",
        "  br label %tjoin",
        "tf32:",
        "  %t2 = load float, ptr %tvp, align 8",
        "  %t2w = call double @np_widen(float %t2)",
        "  %o2 = call ptr @PyFloat_FromDouble(double %t2w)",
        "  br label %tjoin",
        "tf64:",
        "  %t3 = load double, ptr %tvp, align 8",
        "  %o3 = call ptr @PyFloat_FromDouble(double %t3)",
        "  br label %tjoin",
        "tx:",
        "  %t5 = load ptr, ptr %tvp, align 8",
        "  %o5 = call ptr @np_xobj(ptr %vmctx, ptr %t5)",
        "  br label %tjoin",
        "tjoin:",
        "  %to = phi ptr [ %o0, %ti32 ], [ %o1, %tI ], [ %o2, %tf32 ], [ %o3, %tf64 ],"
        " [ %o5, %tx ]",
        "  %ton = icmp eq ptr %to, null",
        "  br i1 %ton, label %tdrop, label %tset",
        "tset:",
        "  %tsi = call i32 @PyTuple_SetItem(ptr %tup, i64 %ti, ptr %to)",
        "  %ti1 = add i64 %ti, 1",
        f"  %tmore = icmp ult i64 %ti1, {n}",
        "  br i1 %tmore, label %tloop, label %tok",
        "tdrop:",
        "  call void @Py_DecRef(ptr %tup)",
        "  br label %tfail",
        "tok:",
        "  ret ptr %tup",
        "tfail:",
        "  ret ptr null",
    ]


def _tuple_return(results: str, wret: str, wide: bool) -> list[str]:
    """Return the results as a new tuple (a new reference: ctypes' ``py_object``
    result takes it over); null with the exception set if an allocation failed."""
    n = len(results)
    out = [f"  %tup = call ptr @PyTuple_New(i64 {n})",
           "  %tupn = icmp eq ptr %tup, null",
           "  br i1 %tupn, label %tfail, label %tfill",
           "tfill:"]  # fmt: skip
    offsets = slot_offsets(results)
    for i, c in enumerate(results):
        if wide:
            out.append(f"  %vp{i} = getelementptr inbounds i8, ptr %wbuf, i64 {offsets[i]}")
            out.append(f"  %v{i} = load {LLTYPE[c]}, ptr %vp{i}, align 8")
        else:
            out.append(f"  %v{i} = extractvalue {wret} %r, {i}")
        o = _py_value(c, f"%v{i}", f"o{i}", out)
        out.append(f"  %set{i} = call i32 @PyTuple_SetItem(ptr %tup, i64 {i}, ptr {o})")
    # A failed allocation left a null item (SetItem of null stores null): give up.
    out.append(_any_null("%o", n, "%tbad"))
    out += [
        "  br i1 %tbad, label %tdrop, label %tok",
        "tdrop:",
        "  call void @Py_DecRef(ptr %tup)",
        "  br label %tfail",
        "tok:",
        "  ret ptr %tup",
        "tfail:",
        "  ret ptr null",
    ]
    return out


# ---------------------------------------------------------------- host thunks
def host_thunk(shape: Shape) -> str:
    """``w_host_<shape>(hostctx, args...)``: what a host function's FuncRecord points
    to. hostctx = {the Python callable, StoreCtx}. Calls ``callable(caller_vmctx,
    *args)`` with the GIL taken, reads the results it wrote to StoreCtx.results,
    and traps with TRAP_HOST if anything was raised."""
    params, results = shape
    sc = abi.SC
    wret = ret_type(results)
    wide = is_wide(results)
    args = "".join(f", {LLTYPE[c]} %a{i}" for i, c in enumerate(params))
    n = len(params) + 1
    out_param = ", ptr %out" if wide else ""
    lines = [
        f"define dso_local tailcc {wret} @{host_symbol(shape)}(ptr %hctx{out_param}{args}) "
        f"{UNOPTIMISED if huge_shape(shape) else '#1'} {{",
        "entry:",
        f"  %argv = alloca [{n} x ptr], align 8",
        "  %cb = load ptr, ptr %hctx, align 8",
        f"  %scp = getelementptr inbounds i8, ptr %hctx, i64 {abi.HOST_SC}",
        "  %sc = load ptr, ptr %scp, align 8",
        f"  %cp = getelementptr inbounds i8, ptr %sc, i64 {sc['caller']}",
        "  %caller = load ptr, ptr %cp, align 8",
        "  %hfa = call ptr @llvm.frameaddress.p0(i32 0)",
        f"  %hfpp = getelementptr inbounds i8, ptr %sc, i64 {sc['host_fp']}",
        "  store ptr %hfa, ptr %hfpp, align 8",
        "  %g = call i32 @PyGILState_Ensure()",
        "  %ci = ptrtoint ptr %caller to i64",
        "  %o0 = call ptr @PyLong_FromUnsignedLongLong(i64 %ci)",
    ]
    for i, c in enumerate(params):
        # Arguments go to Python as the entry's results do, except that references
        # stay handles (the callback looks objects up: they are alive, since native
        # code got them from an owner that still holds them).
        if c == "r":
            lines.append(f"  %a{i}.h = ptrtoint ptr %a{i} to i64")
            lines.append(f"  %o{i + 1} = call ptr @PyLong_FromUnsignedLongLong(i64 %a{i}.h)")
        else:
            _py_value(c, f"%a{i}", f"o{i + 1}", lines)
    lines += [
        _store_args("%argv", n),
        _any_null("%o", n, "%bad"),
        "  br i1 %bad, label %argfail, label %call",
        "call:",
        f"  %res = call ptr @PyObject_Vectorcall(ptr %cb, ptr %argv, i64 {n}, ptr null)",
        _decrefs("%o", n),
        "  %rnull = icmp eq ptr %res, null",
        "  br i1 %rnull, label %fail, label %done",
        "argfail:",
        _decrefs("%o", n),
        "  br label %fail",
        "fail:",
        "  call void @np_capture(ptr %sc)",
        "  call void @PyGILState_Release(i32 %g)",
        # A Wasm exception the host function raised is thrown into its caller.
        f"  %thrown = {helper_call(abi.H_HOST_THROW, [], callee='@np_helper').replace('%vmctx', '%caller')}",
        "  %isx = icmp eq i64 %thrown, 1",
        "  br i1 %isx, label %throw, label %trap",
        "throw:",
        f"  %xp = getelementptr inbounds i8, ptr %sc, i64 {sc['exn_top']}",
        "  %xh = load ptr, ptr %xp, align 8",
        "  %nox = icmp eq ptr %xh, null",
        "  br i1 %nox, label %uncaught, label %jump",
        "jump:",
        "  call void @np_throw_site(ptr %sc, i32 -1)",  # the call site is where it was thrown
        "  call void @llvm.eh.sjlj.longjmp(ptr %xh)",
        "  unreachable",
        "uncaught:",
        f"  call void @np_trap(ptr %sc, i32 {abi.TRAP_EXCEPTION}, i32 -1)",
        "  unreachable",
        "trap:",
        f"  call void @np_trap(ptr %sc, i32 {abi.TRAP_HOST}, i32 -1)",
        "  unreachable",
        "done:",
        "  call void @Py_DecRef(ptr %res)",
        "  call void @PyGILState_Release(i32 %g)",
    ]
    vals = []
    offsets = slot_offsets(results)
    for i, c in enumerate(results):
        lines.append(f"  %p{i} = getelementptr inbounds i8, ptr %sc, i64 {sc['results'] + offsets[i]}")
        if c == "f":
            lines.append(f"  %d{i} = load double, ptr %p{i}, align 8")
            lines.append(f"  %v{i} = call float @np_narrow(double %d{i})")
        else:
            lines.append(f"  %v{i} = load {LLTYPE[c]}, ptr %p{i}, align 8")
        vals.append((LLTYPE[c], f"%v{i}"))
        if wide:
            lines.append(f"  %q{i} = getelementptr inbounds i8, ptr %out, i64 {offsets[i]}")
            lines.append(f"  store {LLTYPE[c]} %v{i}, ptr %q{i}, align 8")
    if wide or not vals:
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
