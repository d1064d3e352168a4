"""Functions and constants that generated code calls through its globals.

Everything in :data:`TEMPLATE` is copied into each instance's globals dict, under
the name generated code uses. Hot operations are inlined by the translator; what is
here is either rare (bulk memory, tables, traps) or needs several statements
(f32 NaN-preserving loads and stores, indirect call checks).
"""

from __future__ import annotations

import builtins
import math
import struct
import threading
from types import CodeType
from typing import Any

from ..exec import numerics as num
from ..exec.exceptions import ExnInst, Thrown, ThrownException
from ..exec.trap import HostError, Trap, TrapCode
from ..exec.values import MASK32, MASK64, f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from ..valid import is_subtype_canon

_S_f = struct.Struct("<f")
_S_I = struct.Struct("<I")
_unpack_f = _S_f.unpack_from
_unpack_I = _S_I.unpack_from
_pack_f = _S_f.pack_into
_pack_I = _S_I.pack_into


class TailCall(tuple[Any, Any]):
    """``(callee, args)`` returned by a function body that ends in a tail call; the
    trampoline in the function's entry point makes the call without growing the
    Python stack."""

    __slots__ = ()


# ---------------------------------------------------------------- traps
def trap(code: TrapCode) -> Trap:
    return Trap.of(code)


def trap_unreachable() -> Trap:
    return Trap.of(TrapCode.UNREACHABLE)


def trap_table_oob() -> Trap:
    return Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)


def trap_memory_oob() -> Trap:
    return Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)


def undefined_element() -> Any:
    raise Trap("undefined element", TrapCode.TABLE_OUT_OF_BOUNDS)


def null_reference() -> Any:
    raise Trap.of(TrapCode.NULL_REFERENCE)


def throw_ref(exn: ExnInst | None) -> Thrown:
    """``throw_ref``: the exception to raise again (a null one traps)."""
    if exn is None:
        raise Trap("null exception reference", TrapCode.NULL_REFERENCE)
    return Thrown(exn)


# ---------------------------------------------------------------- metering (metering.py)
def out_of_fuel(store: Any, fuel: int) -> Any:
    """A failed fuel check: the store keeps what is left (<= 0, read as 0)."""
    store.fuel = fuel
    raise Trap.of(TrapCode.OUT_OF_FUEL)


def epoch_expired(store: Any) -> int:
    """The cached deadline was reached: trap, unless the store's deadline moved on
    (a host function may have extended it); then the new deadline to cache."""
    deadline: int = store.epoch_deadline
    if store.engine.epoch >= deadline:
        raise Trap.of(TrapCode.INTERRUPT)
    return deadline


def stack_overflow() -> Any:
    """The depth budget of a recursion is used up (see callgraph)."""
    raise Trap.of(TrapCode.STACK_OVERFLOW)


# ---------------------------------------------------------------- host calls
_HOST_CALLERS: dict[tuple[int, bool], Any] = {}


def _host_caller_factory(arity: int, with_caller: bool) -> Any:
    """Code for wrappers of one arity: exact parameters are cheaper than ``*args``."""
    # ``dp``: Wasm code passes its depth budget to imports and indirect callees (which
    # may be Wasm functions that count depth); a host function has no use for it.
    params = ", ".join([*(f"a{i}" for i in range(arity)), "dp=None"])
    args = ", ".join((["inst"] if with_caller else []) + [f"a{i}" for i in range(arity)])
    src = (
        "def factory(call, inst):\n"
        f"    def host({params}):\n"
        "        try:\n"
        f"            return call({args})\n"
        "        except ThrownException as e:\n"
        "            raise Thrown(e._exn) from None\n"
        "        except (Trap, RecursionError, HostError, Thrown):\n"
        "            raise\n"
        "        except Exception as e:\n"
        "            raise HostError(e) from e\n"
        "    return host\n"
    )
    ns: dict[str, Any] = {"Trap": Trap, "HostError": HostError, "Thrown": Thrown,
                          "ThrownException": ThrownException}
    exec(compile(src, f"<nanoproc host call/{arity}>", "exec"), ns)
    return ns["factory"]


def host_caller_factory(arity: int, with_caller: bool) -> Any:
    """``factory(call, inst)`` making the wrappers :func:`host_caller` makes for host
    functions of ``arity`` parameters (``with_caller``: they want the caller)."""
    key = (arity, with_caller)
    factory = _HOST_CALLERS.get(key)
    if factory is None:
        factory = _HOST_CALLERS[key] = _host_caller_factory(*key)
    return factory


def host_caller(fi: Any, inst: Any) -> Any:
    """A callable for Wasm code to call host function ``fi`` with: passes the caller
    instance when the host asked for it, and wraps host exceptions in HostError
    (traps, stack exhaustion and other instances' host errors pass through)."""
    key = (len(fi.type.params), bool(fi.needs_caller))
    factory = _HOST_CALLERS.get(key)
    if factory is None:
        factory = _HOST_CALLERS[key] = _host_caller_factory(*key)
    return factory(fi.call, inst)


