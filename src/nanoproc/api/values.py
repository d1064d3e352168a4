"""``Val`` and the conversions between Python values and nanoproc's internal ones.

Python sees wasmtime-py's values: i32/i64 as *signed* ints, f32/f64 as floats,
funcref as ``Func`` or None, externref as the Python object itself (None is null).
Inside, i32/i64 are unsigned (see :mod:`nanoproc.internal.exec.values`) and a
funcref is a ``FuncInst``. Converters are made once per value type and reused by
the generated call paths in :mod:`.fastcall`.

Conversions into Wasm follow wasmtime-py: an ``int`` fits an i32/i64 (wrapped
modulo 2**32/2**64), a ``float`` an f32/f64 (never an int for a float: TypeError),
a ``Val`` must have the exact type, anything fits an externref.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..internal.errors import WasmtimeError
from ..internal.exec import gcref
from ..internal.exec.entities import FuncInst
from ..internal.exec.gcref import I31, ArrayRef, StructRef
from ..internal.exec.link import heap_subtype, valtype_subtype
from ..internal.exec.store import StoreState
from ..internal.exec.values import MASK32, MASK64, MASK128
from ..internal.syntax import types as T
from .types import ValType

if TYPE_CHECKING:
    from .func import Func

__all__ = ["I31", "ArrayRef", "StructRef", "Val"]

_pack_f = struct.Struct("<f").pack
_unpack_f = struct.Struct("<f").unpack

FUNC_HEAPS = frozenset({"func", "nofunc"})
ANY_HEAPS = frozenset(T.ANY_HIERARCHY)


def f32_round(x: float) -> float:
    """``x`` rounded to the nearest f32 (infinite when out of range, as in C).

    A NaN is kept as it is: its f32 payload already sits in the top mantissa bits
    (see :mod:`nanoproc.internal.exec.values`), and converting through the hardware
    would quiet a signalling NaN.
    """
    if x != x:
        return x
    try:
        return _unpack_f(_pack_f(x))[0]  # type: ignore[no-any-return]
    except OverflowError:
        return math.copysign(math.inf, x)


def _wrap_i32(v: int) -> int:
    return ((v & MASK32) ^ 0x8000_0000) - 0x8000_0000


def _wrap_i64(v: int) -> int:
    return ((v & MASK64) ^ 0x8000_0000_0000_0000) - 0x8000_0000_0000_0000


def is_any_heap(heap: T.HeapType) -> bool:
    """Whether a closed heap type is in the ``any`` hierarchy (GC references)."""
    if isinstance(heap, str):
        return heap in ANY_HEAPS
    from ..internal.valid import canon_kind

    return bool(canon_kind(heap) != "func")


def is_func_heap(heap: T.HeapType) -> bool:
    """Whether a closed heap type is in the function hierarchy."""
    if isinstance(heap, str):
        return heap in FUNC_HEAPS
    from ..internal.valid import canon_kind

    return bool(canon_kind(heap) == "func")


class Val:
    """A typed Wasm value (wasmtime-py's Val)."""

    __slots__ = ("_kind", "_val")

    def __init__(self, kind: Any, val: Any) -> None:
        self._kind: T.ValType = kind._t if isinstance(kind, ValType) else kind
        self._val = val

    @classmethod
    def i32(cls, val: int) -> Val:
        """A 32-bit integer; wrapped to the signed range like a C ``int32_t``."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        return Val(T.I32, _wrap_i32(val))

    @classmethod
    def i64(cls, val: int) -> Val:
        """A 64-bit integer; wrapped to the signed range like a C ``int64_t``."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        return Val(T.I64, _wrap_i64(val))

    @classmethod
    def f32(cls, val: float) -> Val:
        """A 32-bit float (rounded to f32 precision)."""
        if not isinstance(val, float):
            raise TypeError("expected a float")
        return Val(T.F32, f32_round(val))

    @classmethod
    def f64(cls, val: float) -> Val:
        if not isinstance(val, float):
            raise TypeError("expected a float")
        return Val(T.F64, val)

    @classmethod
    def v128(cls, val: int | bytes) -> Val:
        """A 128-bit vector (not in wasmtime-py): an int (wrapped to 128 bits; lane 0 in
        the low bits) or 16 bytes in memory order. ``value`` is the unsigned int."""
        return Val(T.V128, _v128_int(val))

    @classmethod
    def externref(cls, extern: Any) -> Val:
        return Val(T.EXTERNREF, extern)

    @classmethod
    def funcref(cls, f: Func | None) -> Val:
        return Val(T.FUNCREF, f)

    @classmethod
    def exnref(cls, exn: Any) -> Val:
        """An exception reference (an ``ExnRef`` or None; not in wasmtime-py)."""
        return Val(T.EXNREF, exn)

    @classmethod
    def anyref(cls, value: Any) -> Val:
        """An ``anyref`` (not in wasmtime-py): None, an ``I31``, a ``StructRef`` or
        ``ArrayRef`` Wasm handed out, or any other object (a host object in the
        ``any`` hierarchy, as ``any.convert_extern`` makes)."""
        return Val(T.ANYREF, value)

    @classmethod
    def i31ref(cls, value: int | gcref.I31) -> Val:
        """An ``i31ref`` holding the low 31 bits of ``value`` (not in wasmtime-py)."""
        return Val(T.I31REF, value if isinstance(value, gcref.I31) else gcref.I31(value))

    @classmethod
    def ref_null(cls, ty: ValType) -> Val:
        """The null reference of ``ty`` (a nullable reference type)."""
        if ty == ValType.externref():
            return Val.externref(None)
        if ty == ValType.funcref():
            return Val.funcref(None)
        if ty == ValType.exnref():
            return Val.exnref(None)
        t = ty._t if isinstance(ty, ValType) else None
        if isinstance(t, T.RefType) and t.nullable:
            return Val(t, None)
        raise WasmtimeError(f"Invalid reference type for `ref_null`: {ty}")

    def __eq__(self, rhs: Any) -> Any:
        if isinstance(rhs, Val):
            return self._kind == rhs._kind and self._val == rhs._val
        return self._val == rhs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Val({ValType._of(self._kind)}, {self._val!r})"

    @property
    def value(self) -> Any:
        """The Python value."""
        return self._val

    @property
    def type(self) -> ValType:
        return ValType._of(self._kind)

    def as_i32(self) -> int | None:
        return self._val if self._kind == T.I32 else None  # type: ignore[no-any-return]

    def as_i64(self) -> int | None:
        return self._val if self._kind == T.I64 else None  # type: ignore[no-any-return]

    def as_f32(self) -> float | None:
        return self._val if self._kind == T.F32 else None  # type: ignore[no-any-return]

    def as_f64(self) -> float | None:
        return self._val if self._kind == T.F64 else None  # type: ignore[no-any-return]

    def as_externref(self) -> Any:
        return self._val if self._kind == T.EXTERNREF else None

    def as_funcref(self) -> Func | None:
        return self._val if self._kind == T.FUNCREF else None  # type: ignore[no-any-return]

    def as_anyref(self) -> Any:
        """The value of a reference of the ``any`` hierarchy (anyref, eqref, i31ref,
        structref, arrayref, nullref, typed GC references), else None."""
        k = self._kind
        if isinstance(k, T.RefType) and is_any_heap(k.heap):
            return self._val
        return None


# ---------------------------------------------------------------- Python -> Wasm

ToWasm = Callable[[Any, StoreState], Any]
FromWasm = Callable[[Any, StoreState], Any]


def _cannot(v: Any, t: T.ValType) -> TypeError:
    return TypeError(f"don't know how to convert {v!r} to {ValType._of(t)}")


def _unval(v: Val, t: T.ValType) -> Any:
    """The payload of ``v`` if its type fits ``t`` (exactly, or as a reference subtype)."""
    k = v._kind
    if k != t and not (isinstance(t, T.RefType) and valtype_subtype(k, t)):
        raise TypeError("wrong type of `Val` provided")
    return v._val


def _func_inst(f: Any, t: T.RefType, st: StoreState) -> FuncInst:
    from .func import Func

    if not isinstance(f, Func):
        raise _cannot(f, t)
    if f._st is not st:
        raise WasmtimeError("object used with the wrong store")
    fi = f._ext
    if isinstance(t.heap, int) and not heap_subtype(fi.canon, t.heap):
        raise TypeError(f"function of type {f._type()} does not fit {ValType._of(t)}")
    return fi


def to_wasm(t: T.ValType) -> ToWasm:
    """The converter of a Python value to the internal value of type ``t``."""
    if t == T.I32:
        return _to_int(t, MASK32)
    if t == T.I64:
        return _to_int(t, MASK64)
    if t == T.F32:
        return _to_f32
    if t == T.F64:
        return _to_f64
    if t == T.V128:
        return _to_v128
    assert isinstance(t, T.RefType)
    if t.heap in ("extern", "noextern"):
        return _to_extern(t)
    if is_func_heap(t.heap):
        return _to_func(t)
    if t.heap in T.EXN_HIERARCHY:
        return _to_exn(t)
    if is_any_heap(t.heap):
        return _to_any(t)
    return _to_opaque(t)


def _v128_int(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v & MASK128
    if isinstance(v, (bytes, bytearray, memoryview)):
        data = bytes(v)
        if len(data) != 16:
            raise ValueError(f"a v128 is 16 bytes, got {len(data)}")
        return int.from_bytes(data, "little")
    raise TypeError("expected an integer or 16 bytes")


def _to_v128(v: Any, st: StoreState) -> Any:
    if isinstance(v, Val):
        return _unval(v, T.V128)
    if isinstance(v, (int, bytes, bytearray, memoryview)) and not isinstance(v, bool):
        return _v128_int(v)
    raise _cannot(v, T.V128)


def _to_int(t: T.ValType, mask: int) -> ToWasm:
    def conv(v: Any, st: StoreState) -> Any:
        if isinstance(v, Val):
            v = _unval(v, t)
        elif not isinstance(v, int):
            raise _cannot(v, t)
        return v & mask

    return conv


def _to_f32(v: Any, st: StoreState) -> Any:
    if isinstance(v, Val):
        return _unval(v, T.F32)
    if not isinstance(v, float):
        raise _cannot(v, T.F32)
    return f32_round(v)


def _to_f64(v: Any, st: StoreState) -> Any:
    if isinstance(v, Val):
        return _unval(v, T.F64)
    if not isinstance(v, float):
        raise _cannot(v, T.F64)
    return v


def _to_extern(t: T.RefType) -> ToWasm:
    def conv(v: Any, st: StoreState) -> Any:
        if isinstance(v, Val):
            v = _unval(v, t)
        if (v is None and not t.nullable) or (v is not None and t.heap == "noextern"):
            raise _cannot(v, t)
        return v

    return conv


def _to_func(t: T.RefType) -> ToWasm:
    def conv(v: Any, st: StoreState) -> Any:
        if isinstance(v, Val):
            v = _unval(v, t)
        if v is None:
            if not t.nullable:
                raise _cannot(v, t)
            return None
        return _func_inst(v, t, st)

    return conv


def _to_any(t: T.RefType) -> ToWasm:
    """A reference of the ``any`` hierarchy: None, an I31, a struct or array of this
    store, or any other object (a host object, as ``any.convert_extern`` makes)."""
    heap = t.heap

    def conv(v: Any, st: StoreState) -> Any:
        if isinstance(v, Val):
            v = _unval(v, t)
        if v is None:
            if not t.nullable:
                raise _cannot(v, t)
            return None
        a = gcref.from_public(v)
        if isinstance(a, gcref.GC_OBJECTS):
            owner = getattr(a, "heap", None)
            if owner is not None and owner is not st.heap:
                raise WasmtimeError("object used with the wrong store")
        if not gcref.matches(a, heap):
            raise TypeError(f"{v!r} does not fit {ValType._of(t)}")
        return a

    return conv


def _to_opaque(t: T.RefType) -> ToWasm:
    """GC and exception references: only null, or a Val that Wasm handed out."""

    def conv(v: Any, st: StoreState) -> Any:
        if isinstance(v, Val):
            return _unval(v, t)
        if v is None and t.nullable:
            return None
        raise _cannot(v, t)

    return conv


def _to_exn(t: T.RefType) -> ToWasm:
    """An ``ExnRef`` (or a Val of one, or None) -> the exception instance."""

    def conv(v: Any, st: StoreState) -> Any:
        if isinstance(v, Val):
            v = _unval(v, t)
        if v is None:
            if not t.nullable:
                raise _cannot(v, t)
            return None
        inst = getattr(v, "_inst", None)
        if inst is None or t.heap == "noexn":
            raise _cannot(v, t)
        if v._st is not None and v._st is not st:
            raise WasmtimeError("object used with the wrong store")
        return inst

    return conv


# ---------------------------------------------------------------- Wasm -> Python


def from_wasm(t: T.ValType) -> FromWasm:
    """The converter of an internal value of type ``t`` to its Python value."""
    if t == T.I32:
        return _from_i32
    if t == T.I64:
        return _from_i64
    if isinstance(t, T.NumType):
        return _same
    if t.heap in ("extern", "noextern"):
        return _same
    if is_func_heap(t.heap):
        return _from_func
    if t.heap in T.EXN_HIERARCHY:
        return _from_exn
    if is_any_heap(t.heap):
        return _from_any

    def opaque(v: Any, st: StoreState) -> Any:
        return None if v is None else Val(t, v)

    return opaque


def _from_any(v: Any, st: StoreState) -> Any:
    return None if v is None else gcref.to_public(v)


def _from_i32(v: Any, st: StoreState) -> Any:
    return v - ((v & 0x8000_0000) << 1)


def _from_i64(v: Any, st: StoreState) -> Any:
    return v - ((v & 0x8000_0000_0000_0000) << 1)


def _same(v: Any, st: StoreState) -> Any:
    return v


def _from_func(v: Any, st: StoreState) -> Any:
    if v is None:
        return None
    from .func import Func

    return Func._wrap(v, st)


def _from_exn(v: Any, st: StoreState) -> Any:
    if v is None:
        return None
    from .exn import ExnRef

    return ExnRef._wrap(v, st)


def to_val(t: T.ValType, v: Any, st: StoreState) -> Val:
    """An internal value as a ``Val`` of type ``t``."""
    return Val(t, from_wasm(t)(v, st))


def native_or_val(t: T.ValType, v: Any, st: StoreState, truthy: bool = False) -> Any:
    """What wasmtime-py's ``Global.value``/``Table.get`` return: the Python value, or
    a ``Val`` when that value is None (or, with ``truthy``, any false value)."""
    py = from_wasm(t)(v, st)
    if (py if truthy else py is not None):
        return py
    return Val(t, py)
