"""Public type objects (wasmtime-py's ValType, FuncType, Limits, ...).

Each wraps an immutable type of :mod:`nanoproc.internal.syntax.types` in *closed*
form: concrete heap types are process-wide canonical ids (from the validator), so
types taken from different modules compare directly. Host code can only spell
abstract heap types (``funcref``, ``externref``), which are closed already.
"""

from __future__ import annotations

from typing import Any

from ..internal.errors import WasmtimeError
from ..internal.syntax import types as T
from ..internal.valid import canon as _canon


class _TypeValue:
    """Types are plain immutable values: ``close()`` and ``with`` are accepted, as
    wasmtime-py's types are closable, and change nothing."""

    __slots__ = ()

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _valtype_str(t: T.ValType) -> str:
    if t == T.EXTERNREF:
        return "anyref"  # what wasmtime-py prints for externref (the C API's old name)
    if isinstance(t, T.RefType):
        if t.heap == "any" and t.nullable:
            return "(ref null any)"  # not "anyref": that string is externref's above
        if isinstance(t.heap, int):
            return f"(ref {'null ' if t.nullable else ''}<type {t.heap}>)"
    return str(t)


class ValType(_TypeValue):
    """A value type. Made by the class methods (``ValType.i32()``, ...), never directly."""

    __slots__ = ("_t",)
    _t: T.ValType

    def __init__(self) -> None:
        raise WasmtimeError("cannot construct directly")

    @staticmethod
    def _of(t: T.ValType) -> ValType:
        cached = _CACHE.get(t)
        if cached is not None:
            return cached
        vt = object.__new__(ValType)
        vt._t = t
        return vt

    @classmethod
    def i32(cls) -> ValType:
        return _CACHE[T.I32]

    @classmethod
    def i64(cls) -> ValType:
        return _CACHE[T.I64]

    @classmethod
    def f32(cls) -> ValType:
        return _CACHE[T.F32]

    @classmethod
    def f64(cls) -> ValType:
        return _CACHE[T.F64]

    @classmethod
    def v128(cls) -> ValType:
        """128-bit vector (not in wasmtime-py); its Python values are unsigned ints."""
        return _CACHE[T.V128]

    @classmethod
    def funcref(cls) -> ValType:
        return _CACHE[T.FUNCREF]

    @classmethod
    def externref(cls) -> ValType:
        return _CACHE[T.EXTERNREF]

    @classmethod
    def exnref(cls) -> ValType:
        """Exception reference (not in wasmtime-py's Python API)."""
        return _CACHE[T.EXNREF]

    # GC reference types (not in wasmtime-py 51, whose API has no GC values).
    @classmethod
    def anyref(cls) -> ValType:
        """``(ref null any)``: any GC reference, i31 or internalized host object."""
        return _CACHE[T.ANYREF]

    @classmethod
    def eqref(cls) -> ValType:
        return _CACHE[T.EQREF]

    @classmethod
    def i31ref(cls) -> ValType:
        return _CACHE[T.I31REF]

    @classmethod
    def structref(cls) -> ValType:
        return _CACHE[T.STRUCTREF]

    @classmethod
    def arrayref(cls) -> ValType:
        return _CACHE[T.ARRAYREF]

    @classmethod
    def nullref(cls) -> ValType:
        return _CACHE[T.NULLREF]

    @classmethod
    def nullfuncref(cls) -> ValType:
        return _CACHE[T.NULLFUNCREF]

    @classmethod
    def nullexternref(cls) -> ValType:
        return _CACHE[T.NULLEXTERNREF]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValType) and self._t == other._t

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._t)

    def __str__(self) -> str:
        return _valtype_str(self._t)

    def __repr__(self) -> str:
        return str(self)


_CACHE: dict[T.ValType, ValType] = {}
for _t in (T.I32, T.I64, T.F32, T.F64, T.V128, T.FUNCREF, T.EXTERNREF, T.EXNREF, T.ANYREF,
           T.EQREF, T.I31REF, T.STRUCTREF, T.ARRAYREF, T.NULLREF, T.NULLFUNCREF,
           T.NULLEXTERNREF):
    _v = object.__new__(ValType)
    _v._t = _t
    _CACHE[_t] = _v


def _valtypes(items: Any, what: str = "ValType") -> tuple[T.ValType, ...]:
    out = []
    for item in items:
        if not isinstance(item, ValType):
            raise TypeError(f"expected {what}")
        out.append(item._t)
    return tuple(out)


_HOST_CANON: dict[T.FuncType, int] = {}


