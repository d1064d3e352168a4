"""Native filter for function bodies (``bodies.c``, loaded through llvmlite).

For a big module, checking bodies in Python costs ~280 ns per instruction (the fused
check of :mod:`..fused`): CPython for WASI's 32 million instructions take ~9 s of CPU.
``bodies.c`` is the same filter in C (a subset of it: numeric and vector types only),
compiled to LLVM IR once (``build.py``, committed as ``ir.py``) and to machine code by
llvmlite when first used (~0.03 s: the IR is optimised already, so code generation
runs at -O0). Like the fused check it only ever *accepts*: every body it is not sure
of (an error, or anything outside its subset) goes to the Python checks, which give
the error and its offset. Where llvmlite is not installed, or with
``NANOPROC_NATIVE_VALIDATE=0``, :func:`available` is False and validation is pure
Python as before; ``NANOPROC_NATIVE_VALIDATE=always`` uses it for modules of any size
(tests and campaigns: see :func:`min_code_bytes`).

The opcode tables handed to the C code are built here from the operator table by the
fused check's own classification (``fused.KIND``/``INFO``/``PREFIXED``), so there is
no second opcode list.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from typing import Any

from ...binary.typecodes import VALTYPE_BY_BYTE
from ...syntax.module import Module
from ...syntax.ops import Op
from ...syntax.types import F32, F64, FUNCREF, I32, I64, V128, RefType
from ..context import Context
from ..fused import (
    INFO,
    K_BAIL,
    K_BIN,
    K_CONST,
    K_DATADROP,
    K_FIXED,
    K_LOAD,
    K_MEMINIT,
    K_STORE,
    K_UN,
    KIND,
    NEEDS_DATA_COUNT,
    PREFIXED,
)
from ..subtyping import match_valtype

PREFIX_SPAN = 512
PREFIXES = (0xFB, 0xFC, 0xFD)
NOPS = 256 + len(PREFIXES) * PREFIX_SPAN
STACK_CAP = 1 << 16
FRAMES_CAP = 1 << 14
LOCALS_CAP = 50_000
"""Scratch sizes; a body that needs more goes to the Python checks."""

_CODES = {id(I32): 1, id(I64): 2, id(F32): 3, id(F64): 4, id(V128): 5}
T_V128 = 5
# Native-only kinds (bodies.c), after fused.py's: lane immediates.
K_LANE, K_SHUFFLE, K_LOADLANE, K_STORELANE = range(K_BAIL + 1, K_BAIL + 5)


def type_code(t: Any) -> int:
    """The C code of a canonical value type (0: outside the native subset)."""
    code = _CODES.get(id(t), 0)
    if code == 0 and type(t) is RefType and t.heap == "exn":
        return 6 if t.nullable else 7
    return code


def _lane_kind(op: Op) -> tuple[int, int, int, list[int], list[int]] | None:
    """(kind, natural alignment, lanes, params, results) of a lane instruction, from
    its operator-table entry (None: not handled)."""
    params, results = [type_code(t) for t in op.params], [type_code(t) for t in op.results]
    if 0 in params or 0 in results:
        return None
    if op.rule is None and op.imms == ("lane",):
        return K_LANE, 0, op.lanes, params, results
    if op.rule is None and op.imms == ("shuffle",):
        return K_SHUFFLE, 0, op.lanes, params, results
    if op.rule == "memarg" and op.imms == ("memarg", "lane") and params == [T_V128]:
        natural = op.width.bit_length() - 1
        if results == [T_V128]:
            return K_LOADLANE, natural, op.lanes, params, results
        if not results:
            return K_STORELANE, natural, op.lanes, params, results
    return None


_u8p, _u32p, _i32p = ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(ctypes.c_uint32), \
    ctypes.POINTER(ctypes.c_int32)  # fmt: skip


class Tables(ctypes.Structure):
    """``Tables`` in bodies.c (same field order)."""

    _fields_ = [
        ("kind", _u8p), ("a", _u8p), ("b", _u8p), ("c", _u8p), ("sig", _i32p),
        ("byte_type", _u8p), ("sig_types", _u8p), ("sig_off", _u32p), ("sig_np", _u32p),
        ("sig_nr", _u32p), ("type_sig", _i32p), ("func_sig", _i32p), ("glob_type", _u8p),
        ("glob_mut", _u8p), ("mem_addr", _u8p), ("tab_funcref", _u8p), ("tab_addr", _u8p),
        ("tag_sig", _i32p), ("ntags", ctypes.c_uint32),
        ("ntypes", ctypes.c_uint32), ("nfuncs", ctypes.c_uint32),
        ("nglobals", ctypes.c_uint32), ("nmems", ctypes.c_uint32),
        ("ntables", ctypes.c_uint32), ("ndatas", ctypes.c_uint32),
        ("max_locals", ctypes.c_uint32), ("stack_cap", ctypes.c_uint32),
        ("frames_cap", ctypes.c_uint32), ("locals_cap", ctypes.c_uint32),
        ("stack", _u8p), ("locals", _u8p), ("frames", ctypes.c_void_p),
    ]  # fmt: skip


_FIELD_TYPES: dict[str, Any] = {f[0]: f[1] for f in Tables._fields_}

FRAME_SIZE = 48
"""sizeof(Frame) in bodies.c (checked when it is compiled)."""

MIN_CODE_BYTES = 4 << 20
"""Code section size from which validation uses the native filter first; below it,
compiling the filter (~0.03-0.2 s) and building its tables cost more than they save."""


def min_code_bytes() -> int:
    """MIN_CODE_BYTES, or 0 with ``NANOPROC_NATIVE_VALIDATE=always``."""
    return 0 if os.environ.get("NANOPROC_NATIVE_VALIDATE") == "always" else MIN_CODE_BYTES


def available() -> bool:
    """Whether the native filter can be used (llvmlite importable, not disabled)."""
    return os.environ.get("NANOPROC_NATIVE_VALIDATE") != "0" and _usable()


@cache
def _usable() -> bool:
    """Whether the filter compiles here (tried once per process)."""
    try:
        _compiled()
    except Exception:  # noqa: BLE001  (no llvmlite, or it cannot compile here: pure Python)
        return False
    return True


@cache
def _compiled() -> tuple[Any, Any]:
    """(the execution engine, keeping the code alive; np_check_bodies as a ctypes function)."""
    import llvmlite.binding as llvm

    from .ir import IR

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    mod = llvm.parse_assembly(IR)
    mod.verify()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    tm = target.create_target_machine(opt=0)  # the IR is optimised by clang -O2 already
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    ee = llvm.create_mcjit_compiler(mod, tm)
    ee.finalize_object()
    sizes = ctypes.CFUNCTYPE(ctypes.c_uint64)(ee.get_function_address("np_sizes"))()
    if sizes != FRAME_SIZE << 32 | ctypes.sizeof(Tables):
        raise RuntimeError(f"bodies.c's layout differs from this module's ({sizes:#x})")
    u64p = ctypes.POINTER(ctypes.c_uint64)
    fn = ctypes.CFUNCTYPE(
        None, ctypes.POINTER(Tables), ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32,
        u64p, u64p, u64p, _u32p, ctypes.POINTER(ctypes.c_int64),
    )(ee.get_function_address("np_check_bodies"))  # fmt: skip
    return ee, fn


def _op_tables(data_count: bool) -> tuple[Any, ...]:
    """(kind, a, b, c, sig) arrays over opcodes, and the signatures of K_FIXED ops as
    (params, results) code lists, from the fused check's classification."""
    kind = (ctypes.c_uint8 * NOPS)(*([K_BAIL] * NOPS))
    a = (ctypes.c_uint8 * NOPS)()
    b = (ctypes.c_uint8 * NOPS)()
    c = (ctypes.c_uint8 * NOPS)()
    sig = (ctypes.c_int32 * NOPS)()
    sigs: list[tuple[list[int], list[int]]] = []
    entries: list[tuple[int, int, Any, Any]] = [(i, KIND[i], INFO[i], None) for i in range(256)]
    for n, prefix in enumerate(PREFIXES):
        for sub, (k, info, op) in PREFIXED.get(prefix, {}).items():
            if sub < PREFIX_SPAN:
                entries.append((256 + n * PREFIX_SPAN + sub, k, info, op))
    for i, k, info, op in entries:
        if op is not None and op in NEEDS_DATA_COUNT and not data_count:
            continue
        if op is not None and op.lanes:
            lane = _lane_kind(op)
            if lane is not None:
                kind[i], a[i], b[i] = lane[:3]
                sig[i] = len(sigs)
                sigs.append((lane[3], lane[4]))
            continue
        if k == K_BIN:
            codes = [type_code(t) for t in info]
            if 0 in codes:
                continue
            a[i], b[i], c[i] = codes
        elif k == K_UN:
            codes = [type_code(t) for t in info]
            if 0 in codes:
                continue
            a[i], c[i] = codes
        elif k == K_LOAD or k == K_STORE:
            t = type_code(info[1])
            if t == 0:
                continue
            a[i] = info[0]
            if k == K_LOAD:
                c[i] = t
            else:
                b[i] = t
        elif k == K_CONST:
            size, res = info
            if len(res) != 1 or type_code(res[0]) == 0:
                continue
            a[i], c[i] = size, type_code(res[0])
        elif k == K_FIXED:
            params, _, res = info
            pc, rc = [type_code(t) for t in params], [type_code(t) for t in res]
            if 0 in pc or 0 in rc:
                continue
            sig[i] = len(sigs)
            sigs.append((pc, rc))
        elif k in (K_MEMINIT, K_DATADROP) and not data_count:
            continue
        kind[i] = k
    return kind, a, b, c, sig, sigs