def indirect_target(fi: Any, canon: int, inst: Any) -> Any:
    """Slow path of call_indirect: null, subtype match, host functions, mismatch."""
    if fi is None:
        raise Trap.of(TrapCode.INDIRECT_CALL_TO_NULL)
    c = fi.canon
    if c != canon and not (isinstance(c, int) and is_subtype_canon(c, canon)):
        raise Trap.of(TrapCode.BAD_SIGNATURE)
    if fi.host:
        return host_caller(fi, inst)
    return fi.call


def ref_target(fi: Any, inst: Any) -> Any:
    """Slow path of call_ref: null or host function."""
    if fi is None:
        raise Trap("null function reference", TrapCode.NULL_REFERENCE)
    if fi.host:
        return host_caller(fi, inst)
    return fi.call


def tail_body(fn: Any) -> Any:
    """What a trampoline should call for a tail call to ``fn``: its body (which returns
    TailCall markers instead of recursing) when it has one."""
    return getattr(fn, "tail_body", fn)


# ---------------------------------------------------------------- f32 memory access
def load_f32(view: memoryview, addr: int) -> float:
    x = _unpack_f(view, addr)[0]
    if x == x:
        return x
    return f32_from_bits(_unpack_I(view, addr)[0])


def store_f32(view: memoryview, addr: int, x: float) -> None:
    if x == x:
        _pack_f(view, addr, x)
    else:
        _pack_I(view, addr, f32_to_bits(x))


# ---------------------------------------------------------------- bulk memory
FILL_CHUNK = 1 << 20
"""memory.fill writes at most this many bytes per slice assignment (so filling a
large memory does not allocate a pattern as large as the memory)."""


def memory_fill(view: memoryview, d: int, val: int, n: int) -> None:
    if d + n > len(view):
        raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n <= FILL_CHUNK:
        if n:
            view[d : d + n] = bytes((val & 0xFF,)) * n
        return
    pattern = memoryview(bytes((val & 0xFF,)) * FILL_CHUNK)
    end = d + n
    while d < end:
        k = min(FILL_CHUNK, end - d)
        view[d : d + k] = pattern[:k]
        d += k


def memory_copy(dst: memoryview, d: int, src: memoryview, s: int, n: int) -> None:
    if d + n > len(dst) or s + n > len(src):
        raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        dst[d : d + n] = src[s : s + n]


