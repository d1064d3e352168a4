"""The hand-written record classes (internal/records.py) behave as the dataclasses they
replaced (tests/api/test_import_cost.py checks that ``import nanoproc`` stays free of
``dataclasses``).

Each record class is compared with a dataclass built from its own declaration (fields
in annotation order, defaults and default factories from its constructor, the same
frozen/slots/eq flags): construction, ``__match_args__``, equality, hashing, repr,
immutability, pickling, copying and ``replace``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

import nanoproc  # noqa: F401  (defines every record class on the import path)
from nanoproc.internal.records import Frozen, Record


def _all_records() -> list[type[Record]]:
    out: list[type[Record]] = []
    todo = list(Record.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls is not Frozen:
            out.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(out, key=lambda c: (c.__module__, c.__qualname__))


RECORDS = _all_records()


def test_the_import_path_defines_the_records() -> None:
    names = {c.__qualname__ for c in RECORDS}
    assert {"NumType", "RefType", "FuncType", "SubType", "Limits", "Module", "Func", "Op",
            "Catch", "Context", "ModuleTypes", "EngineSettings", "Frame"} <= names


class _Val:
    """A distinct, picklable, hashable value per (field, variant)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Val) and other.tag == self.tag

    def __hash__(self) -> int:
        return hash(self.tag)

    def __repr__(self) -> str:
        return f"V<{self.tag}>"


def _twin(cls: type[Record]) -> tuple[type, dict[str, Any]]:
    """The dataclass ``cls`` stands for, and the defaults of its optional fields."""
    sig = inspect.signature(cls)
    required = {n: _Val(n) for n, p in sig.parameters.items() if p.default is p.empty}
    plain = cls(**required)
    defaults = {n: getattr(plain, n) for n, p in sig.parameters.items()
                if p.default is not p.empty}  # fmt: skip
    shown = cls._shown if cls._shown is not None else cls.__match_args__
    specs = []
    for name, param in sig.parameters.items():
        extra: dict[str, Any] = {}
        if name not in shown:
            extra.update(repr=False, compare=False)
        if param.default is not param.empty:
            value = defaults[name]
            if param.default is None and value is not None:
                extra["default_factory"] = type(value)  # a fresh list/dict per instance
            else:
                extra["default"] = value
        specs.append((name, Any, dataclasses.field(**extra)))
    frozen = issubclass(cls, Frozen)
    slots = "__dict__" not in dir(cls) and not hasattr(plain, "__dict__")
    eq = cls.__eq__ is not object.__eq__
    twin = dataclasses.make_dataclass(cls.__name__, specs, frozen=frozen, slots=slots, eq=eq)
    twin.__qualname__ = cls.__qualname__
    return twin, defaults


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_record_behaves_as_its_dataclass(cls: type[Record]) -> None:
    twin, defaults = _twin(cls)
    names = list(inspect.signature(cls).parameters)
    # every declared field is a constructor parameter, in declaration order
    declared = [n for n in cls.__annotations__ if n not in ("__match_args__", "_shown")]
    assert names == declared == list(cls.__match_args__) == list(twin.__match_args__)
    if "__slots__" in cls.__dict__:
        assert tuple(cls.__slots__) == cls.__match_args__  # type: ignore[attr-defined]

    vals = {n: _Val(n) for n in names}
    ours, theirs = cls(**vals), twin(**vals)
    for n in names:
        assert getattr(ours, n) == vals[n]
    positional = cls(*vals.values())
    assert [getattr(positional, n) for n in names] == list(vals.values())

    if cls.__repr__ is Record.__repr__:
        assert repr(ours) == repr(theirs)

    # equality: same class and compared fields; each compared field matters
    same = cls(**vals)
    if twin.__eq__ is not object.__eq__:
        assert ours == same and not (ours != same)
        for n in names:
            other = cls(**{**vals, n: _Val(n + "'")})
            assert (ours == other) == (theirs == twin(**{**vals, n: _Val(n + "'")}))
        assert ours != theirs and (ours == object()) is False
        assert ours.__eq__(object()) is NotImplemented
    else:
        assert ours != same and ours == ours

    # hashing and immutability
    if issubclass(cls, Frozen):
        if twin.__eq__ is not object.__eq__:
            assert hash(ours) == hash(theirs) == hash(same)
        else:
            assert hash(ours) == object.__hash__(ours)
        with pytest.raises(AttributeError, match="cannot assign to field"):
            ours.__setattr__(names[0], 1)
        with pytest.raises(AttributeError):
            ours.__delattr__(names[0])
        assert getattr(ours, names[0]) == vals[names[0]]
        changed = ours.replace(**{names[-1]: 5})
        assert changed.__class__ is cls and getattr(changed, names[-1]) == 5
        assert [getattr(changed, n) for n in names[:-1]] == [vals[n] for n in names[:-1]]
    else:
        with pytest.raises(TypeError, match="unhashable"):
            hash(ours)
        setattr(ours, names[0], 7)
        assert getattr(ours, names[0]) == 7
        setattr(ours, names[0], vals[names[0]])
    with pytest.raises(TypeError):
        ours.replace(no_such_field=1)

    # defaults, and fresh mutable defaults per instance
    required = {n: vals[n] for n in names if n not in defaults}
    a, b = cls(**required), twin(**required)
    for n, v in defaults.items():
        assert getattr(a, n) == getattr(b, n) == v
        if isinstance(v, (list, dict)):
            assert getattr(a, n) is not getattr(cls(**required), n)

    # pickling and copying give an equal object of the same class
    for back in (pickle.loads(pickle.dumps(ours)), copy.copy(ours), copy.deepcopy(ours)):
        assert back.__class__ is cls
        for n in names:
            assert getattr(back, n) == vals[n]


def test_class_patterns_match_positionally() -> None:
    from nanoproc.internal.syntax.types import I32, FuncType, RefType, SubType

    match SubType(FuncType((I32,), ()), False, (3,)):
        case SubType(FuncType(params, results), final, supers):
            assert (params, results, final, supers) == ((I32,), (), False, (3,))
        case _:
            pytest.fail("no match")
    match RefType(True, "func"):
        case RefType(False, _):
            pytest.fail("matched the wrong nullability")
        case RefType(True, heap):
            assert heap == "func"


def test_value_types_stay_singletons_and_compare_by_value() -> None:
    from nanoproc.internal.syntax.types import FUNCREF, I32, NumType, RefType

    assert NumType("i32") == I32 and hash(NumType("i32")) == hash(I32)
    assert RefType(True, "func") == FUNCREF and {FUNCREF: 1}[RefType(True, "func")] == 1
    assert RefType(False, "func") != FUNCREF
    assert (I32 == FUNCREF) is False