class NativeTables:
    """Everything np_check_bodies needs to know of one module (after its module-level
    checks); the ctypes arrays are kept alive here."""

    def __init__(self, ctx: Context, module: Module) -> None:
        data_count = module.data_count is not None
        kind, a, b, c, opsig, sigs = _op_tables(data_count)
        sig_index: dict[int, int] = {}

        def sig_of(ft: Any) -> int:
            got = sig_index.get(id(ft))
            if got is None:
                pc = [type_code(t) for t in ft.params]
                rc = [type_code(t) for t in ft.results]
                got = -1 if 0 in pc or 0 in rc else len(sigs)
                if got >= 0:
                    sigs.append((pc, rc))
                sig_index[id(ft)] = got
                keep.append(ft)  # ids stay unique while ``ft`` is alive
            return got

        keep: list[Any] = []
        func_sig = [sig_of(ft) for ft in ctx.funcs]
        type_sig = []
        for x in range(len(ctx.defs)):
            try:
                ft = ctx.functype(x)
            except Exception:  # noqa: BLE001  (not a function type: -1, left to Python)
                type_sig.append(-1)
                continue
            type_sig.append(sig_of(ft))
        tag_sig = [sig_of(ft) if not ft.results else -1 for ft in ctx.tags]
        flat: list[int] = []
        off, np_, nr = [], [], []
        for pc, rc in sigs:
            off.append(len(flat))
            np_.append(len(pc))
            nr.append(len(rc))
            flat += pc
            flat += rc
        byte_type = (ctypes.c_uint8 * 256)()
        for byte, t in VALTYPE_BY_BYTE.items():
            byte_type[byte] = type_code(ctx.val(t))

        def u8s(xs: list[int]) -> Any:
            return (ctypes.c_uint8 * max(1, len(xs)))(*xs)

        def u32s(xs: list[int]) -> Any:
            return (ctypes.c_uint32 * max(1, len(xs)))(*xs)

        def i32s(xs: list[int]) -> Any:
            return (ctypes.c_int32 * max(1, len(xs)))(*xs)

        from .. import code as _code  # MAX_LOCALS

        self.arrays = arrays = dict(
            kind=kind, a=a, b=b, c=c, sig=opsig, byte_type=byte_type, sig_types=u8s(flat),
            sig_off=u32s(off), sig_np=u32s(np_), sig_nr=u32s(nr), type_sig=i32s(type_sig),
            func_sig=i32s(func_sig),
            glob_type=u8s([type_code(t) for t, _ in ctx.globals]),
            glob_mut=u8s([1 if m else 0 for _, m in ctx.globals]),
            mem_addr=u8s([type_code(t) for t in ctx.mems]),
            tab_funcref=u8s([1 if match_valtype(t.elem, FUNCREF) else 0 for t in ctx.tables]),
            tab_addr=u8s([type_code(t.addr) for t in ctx.tables]), tag_sig=i32s(tag_sig),
            stack=(ctypes.c_uint8 * STACK_CAP)(), locals=(ctypes.c_uint8 * LOCALS_CAP)(),
            frames=(ctypes.c_uint8 * (FRAME_SIZE * FRAMES_CAP))(),
        )  # fmt: skip
        tb = Tables()
        for name, arr in arrays.items():
            if name == "frames":
                tb.frames = ctypes.addressof(arr)
            else:
                setattr(tb, name, ctypes.cast(arr, _FIELD_TYPES[name]))
        tb.ntypes = len(type_sig)
        tb.nfuncs = len(func_sig)
        tb.nglobals = len(ctx.globals)
        tb.nmems = len(ctx.mems)
        tb.ntables = len(ctx.tables)
        tb.ntags = len(tag_sig)
        tb.ndatas = ctx.ndatas
        tb.max_locals = _code.MAX_LOCALS
        tb.stack_cap, tb.frames_cap, tb.locals_cap = STACK_CAP, FRAMES_CAP, LOCALS_CAP
        self.tables = tb


