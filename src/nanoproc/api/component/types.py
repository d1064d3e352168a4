"""Component types as wasmtime-py's ``wasmtime.component`` presents them.

Value types are small immutable objects compared structurally (``ListType(U8())``
equals another ``ListType(U8())``); resource types compare by identity
(:class:`ResourceType`). They are built from the validator's types on demand.
"""

from __future__ import annotations

from typing import Any

from ...internal.exec.component.values import ResourceType, RType
from ...internal.valid.component import types as VT


class ValType:
    """Base of component value types."""

    _fields: tuple[str, ...] = ()

    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__, *(getattr(self, f) for f in self._fields))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValType) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        args = ", ".join(repr(getattr(self, f)) for f in self._fields)
        return f"{type(self).__name__}({args})"


class Bool(ValType):
    pass


class S8(ValType):
    pass


class S16(ValType):
    pass


class S32(ValType):
    pass


class S64(ValType):
    pass


class U8(ValType):
    pass


class U16(ValType):
    pass


class U32(ValType):
    pass


class U64(ValType):
    pass


class F32(ValType):
    pass


class F64(ValType):
    pass


class Char(ValType):
    pass


class String(ValType):
    pass


class ErrorContext(ValType):
    pass


class ListType(ValType):
    """``list<element>`` (``length`` set for a fixed-length list)."""

    _fields = ("element", "length")

    def __init__(self, element: ValType, length: int | None = None) -> None:
        self.element = element
        self.length = length


class RecordType(ValType):
    _fields = ("fields",)

    def __init__(self, fields: list[tuple[str, ValType]]) -> None:
        self.fields = list(fields)

    def _key(self) -> tuple[Any, ...]:
        return ("RecordType", tuple(self.fields))


class TupleType(ValType):
    _fields = ("elements",)

    def __init__(self, elements: list[ValType]) -> None:
        self.elements = list(elements)

    def _key(self) -> tuple[Any, ...]:
        return ("TupleType", tuple(self.elements))


class VariantType(ValType):
    _fields = ("cases",)

    def __init__(self, cases: list[tuple[str, ValType | None]]) -> None:
        self.cases = list(cases)

    def _key(self) -> tuple[Any, ...]:
        return ("VariantType", tuple(self.cases))


class EnumType(ValType):
    _fields = ("names",)

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)

    @property
    def names_count(self) -> int:
        return len(self.names)

    def name(self, n: int) -> str | None:
        return self.names[n] if 0 <= n < len(self.names) else None

    def _key(self) -> tuple[Any, ...]:
        return ("EnumType", tuple(self.names))


class OptionType(ValType):
    _fields = ("payload",)

    def __init__(self, payload: ValType) -> None:
        self.payload = payload


class ResultType(ValType):
    _fields = ("ok", "err")

    def __init__(self, ok: ValType | None, err: ValType | None) -> None:
        self.ok = ok
        self.err = err


class FlagsType(ValType):
    _fields = ("names",)

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)

    def _key(self) -> tuple[Any, ...]:
        return ("FlagsType", tuple(self.names))


class OwnType(ValType):
    _fields = ("ty",)

    def __init__(self, ty: ResourceType) -> None:
        self.ty = ty


class BorrowType(ValType):
    _fields = ("ty",)

    def __init__(self, ty: ResourceType) -> None:
        self.ty = ty


class StreamType(ValType):
    _fields = ("payload",)

    def __init__(self, payload: ValType | None) -> None:
        self.payload = payload


class FutureType(ValType):
    _fields = ("payload",)

    def __init__(self, payload: ValType | None) -> None:
        self.payload = payload


class MapType(ValType):
    """``map<key, value>``: values are lists of (key, value) tuples, in order (a
    ``dict`` is accepted as an argument); duplicate keys survive, as in the ABI."""

    _fields = ("key", "value")

    def __init__(self, key: ValType, value: ValType) -> None:
        self.key = key
        self.value = value


class FuncType:
    """A component function type: ``params`` (name, type) pairs and ``result``."""

    def __init__(self, params: list[tuple[str, ValType]], result: ValType | None,
                 is_async: bool = False) -> None:  # fmt: skip
        self.params = params
        self.result = result
        self.is_async = is_async

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FuncType) and self.params == other.params
                and self.result == other.result and self.is_async == other.is_async)  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        params = ", ".join(f"{n}: {t!r}" for n, t in self.params)
        return f"FuncType(({params}) -> {self.result!r})"


class ModuleType:
    """A core module type: ``imports``/``exports`` as (module, name, kind) rows."""

    def __init__(self, imports: list[tuple[str, str, str]], exports: list[tuple[str, str]]) -> None:
        self._imports = imports
        self._exports = exports

    def imports(self, engine: Any = None) -> list[tuple[str, str, str]]:
        return list(self._imports)

    def exports(self, engine: Any = None) -> list[tuple[str, str]]:
        return list(self._exports)


