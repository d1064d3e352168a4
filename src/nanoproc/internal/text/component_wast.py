"""Component values in WAST scripts (the wast crate's ``WastVal``).

``(str.const "hi")``, ``(record.const (field "a" u32.const 1))``,
``(variant.const "c" (u8.const 1))``, ``(option.some (char.const "x"))`` ... become
:class:`CompValue` trees: ``kind`` is the value's constructor, ``value`` its payload:

=============  ====================================================
bool           ``True``/``False``
s8 ... u64     ``int``
f32, f64       the IEEE bit pattern (``int``), as core floats are
char, str      ``str``
list, tuple    ``tuple[CompValue, ...]``
record         ``tuple[(label, CompValue), ...]``
variant        ``(label, CompValue | None)``
enum           label
option         ``CompValue | None``
result         ``("ok" | "err", CompValue | None)``
flags          ``tuple[label, ...]``
=============  ====================================================

Inside ``(field "name" ...)`` the value is written without its own parentheses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cursor import Cursor
from .lexer import ATOM, Tok
from .numbers import OutOfRange, parse_float, parse_int, parse_uint


@dataclass(frozen=True, slots=True)
class CompValue:
    kind: str
    value: Any


_INT_BITS = {"s8": 8, "u8": 8, "s16": 16, "u16": 16, "s32": 32, "u32": 32, "s64": 64, "u64": 64}


def is_component_value(head: str | None) -> bool:
    return head in _CASES


def component_value(cur: Cursor) -> CompValue:
    """A parenthesised value: ``(kw ...)`` as the next item of ``cur``."""
    sub = cur.list()
    v = bare_value(sub)
    sub.expect_end()
    return v


def bare_value(cur: Cursor) -> CompValue:
    """A value's keyword and payload, read from ``cur`` in place."""
    kw = cur.keyword()
    parse = _CASES.get(kw.text)
    if parse is None:
        raise cur.error(f"unexpected token {kw.text}: expected a [type].const expression", kw)
    return parse(cur, kw.text)


def _int(cur: Cursor, kw: str) -> CompValue:
    t = kw.split(".")[0]
    bits = _INT_BITS[t]
    tok = cur.next("integer")
    if not isinstance(tok, Tok) or tok.kind != ATOM:
        raise cur.unexpected(tok)
    try:
        if t[0] == "u":
            v = parse_uint(tok.text, bits)
        else:
            v = parse_int(tok.text, bits)
    except OutOfRange:
        raise cur.error("constant out of range", tok) from None
    if v is None:
        raise cur.error(f"unexpected token {tok.text}", tok)
    return CompValue(t, v)


def _float(cur: Cursor, kw: str) -> CompValue:
    t = kw.split(".")[0]
    tok = cur.next("float")
    if not isinstance(tok, Tok) or tok.kind != ATOM:
        raise cur.unexpected(tok)
    try:
        v = parse_float(tok.text, 32 if t == "f32" else 64)
    except OutOfRange:
        raise cur.error("constant out of range", tok) from None
    if v is None:
        raise cur.error(f"unexpected token {tok.text}", tok)
    return CompValue(t, v)


def _bool(cur: Cursor, kw: str) -> CompValue:
    tok = cur.keyword()
    if tok.text not in ("true", "false"):
        raise cur.unexpected(tok)
    return CompValue("bool", tok.text == "true")


def _char(cur: Cursor, kw: str) -> CompValue:
    item = cur.peek()
    s = cur.name()
    if len(s) != 1:
        raise cur.error("empty string" if not s else "more than one character", item)
    return CompValue("char", s)


def _str(cur: Cursor, kw: str) -> CompValue:
    return CompValue("str", cur.name())


def _seq(kind: str) -> Callable[[Cursor, str], CompValue]:
    def parse(cur: Cursor, kw: str) -> CompValue:
        out = []
        while cur.more():
            out.append(component_value(cur))
        return CompValue(kind, tuple(out))

    return parse


def _record(cur: Cursor, kw: str) -> CompValue:
    fields = []
    while cur.more():
        f = cur.list("field")
        name = f.name()
        fields.append((name, bare_value(f)))
        f.expect_end()
    return CompValue("record", tuple(fields))


def _variant(cur: Cursor, kw: str) -> CompValue:
    name = cur.name()
    payload = component_value(cur) if cur.more() else None
    return CompValue("variant", (name, payload))


def _enum(cur: Cursor, kw: str) -> CompValue:
    return CompValue("enum", cur.name())


def _none(cur: Cursor, kw: str) -> CompValue:
    return CompValue("option", None)


def _some(cur: Cursor, kw: str) -> CompValue:
    return CompValue("option", component_value(cur))


def _result(which: str) -> Callable[[Cursor, str], CompValue]:
    def parse(cur: Cursor, kw: str) -> CompValue:
        return CompValue("result", (which, component_value(cur) if cur.more() else None))

    return parse


def _flags(cur: Cursor, kw: str) -> CompValue:
    labels = []
    while cur.more():
        labels.append(cur.name())
    return CompValue("flags", tuple(labels))


_CASES: dict[str, Callable[[Cursor, str], CompValue]] = {
    "bool.const": _bool,
    **{f"{t}.const": _int for t in _INT_BITS},
    "f32.const": _float,
    "f64.const": _float,
    "char.const": _char,
    "str.const": _str,
    "list.const": _seq("list"),
    "record.const": _record,
    "tuple.const": _seq("tuple"),
    "variant.const": _variant,
    "enum.const": _enum,
    "option.none": _none,
    "option.some": _some,
    "result.ok": _result("ok"),
    "result.err": _result("err"),
    "flags.const": _flags,
}