def check_bodies(ctx: Context, module: Module, base: int, data: bytes, spans: list[Any],
                 indices: list[int], tables: NativeTables | None = None) -> list[int]:  # fmt: skip
    """Native verdicts for the bodies ``indices`` (into ``module.funcs``): the
    instruction count, or -1 where only the Python checks can tell. ``spans[i]`` is
    ``(locals position, instructions position, end)`` of body ``indices[i]`` in
    ``data``; ``base`` the index of the module's first function; ``tables`` the
    module's NativeTables if already built."""
    _, fn = _compiled()
    n = len(indices)
    if n == 0:
        return []
    nt = NativeTables(ctx, module) if tables is None else tables
    u64 = ctypes.c_uint64 * n
    lpos = u64(*[s[0] for s in spans])
    ipos = u64(*[s[1] for s in spans])
    end = u64(*[s[2] for s in spans])
    funcs = (ctypes.c_uint32 * n)(*[base + i for i in indices])
    out = (ctypes.c_int64 * n)()
    if not isinstance(data, bytes):
        raise TypeError("expected the module's bytes")
    buf = ctypes.c_char_p(data)  # the bytes object's own buffer, not a copy
    fn(ctypes.byref(nt.tables), ctypes.cast(buf, ctypes.c_void_p), len(data), n, lpos, ipos, end,
       funcs, out)
    return list(out)