def memory_init(inst: Any, seg: int, view: memoryview, d: int, s: int, n: int) -> None:
    data = inst.datas[seg]
    if s + n > len(data) or d + n > len(view):
        raise Trap.of(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        view[d : d + n] = data[s : s + n]


def data_drop(inst: Any, seg: int) -> None:
    inst.datas[seg] = b""


# ---------------------------------------------------------------- tables
def table_get(elems: list[Any], i: int) -> Any:
    if i >= len(elems):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    return elems[i]


def table_set(elems: list[Any], i: int, v: Any) -> None:
    if i >= len(elems):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    elems[i] = v


def table_fill(elems: list[Any], i: int, v: Any, n: int) -> None:
    if i + n > len(elems):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    if n:
        elems[i : i + n] = [v] * n


def table_copy(dst: list[Any], d: int, src: list[Any], s: int, n: int) -> None:
    if d + n > len(dst) or s + n > len(src):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    if n:
        dst[d : d + n] = src[s : s + n]


def table_init(inst: Any, seg: int, elems: list[Any], d: int, s: int, n: int) -> None:
    refs = inst.elems[seg]
    if s + n > len(refs) or d + n > len(elems):
        raise Trap.of(TrapCode.TABLE_OUT_OF_BOUNDS)
    if n:
        elems[d : d + n] = refs[s : s + n]


def elem_drop(inst: Any, seg: int) -> None:
    inst.elems[seg] = []


def table_grow(table: Any, init: Any, n: int, mask: int) -> int:
    return table.grow(n, init) & mask


def as_non_null(v: Any) -> Any:
    if v is None:
        raise Trap.of(TrapCode.NULL_REFERENCE)
    return v


_S_d = struct.Struct("<d")
_S_Q = struct.Struct("<Q")
_S_H = struct.Struct("<H")

HELPERS: dict[str, Any] = {
    # struct accessors (bounds-checked by the exactly-sized memoryview)
    "LI32": _S_I.unpack_from,
    "LI64": _S_Q.unpack_from,
    "LU16": _S_H.unpack_from,
    "LF64": _S_d.unpack_from,
    "SI32": _S_I.pack_into,
    "SI64": _S_Q.pack_into,
    "SU16": _S_H.pack_into,
    "SF64": _S_d.pack_into,
    "LF32": load_f32,
    "SF32": store_f32,
    # numerics
    "F32R": num.f32_round,
    "F32I": num.f32_from_int,
    "FDIV": num.fdiv,
    "FMIN": num.fmin,
    "FMAX": num.fmax,
    "FSQRT": num.fsqrt,
    "SQRT": math.sqrt,
    "FCEIL": num.fceil,
    "FFLOOR": num.ffloor,
    "FTRUNC": num.ftrunc,
    "FNEAREST": num.fnearest,
    "COPYSIGN": math.copysign,
    "DIVS32": num.i32_div_s,
    "REMS32": num.i32_rem_s,
    "DIVS64": num.i64_div_s,
    "REMS64": num.i64_rem_s,
    "ROTL32": num.i32_rotl,
    "ROTR32": num.i32_rotr,
    "ROTL64": num.i64_rotl,
    "ROTR64": num.i64_rotr,
    "CTZ32": num.i32_ctz,
    "CTZ64": num.i64_ctz,
    "TRS32": num.i32_trunc_s,
    "TRU32": num.i32_trunc_u,
    "TRS64": num.i64_trunc_s,
    "TRU64": num.i64_trunc_u,
    "TSS32": num.i32_trunc_sat_s,
    "TSU32": num.i32_trunc_sat_u,
    "TSS64": num.i64_trunc_sat_s,
    "TSU64": num.i64_trunc_sat_u,
    "F32BITS": f32_to_bits,
    "F32FROM": f32_from_bits,
    "F64BITS": f64_to_bits,
    "F64FROM": f64_from_bits,
    "INF": math.inf,
    "MASK32": MASK32,
    "MASK64": MASK64,
    # control, traps, calls
    "TailCall": TailCall,
    "TAILBODY": tail_body,
    "UNREACHABLE": trap_unreachable,
    "OUTOFFUEL": out_of_fuel,
    "EPOCHCHECK": epoch_expired,
    "STACKOVERFLOW": stack_overflow,
    "UNDEFINED": undefined_element,
    "ICALL": indirect_target,
    "RCALL": ref_target,
    "NONNULL": as_non_null,
    # exceptions
    "Thrown": Thrown,
    "ExnInst": ExnInst,
    "THROWREF": throw_ref,
    # bulk memory and tables
    "MFILL": memory_fill,
    "MCOPY": memory_copy,
    "MINIT": memory_init,
    "DDROP": data_drop,
    "TGET": table_get,
    "TSET": table_set,
    "TFILL": table_fill,
    "TCOPY": table_copy,
    "TINIT": table_init,
    "EDROP": elem_drop,
    "TGROW": table_grow,
}
"""Names generated code uses besides the instance's own entities (the SIMD ones
join once a SIMD instruction is translated: see ensure_simd)."""

BUILTINS: dict[str, Any] = {**vars(builtins), **HELPERS}
"""The builtins of generated code: Python's plus the helpers. Shared by every instance
(CPython looks up a global name in the function's globals, then in
``globals["__builtins__"]``, both with specialised caches), so an instance's own
globals dict holds only the instance's entities and is cheap to build."""

TEMPLATE: dict[str, Any] = {"__builtins__": BUILTINS}
"""What every instance's globals dict starts as."""

HELPER_CODES = {f.__code__ for f in HELPERS.values() if hasattr(f, "__code__")}
"""Code objects of the helpers above: a Python error raised inside one of them is
still a Wasm trap (e.g. IndexError from an out-of-bounds view)."""

SIMD_NAMES = frozenset({"SQQ", "LB16", "SB16"})
"""The SIMD helpers' names that do not start with ``V_`` (simd_lanes.HELPERS)."""
_simd_lock = threading.Lock()
_simd: list[bool] = []


def ensure_simd() -> None:
    """Add the SIMD helpers to HELPERS and BUILTINS. simd_lanes generates them when
    imported (~30 ms of CPU, a fifth of a warm start), so that waits for the first
    SIMD instruction translated, or code that names them read from the cache."""
    if _simd:
        return
    with _simd_lock:
        if _simd:
            return
        from .simd_lanes import HELPERS as SIMD_HELPERS

        HELPER_CODES.update(f.__code__ for f in SIMD_HELPERS.values() if hasattr(f, "__code__"))
        HELPERS.update(SIMD_HELPERS)
        BUILTINS.update(SIMD_HELPERS)
        _simd.append(True)


def names_simd_helpers(code: CodeType) -> bool:
    """Whether ``code`` (or code nested in it) names a SIMD helper."""
    for name in code.co_names:
        if name.startswith("V_") or name in SIMD_NAMES:
            return True
    return any(isinstance(c, CodeType) and names_simd_helpers(c) for c in code.co_consts)