def canon_id(ft: T.FuncType) -> int:
    """Canonical id of a closed function type (heap types abstract or canonical ids).

    Interned in the validator's registry as a final type in a recursion group of
    its own, which is exactly how a module's plain ``(type (func ...))`` is
    interned, so host functions link against module imports of the same type.
    Canonical ids already in ``ft`` are passed through as "earlier types".
    """
    cid = _HOST_CANON.get(ft)
    if cid is None:
        group = T.RecType((T.SubType(ft, True, ()),))
        known = _canon.count()
        cid = _canon.canonicalize_group(group, known, range(known))[0]
        _HOST_CANON[ft] = cid
    return cid


class FuncType(_TypeValue):
    """A function type: ``FuncType([ValType.i32()], [ValType.i64()])``."""

    __slots__ = ("_t", "_canon")

    def __init__(self, params: list[ValType], results: list[ValType]) -> None:
        self._t = T.FuncType(_valtypes(params), _valtypes(results))
        self._canon: int | None = None

    @staticmethod
    def _of(t: T.FuncType, canon: int | None = None) -> FuncType:
        ft = object.__new__(FuncType)
        ft._t = t
        ft._canon = canon
        return ft

    def _canon_id(self) -> int:
        c = self._canon
        if c is None:
            c = self._canon = canon_id(self._t)
        return c

    @property
    def params(self) -> list[ValType]:
        """The parameter types."""
        return [ValType._of(t) for t in self._t.params]

    @property
    def results(self) -> list[ValType]:
        """The result types."""
        return [ValType._of(t) for t in self._t.results]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and self._t == other._t

    def __hash__(self) -> int:
        return hash(self._t)

    def __repr__(self) -> str:
        return f"FuncType({self.params}, {self.results})"


class Limits:
    """Size limits of a memory (in pages) or a table (in elements); ``max`` None = none."""

    def __init__(self, min: int, max: int | None = None) -> None:
        self.min = min
        self.max = max

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and self.min == other.min and self.max == other.max

    __hash__ = None  # type: ignore[assignment]  # mutable, as in wasmtime-py

    def __repr__(self) -> str:
        return f"Limits({self.min}, {self.max})"


def _limits_of(limits: Any) -> Limits:
    if not isinstance(limits, Limits):
        raise TypeError("expected Limits")
    return limits


def _size_value(v: Any, what: str) -> int:
    """A size bound as a plain int: ints and bools (as wasmtime-py's ctypes accepts
    them), anything else a TypeError; never negative."""
    if not isinstance(v, int):
        raise TypeError(f"expected an int for the {what} size, got {type(v).__name__}")
    v = int(v)
    if v < 0:
        raise WasmtimeError(f"{what} size must not be negative")
    return v


def checked_limits(limits: Any, bound: int) -> tuple[int, int | None]:
    """(min, max) of ``limits`` checked before use: ints, not negative, below
    ``bound`` (exclusive)."""
    lim = _limits_of(limits)
    lo = _size_value(lim.min, "minimum")
    hi = None if lim.max is None else _size_value(lim.max, "maximum")
    if lo >= bound:
        raise WasmtimeError("minimum size too large")
    if hi is not None and hi >= bound:
        raise WasmtimeError("maximum size too large")
    return lo, hi


class GlobalType(_TypeValue):
    """The type of a global: its content type and whether it is mutable."""

    __slots__ = ("_t",)

    def __init__(self, valtype: ValType, mutable: bool) -> None:
        if not isinstance(valtype, ValType):
            raise TypeError("expected valtype")
        self._t = T.GlobalType(valtype._t, bool(mutable))

    @staticmethod
    def _of(t: T.GlobalType) -> GlobalType:
        gt = object.__new__(GlobalType)
        gt._t = t
        return gt

    @property
    def content(self) -> ValType:
        """The type of the value the global holds."""
        return ValType._of(self._t.type)

    @property
    def mutable(self) -> bool:
        return self._t.mutable

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobalType) and self._t == other._t

    def __hash__(self) -> int:
        return hash(self._t)

    def __repr__(self) -> str:
        return f"GlobalType({self.content}, {self.mutable})"


class TableType(_TypeValue):
    """The type of a table: its element (reference) type and size limits."""

    __slots__ = ("_t",)

    def __init__(self, valtype: ValType, limits: Limits) -> None:
        _limits_of(limits)
        if not isinstance(valtype, ValType):
            raise TypeError("expected valtype")
        if not isinstance(valtype._t, T.RefType):
            raise WasmtimeError("failed to allocate TableType")
        lo, hi = checked_limits(limits, 1 << 32)  # tables of the API are 32-bit
        if hi is not None and lo > hi:
            raise WasmtimeError("failed to allocate TableType")
        self._t = T.TableType(valtype._t, T.Limits(lo, hi))

    @staticmethod
    def _of(t: T.TableType) -> TableType:
        tt = object.__new__(TableType)
        tt._t = t
        return tt

    @property
    def element(self) -> ValType:
        """The type of the table's elements."""
        return ValType._of(self._t.elem)

    @property
    def limits(self) -> Limits:
        lim = self._t.limits
        return Limits(lim.min, lim.max)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableType) and self._t == other._t

    def __hash__(self) -> int:
        return hash(self._t)

    def __repr__(self) -> str:
        return f"TableType({self.element}, {self.limits})"


