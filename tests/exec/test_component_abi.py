"""Every component value type round-trips Python -> component -> Python and through two
linked components, on both tiers (forwarders from component_helpers)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from component_helpers import chain, forwarder

import nanoproc
from nanoproc import component as c

R = c.Record
V = c.Variant

CASES: list[tuple[str, Any, list[Any]]] = [
    ("bool", "bool", [True, False]),
    ("s8", "s8", [-128, -1, 0, 127]),
    ("u8", "u8", [0, 1, 255]),
    ("s16", "s16", [-32768, 32767]),
    ("u16", "u16", [0, 65535]),
    ("s32", "s32", [-(2**31), -1, 2**31 - 1]),
    ("u32", "u32", [0, 2**32 - 1]),
    ("s64", "s64", [-(2**63), 2**63 - 1]),
    ("u64", "u64", [0, 2**64 - 1]),
    ("f32", "f32", [1.5, -0.0, math.inf, 3.4028234663852886e38]),
    ("f64", "f64", [1e300, -2.5, 5e-324]),
    ("char", "char", ["a", "\u00e9", "\u2603", "\U0001f370", "\ud7ff", "\ue000"]),
    ("string", "string", ["", "ascii", "h\u00f6\u2603\U0001f370", "\u00ff" * 40, "x" * 3000]),
    ("list-u8", ("list", "u8", None), [b"", b"\x00\xff" * 100]),
    ("list-u32", ("list", "u32", None), [[], [1, 2, 2**32 - 1]]),
    ("list-f32", ("list", "f32", None), [[0.5, -1.0]]),
    ("list-string", ("list", "string", None), [["a", "", "\u2603"]]),
    ("list-record", ("list", ("record", (("a", "u32"), ("b", "string"))), None),
     [[R(a=1, b="x"), R(a=2, b="\u00e9\u00e9")]]),
    ("list-scalar-record", ("list", ("record", (("x", "u8"), ("y", "s64"), ("z", "u16"))), None),
     [[R(x=1, y=-2, z=3)] * 50]),
    ("record", ("record", (("a", "bool"), ("b", "f64"), ("c-d", "char"), ("e", "string"))),
     [R(**{"a": True, "b": 0.25, "c-d": "z", "e": "str"})]),
    ("tuple", ("tuple", ("u8", "string", "f32")), [(1, "two", 3.0)]),
    ("fixed-list", ("list", "u16", 3), [[1, 2, 3]]),
    ("variant", ("variant", (("a", None), ("b", "f32"), ("c", "u64"), ("d", "string"))),
     [None, 1.25, 2**64 - 1, "hi"]),
    ("variant-tagged", ("variant", (("a", "u8"), ("b", "u32"), ("c", None))),
     [V("a", 1), V("b", 2), V("c")]),
    ("enum", ("enum", ("x", "y", "zed")), ["x", "zed"]),
    ("option", ("option", "u32"), [None, 7]),
    ("option-option", ("option", ("option", "u32")), [V("none"), V("some", None),
                                                       V("some", 3)]),
    ("option-string", ("option", "string"), [None, "s"]),
    ("result", ("result", "u32", "string"), [7, "error text"]),
    ("result-same", ("result", "u32", "u32"), [V("ok", 1), V("err", 2)]),
    ("result-empty", ("result", None, None), [V("ok"), V("err")]),
    ("result-unit-ok", ("result", None, "string"), [None, "e"]),
    ("flags", ("flags", ("a", "b", "c")), [set(), {"a", "c"}]),
    ("flags-32", ("flags", tuple(f"f{i}" for i in range(32))), [{"f0", "f31"}]),
    ("map", ("map", "string", "u32"), [[("a", 1), ("b", 2), ("a", 3)]]),
    ("many-params", ("tuple", tuple(["u32"] * 20)), [tuple(range(20))]),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.copysign(1, a) == math.copysign(1, b) and (a == b or a != a and b != b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, c.Record):
        return isinstance(b, c.Record) and a.__dict__.keys() == b.__dict__.keys() and all(
            _same(a.__dict__[k], b.__dict__[k]) for k in a.__dict__)
    if isinstance(a, c.Variant):
        return isinstance(b, c.Variant) and a.tag == b.tag and _same(a.payload, b.payload)
    return type(a) is type(b) and a == b


def _run(tier: str, text: str, values: list[Any]) -> Any:
    engine = nanoproc.Engine(_config(tier))
    store = nanoproc.Store(engine)
    component = c.Component(engine, text)
    seen: list[Any] = []
    linker = c.Linker(engine)
    with linker.root() as root, root.add_instance("host") as host:
        def echo(st: Any, x: Any) -> Any:
            seen.append(x)
            return x
        host.add_func("echo", echo)
    inst = linker.instantiate(store, component)
    f = inst.get_func(store, "echo")
    assert f is not None
    for v in values:
        got = f(store, v)
        assert _same(got, v), (got, v)
        assert _same(seen[-1], v), (seen[-1], v)
    return f, store


def _config(tier: str) -> nanoproc.Config:
    cfg = nanoproc.Config()
    cfg.strategy = tier
    return cfg


@pytest.mark.parametrize("tier", ["interp", "llvm"])
@pytest.mark.parametrize(("name", "shape", "values"), CASES, ids=[x[0] for x in CASES])
def test_python_component_round_trip(tier: str, name: str, shape: Any, values: list[Any]) -> None:
    if tier == "llvm":
        pytest.importorskip("llvmlite")
    _run(tier, forwarder(shape, "utf8"), values)


@pytest.mark.parametrize("encs", [("utf8", "utf16"), ("utf16", "latin1+utf16"),
                                  ("latin1+utf16", "utf8")])  # fmt: skip
@pytest.mark.parametrize(("name", "shape", "values"), CASES, ids=[x[0] for x in CASES])
def test_component_component_round_trip(name: str, shape: Any, values: list[Any],
                                        encs: tuple[str, str]) -> None:  # fmt: skip
    _run("interp", chain(shape, *encs), values)


def test_untagged_variant_takes_a_variant_too() -> None:
    shape = ("variant", (("a", None), ("b", "f32"), ("c", "u64"), ("d", "string")))
    f, store = _run("interp", forwarder(shape), [])
    assert f(store, V("c", 5)) == 5
    assert f(store, V("a")) is None
    with pytest.raises(ValueError, match="not a case"):
        f(store, V("zz", 1))