class ComponentInstanceType:
    """An instance type: its exports."""

    def __init__(self, exports: dict[str, Any]) -> None:
        self._exports = exports

    def exports(self, engine: Any = None) -> dict[str, Any]:
        return dict(self._exports)

    def __repr__(self) -> str:
        return f"ComponentInstanceType({', '.join(self._exports)})"


class ComponentType:
    """A component type: its imports and exports (name -> type)."""

    def __init__(self, imports: dict[str, Any], exports: dict[str, Any]) -> None:
        self._imports = imports
        self._exports = exports

    def imports(self, engine: Any = None) -> dict[str, Any]:
        return dict(self._imports)

    def exports(self, engine: Any = None) -> dict[str, Any]:
        return dict(self._exports)

    def __repr__(self) -> str:
        return f"ComponentType(imports={list(self._imports)}, exports={list(self._exports)})"


ComponentItem = Any
"""An import's or export's type: ComponentType, ModuleType, ComponentInstanceType,
ResourceType, ValType or FuncType."""


# ---------------------------------------------------------------- from validator types
class TypeView:
    """Builds API types from validator types; ``rts`` maps resource ids to run-time
    resource types (abstract ones get a placeholder of their own)."""

    def __init__(self, rts: dict[VT.RId, RType] | None = None) -> None:
        self.rts = rts if rts is not None else {}

    def resource(self, rid: VT.RId) -> ResourceType:
        rt = self.rts.get(rid)
        if rt is None:
            rt = self.rts[rid] = RType(None, None, None, f"abstract-{rid.n}")
        return ResourceType._of(rt)

    def val(self, v: Any) -> ValType:
        if isinstance(v, str):
            return _PRIMS[v]()
        return self.defined(v.data)

    def opt(self, v: Any) -> ValType | None:
        return None if v is None else self.val(v)

    def defined(self, d: Any) -> ValType:
        if isinstance(d, VT.DPrim):
            return _PRIMS[d.name]()
        if isinstance(d, VT.DRecord):
            return RecordType([(n, self.val(t)) for n, t in d.fields])
        if isinstance(d, VT.DVariant):
            return VariantType([(n, self.opt(t)) for n, t in d.cases])
        if isinstance(d, VT.DList):
            return ListType(self.val(d.elem), d.length)
        if isinstance(d, VT.DTuple):
            return TupleType([self.val(t) for t in d.types])
        if isinstance(d, VT.DFlags):
            return FlagsType(list(d.labels))
        if isinstance(d, VT.DEnum):
            return EnumType(list(d.labels))
        if isinstance(d, VT.DOption):
            return OptionType(self.val(d.type))
        if isinstance(d, VT.DResult):
            return ResultType(self.opt(d.ok), self.opt(d.err))
        if isinstance(d, VT.DOwn):
            return OwnType(self.resource(d.res.data))
        if isinstance(d, VT.DBorrow):
            return BorrowType(self.resource(d.res.data))
        if isinstance(d, VT.DStream):
            return StreamType(self.opt(d.type))
        if isinstance(d, VT.DFuture):
            return FutureType(self.opt(d.type))
        if isinstance(d, VT.DMap):
            return MapType(self.val(d.key), self.val(d.value))
        raise TypeError(f"unknown component type {d!r}")

    def func(self, ft: VT.FuncT) -> FuncType:
        return FuncType([(n, self.val(t)) for n, t in ft.params], self.opt(ft.result),
                        ft.is_async)  # fmt: skip

    def entity(self, e: VT.Entity) -> Any:
        k = e.kind
        if k == "func":
            return self.func(e.a.data)
        if k == "instance":
            return ComponentInstanceType({n: self.entity(it.ty)
                                          for n, it in e.a.data.exports.items()})  # fmt: skip
        if k == "component":
            c = e.a.data
            return ComponentType({n: self.entity(it.ty) for n, it in c.imports.items()},
                                 {n: self.entity(it.ty) for n, it in c.exports.items()})  # fmt: skip
        if k == "module":
            return ModuleType([(m, n, ce.kind) for (m, n), ce in e.a.imports.items()],
                              [(n, ce.kind) for n, ce in e.a.exports.items()])  # fmt: skip
        if k == "type":
            t = e.a
            if t.kind == "resource":
                return self.resource(t.data)
            if t.kind == "defined":
                return self.defined(t.data)
            return self.entity(VT.Entity(t.kind, t))
        return self.val(e.a)


_PRIMS: dict[str, type[ValType]] = {
    "bool": Bool, "s8": S8, "s16": S16, "s32": S32, "s64": S64, "u8": U8, "u16": U16,
    "u32": U32, "u64": U64, "f32": F32, "f64": F64, "char": Char, "string": String,
    "error-context": ErrorContext,
}  # fmt: skip