_PAGE_SIZE_ERROR = (
    "page size must be 2**16 or 2**0, but was given 2**{}; note that future Wasm "
    "extensions might allow any power of two page size, but only 2**16 and 2**0 are "
    "currently valid"
)


class MemoryType(_TypeValue):
    """The type of a linear memory: limits in pages, 64-bit addressing, sharing and
    page size (``2**16`` bytes, or ``1`` with the custom-page-sizes proposal)."""

    __slots__ = ("_t",)

    def __init__(
        self, limits: Limits, is_64: bool = False, shared: bool = False, page_size_log2: int = 16
    ) -> None:
        lo, hi = checked_limits(limits, 1 << 64 if is_64 else 1 << 32)
        if isinstance(page_size_log2, bool) or page_size_log2 not in (0, 16):
            raise WasmtimeError(_PAGE_SIZE_ERROR.format(page_size_log2))
        max_pages = (1 << (64 if is_64 else 32)) >> page_size_log2
        if lo > max_pages:
            raise WasmtimeError("minimum size is too large for this memory type's index type")
        if hi is not None and hi > max_pages:
            raise WasmtimeError("maximum size is too large for this memory type's index type")
        if hi is not None and lo > hi:
            raise WasmtimeError("maximum page size cannot be smaller than the minimum page size")
        if shared and hi is None:
            raise WasmtimeError("shared memories must have a maximum size")
        self._t = T.MemType(
            T.Limits(lo, hi, bool(is_64), bool(shared),
                     None if page_size_log2 == 16 else page_size_log2)
        )  # fmt: skip

    @staticmethod
    def _of(t: T.MemType) -> MemoryType:
        mt = object.__new__(MemoryType)
        mt._t = t
        return mt

    @property
    def limits(self) -> Limits:
        lim = self._t.limits
        return Limits(lim.min, lim.max)

    @property
    def is_64(self) -> bool:
        return self._t.limits.addr64

    @property
    def is_shared(self) -> bool:
        return self._t.limits.shared

    @property
    def page_size(self) -> int:
        return self._t.page_size

    @property
    def page_size_log2(self) -> int:
        return self._t.page_size.bit_length() - 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemoryType) and self._t == other._t

    def __hash__(self) -> int:
        return hash(self._t)

    def __repr__(self) -> str:
        return f"MemoryType({self.limits}, is_64={self.is_64}, shared={self.is_shared})"


class TagType(_TypeValue):
    """The type of an exception tag: the function type of its payload (no results)."""

    __slots__ = ("_functype",)

    def __init__(self, functype: FuncType) -> None:
        if not isinstance(functype, FuncType):
            raise TypeError("expected a FuncType")
        self._functype = functype

    @property
    def functype(self) -> FuncType:
        return self._functype

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagType) and self._functype == other._functype

    def __hash__(self) -> int:
        return hash(self._functype)

    def __repr__(self) -> str:
        return f"TagType({self._functype!r})"


AsExternType = FuncType | TableType | MemoryType | GlobalType | TagType


class ImportType(_TypeValue):
    """One import of a module: ``module``, ``name`` and the expected ``type``."""

    __slots__ = ("_module", "_name", "_type")

    def __init__(self, module: str, name: str, ty: AsExternType) -> None:
        self._module = module
        self._name = name
        self._type = ty

    @property
    def module(self) -> str:
        return self._module

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def type(self) -> AsExternType:
        return self._type

    def __repr__(self) -> str:
        return f"ImportType({self._module!r}, {self._name!r}, {self._type!r})"


class ExportType(_TypeValue):
    """One export of a module: its ``name`` and ``type``."""

    __slots__ = ("_name", "_type")

    def __init__(self, name: str, ty: AsExternType) -> None:
        self._name = name
        self._type = ty

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> AsExternType:
        return self._type

    def __repr__(self) -> str:
        return f"ExportType({self._name!r}, {self._type!r})"


def functype_of_canon(cid: int) -> FuncType:
    """The public FuncType of canonical function type ``cid``."""
    comp = _canon.definition(cid).comp
    assert isinstance(comp, T.FuncType)
    return FuncType._of(comp, cid)
