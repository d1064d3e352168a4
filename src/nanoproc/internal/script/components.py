"""Running the component commands of .wast scripts through a ``wasmtime.component``-
shaped API (``api.component``: nanoproc's, or wasmtime-py's as a control).

Script values (``(u32.const 1)``, ``(record.const ...)``) become Python values by the
function's parameter types, as a host would pass them; results are compared with
the expected values by the result type. Components in the suite import nothing, so
each is instantiated with an empty linker.
"""

from __future__ import annotations

import math
import struct
from types import ModuleType
from typing import Any

from ..text.component_wast import CompValue
from ..text.wast import NAN_ARITHMETIC, NAN_CANONICAL, Invoke, ModuleCommand, NumResult, NumValue
from .messages import message_matches
from .modules import TextRejected, component_bytes, decode_error
from .outcomes import Fail, Skip


class ComponentScript:
    """The component half of a ScriptRunner (which owns store, bindings and outcomes)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        api = runner.api
        self.c: ModuleType = getattr(api, "component", None) or _import_component(api)
        self.linker = self.c.Linker(runner.engine)

    # ------------------------------------------------------------ components
    def compile(self, cmd: ModuleCommand) -> Any:
        r = self.runner
        try:
            data = component_bytes(cmd)
        except TextRejected as e:
            raise Fail(f"text parser rejected component: {e}") from None
        try:
            return r.call_api(self.c.Component, r.engine, bytearray(data))
        except (Skip, Fail):
            raise
        except Exception as e:  # noqa: BLE001
            raise Fail(f"component rejected: {r.classify(e)[1]}") from None

    def instantiate(self, component: Any) -> Any:
        r = self.runner
        try:
            return r.call_api(self.linker.instantiate, r.store, component)
        except (Skip, Fail):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = r.classify(e)
            raise Fail(f"instantiation failed ({kind}): {msg}") from None

    def expect_rejected(self, cmd: ModuleCommand, expected: str, *, malformed: bool) -> None:
        r = self.runner
        want = "malformed" if malformed else "invalid"
        try:
            data = component_bytes(cmd)
        except TextRejected as e:
            if not malformed:
                # text that cannot say an invalid component: the wast crate rejects
                # some invalid components while parsing (e.g. unknown names)
                if not message_matches(expected, str(e)):
                    raise Fail(f"expected invalid {expected!r}, text parser says: {e}") from None
            return
        try:
            r.call_api(self.c.Component, r.engine, bytearray(data))
        except (Fail, Skip):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = r.classify(e)
            if kind != "error" or not malformed and not message_matches(expected, msg):
                raise Fail(f"expected {want} {expected!r}, got {kind}: {msg}") from None
        else:
            raise Fail(f"expected {want} {expected!r}, component compiled")
        if malformed and cmd.kind == "binary" and decode_error(data) is None:
            raise Fail(f"expected malformed {expected!r}, nanoproc's decoder accepted it")

    def expect_instantiation_failure(self, cmd: ModuleCommand, expected: str, *,
                                     trap: bool) -> None:  # fmt: skip
        r = self.runner
        component = self.compile(cmd)
        try:
            r.call_api(self.linker.instantiate, r.store, component)
        except (Fail, Skip):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = r.classify(e)
            want = "trap" if trap else "error"
            if kind != want or not message_matches(expected, msg):
                raise Fail(f"expected {want} {expected!r}, got {kind}: {msg}") from None
            return
        raise Fail(f"expected {'trap' if trap else 'link error'} {expected!r}, instantiated fine")

    # ------------------------------------------------------------ actions
    def perform(self, inst: Any, action: Any) -> list[Any]:
        r = self.runner
        if not isinstance(action, Invoke):
            raise Fail("component instances have no globals to get")
        func = inst.get_func(r.store, action.name)
        if func is None:
            raise Fail(f"no exported function {action.name!r}")
        ty = r.call_api(func.type, r.store)
        params = ty.params
        if len(params) != len(action.args):
            raise Fail(f"{action.name!r} takes {len(params)} arguments, script gives "
                       f"{len(action.args)}")  # fmt: skip
        args = [self.to_py(v, t) for v, (_, t) in zip(action.args, params, strict=True)]
        out = r.call_api(func, r.store, *args)
        if ty.result is None:
            return []
        return [(out, ty.result)]

    # ------------------------------------------------------------ values
    def to_py(self, v: Any, ty: Any) -> Any:
        """A script value as the Python value a host passes for type ``ty``."""
        name = type(ty).__name__
        if isinstance(v, NumValue):
            if name == "F32":
                return _f32(v.value)
            if name == "F64":
                return _f64(v.value)
            return v.value
        if not isinstance(v, CompValue):
            raise Fail(f"cannot pass {v!r} to a component function")
        k, x = v.kind, v.value
        if name in ("F32", "F64"):
            return _f32(x) if name == "F32" else _f64(x)
        if k in ("bool", "char", "str", "enum") or k in _INTS:
            return x
        if name == "ListType":
            items = [self.to_py(e, ty.element) for e in x]
            return bytes(items) if type(ty.element).__name__ == "U8" else items
        if name == "RecordType":
            rec = self.c.Record()
            for (fname, fv), (tname, ft) in zip(x, ty.fields, strict=True):
                if fname != tname:
                    raise Fail(f"record field {fname!r} where the type has {tname!r}")
                setattr(rec, fname, self.to_py(fv, ft))
            return rec
        if name == "TupleType":
            return tuple(self.to_py(e, t) for e, t in zip(x, ty.elements, strict=True))
        if name == "FlagsType":
            return set(x)
        if name in ("VariantType", "OptionType", "ResultType"):
            cases = _cases(ty)
            tag, payload = _tag_of(v)
            case_ty = dict(cases)[tag]
            py = None if payload is None else self.to_py(payload, case_ty)
            if _tagged(cases):
                return self.c.Variant(tag, py)
            return py
        raise Fail(f"cannot pass {k} values")

    def mismatch(self, expected: Any, got: Any, ty: Any) -> str | None:
        """Why ``got`` (of type ``ty``) is not the expected script value, or None."""
        if self.same(expected, got, ty):
            return None
        return f"expected {_show(expected)}, got {got!r}"

    def same(self, e: Any, g: Any, ty: Any) -> bool:
        name = type(ty).__name__
        if isinstance(e, NumResult):
            if not isinstance(g, float):
                return False
            if e.nan in (NAN_CANONICAL, NAN_ARITHMETIC):
                return math.isnan(g)
            return _bits(g, name) == e.value
        if isinstance(e, NumValue):
            if name in ("F32", "F64"):
                return isinstance(g, float) and _bits(g, name) == e.value
            return g == e.value
        if not isinstance(e, CompValue):
            return False
        k, x = e.kind, e.value
        if name in ("F32", "F64"):
            return isinstance(g, float) and (math.isnan(g) and math.isnan(_f64(x) if name == "F64"
                                             else _f32(x)) or _bits(g, name) == x)  # fmt: skip
        if k == "bool":
            return g is x
        if k in _INTS:
            return type(g) is int and g == x
        if k in ("char", "str", "enum"):
            return type(g) is str and g == x
        if name == "ListType":
            if not isinstance(g, (list, bytes)) or len(g) != len(x):
                return False
            return all(self.same(ev, gv, ty.element) for ev, gv in zip(x, g, strict=True))
        if name == "RecordType":
            for (fname, fv), (_, ft) in zip(x, ty.fields, strict=True):
                if not hasattr(g, fname) or not self.same(fv, getattr(g, fname), ft):
                    return False
            return True
        if name == "TupleType":
            return (isinstance(g, tuple) and len(g) == len(x)
                    and all(self.same(ev, gv, t) for ev, gv, t
                            in zip(x, g, ty.elements, strict=True)))  # fmt: skip
        if name == "FlagsType":
            return isinstance(g, set) and g == set(x)
        if name in ("VariantType", "OptionType", "ResultType"):
            cases = _cases(ty)
            tag, payload = _tag_of(e)
            case_ty = dict(cases).get(tag)
            if _tagged(cases):
                if not isinstance(g, self.c.Variant) or g.tag != tag:
                    return False
                g = g.payload
            if payload is None:
                return g is None
            return case_ty is not None and self.same(payload, g, case_ty)
        return False


def _import_component(api: ModuleType) -> ModuleType:
    import importlib

    return importlib.import_module(api.__name__ + ".component")


_INTS = ("s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64")


def _f32(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])


def _f64(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits & ((1 << 64) - 1)))[0])


def _bits(x: float, name: str) -> int:
    if name == "F32":
        return int(struct.unpack("<I", struct.pack("<f", x))[0])
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def _cases(ty: Any) -> list[tuple[str, Any]]:
    name = type(ty).__name__
    if name == "OptionType":
        return [("none", None), ("some", ty.payload)]
    if name == "ResultType":
        return [("ok", ty.ok), ("err", ty.err)]
    return list(ty.cases)


def _tag_of(v: CompValue) -> tuple[str, Any]:
    if v.kind == "option":
        return ("none", None) if v.value is None else ("some", v.value)
    return v.value  # type: ignore[no-any-return]


def _classes(ty: Any) -> set[str]:
    """wasmtime-py's Python classes of a type's values, by name."""
    name = type(ty).__name__
    if name == "Bool":
        return {"bool"}
    if name in ("F32", "F64"):
        return {"float"}
    if name in ("Char", "String", "EnumType"):
        return {"str"}
    if name in _INT_TYPES:
        return {"int"}
    if name == "ListType":
        return {"bytes"} if type(ty.element).__name__ == "U8" else {"list"}
    if name == "RecordType":
        return {"Record"}
    if name == "TupleType":
        return {"tuple"}
    if name == "FlagsType":
        return {"set"}
    if name in ("OwnType", "BorrowType"):
        return {"ResourceAny", "ResourceHost"}
    if name in ("VariantType", "OptionType", "ResultType"):
        cases = _cases(ty)
        if _tagged(cases):
            return {"Variant"}
        out: set[str] = set()
        for _, t in cases:
            out |= {"object"} if t is None else _classes(t)
        return out
    return {"object"}


_INT_TYPES = ("S8", "S16", "S32", "S64", "U8", "U16", "U32", "U64")


def _tagged(cases: list[tuple[str, Any]]) -> bool:
    seen: set[str] = set()
    for _, t in cases:
        c = {"object"} if t is None else _classes(t)
        if c & seen:
            return True
        seen |= c
    return False


def _show(v: Any) -> str:
    if isinstance(v, CompValue):
        return f"{v.kind}({v.value!r})"
    return repr(v)
