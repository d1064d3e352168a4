"""WAVE (the WebAssembly Value Encoding wasmtime uses for ``--invoke`` of component
exports): parse a call such as ``f("x", 3, [1, 2], {a: some(1)})`` and print the
result, each guided by the function's types.

Values: ``true``/``false``; integers; floats (also ``nan``, ``inf``, ``-inf``);
chars ``'x'``; strings ``"..."`` with ``\\n \\t \\r \\' \\" \\\\ \\u{XXXX}``; lists
``[a, b]``; tuples ``(a, b)``; records ``{field: v, ...}`` (an ``option`` field may be
left out: ``none``); variants and enums ``case`` or ``case(v)``; options
``some(v)``/``none``; results ``ok``, ``ok(v)``, ``err``, ``err(v)``; flags
``{a, b}``. A label may be written ``%label`` (for one spelled like a keyword).
Errors name the position (byte offset) and what was expected.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

from .internal.exec.component.abigen import py_classes, tagged, variant_cases
from .internal.exec.component.values import Variant

_INT_RANGES = {"u8": (0, 255), "u16": (0, 65535), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
               "s8": (-128, 127), "s16": (-32768, 32767), "s32": (-(2**31), 2**31 - 1),
               "s64": (-(2**63), 2**63 - 1)}  # fmt: skip
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<chr>'(?:[^'\\]|\\.)*')
  | (?P<num>-?(?:inf|nan|\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?))
  | (?P<label>%?[a-zA-Z][a-zA-Z0-9-]*)
  | (?P<punct>[\[\](){},:])
""", re.X)  # fmt: skip


class WaveError(Exception):
    """Bad WAVE text: the message names the byte offset."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise WaveError(f"offset {pos}: unexpected character {text[pos]!r}")
            kind = m.lastgroup or ""
            if kind != "ws":
                self.toks.append((kind, m.group(), pos))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "", len(self.text))

    def next(self) -> tuple[str, str, int]:
        t = self.peek()
        self.i += 1
        return t

    def expect(self, p: str) -> None:
        kind, text, pos = self.next()
        if text != p or kind not in ("punct",):
            raise WaveError(f"offset {pos}: expected {p!r}, found {text or 'the end'!r}")

    def accept(self, p: str) -> bool:
        kind, text, _ = self.peek()
        if kind == "punct" and text == p:
            self.i += 1
            return True
        return False

    def label(self) -> tuple[str, int]:
        kind, text, pos = self.next()
        if kind != "label":
            raise WaveError(f"offset {pos}: expected a name, found {text or 'the end'!r}")
        return text.lstrip("%"), pos

    def items(self, close: str, item: Any) -> list[Any]:
        """Comma-separated items up to ``close`` (a trailing comma allowed)."""
        out = []
        while not self.accept(close):
            out.append(item())
            if not self.accept(","):
                self.expect(close)
                break
        return out

    # ------------------------------------------------------------ values
    def value(self, s: Any) -> Any:
        kind, text, pos = self.peek()
        if isinstance(s, str):
            return self.scalar(s)
        k = s[0]
        if k == "list":
            self.expect("[")
            items = self.items("]", lambda: self.value(s[1]))
            if s[2] is not None and len(items) != s[2]:
                raise WaveError(f"offset {pos}: expected {s[2]} elements, found {len(items)}")
            return bytes(items) if s[1] == "u8" and s[2] is None else items
        if k == "tuple":
            self.expect("(")
            vals = []
            for j, t in enumerate(s[1]):
                if j:
                    self.expect(",")
                vals.append(self.value(t))
            self.accept(",")
            self.expect(")")
            return tuple(vals)
        if k == "record":
            self.expect("{")
            fields = dict(s[1])
            got: dict[str, Any] = {}

            def field() -> None:
                name, fpos = self.label()
                if name not in fields:
                    raise WaveError(f"offset {fpos}: the record has no field {name!r}")
                if name in got:
                    raise WaveError(f"offset {fpos}: field {name!r} given twice")
                self.expect(":")
                got[name] = self.value(fields[name])

            self.items("}", field)
            for name, t in s[1]:
                if name not in got:
                    if isinstance(t, tuple) and t[0] == "option":
                        got[name] = self.case_value(t, "none", None)
                    else:
                        raise WaveError(f"offset {pos}: field {name!r} is missing")
            return got
        if k == "flags":
            self.expect("{")

            def flag() -> str:
                name, fpos = self.label()
                if name not in s[1]:
                    raise WaveError(f"offset {fpos}: no flag {name!r} (flags: {', '.join(s[1])})")
                return name

            return set(self.items("}", flag))
        if k == "enum":
            name, lpos = self.label()
            if name not in s[1]:
                raise WaveError(f"offset {lpos}: no case {name!r} (cases: {', '.join(s[1])})")
            return name
        if k in ("variant", "option", "result"):
            cases = dict(variant_cases(s))
            name, lpos = self.label()
            if name not in cases:
                raise WaveError(f"offset {lpos}: no case {name!r} (cases: {', '.join(cases)})")
            t = cases[name]
            payload = None
            if t is not None:
                self.expect("(")
                payload = self.value(t)
                self.expect(")")
            elif self.accept("("):
                raise WaveError(f"offset {lpos}: case {name!r} has no payload")
            return self.case_value(s, name, payload)
        raise WaveError(f"offset {pos}: values of type {k} cannot be written in WAVE")

    def case_value(self, s: Any, name: str, payload: Any) -> Any:
        """The Python form of a variant-like value (nanoproc's lowering rules:
        a ``Variant`` when the cases' classes overlap, else the payload alone)."""
        if tagged(variant_cases(s)) or s[0] == "variant":
            return Variant(name, payload)
        return payload

    def scalar(self, s: str) -> Any:
        kind, text, pos = self.next()
        if s == "bool":
            if kind == "label" and text in ("true", "false"):
                return text == "true"
            raise WaveError(f"offset {pos}: expected true or false, found {text or 'the end'!r}")
        if s in _INT_RANGES:
            if kind != "num" or not re.fullmatch(r"-?\d[\d_]*", text):
                raise WaveError(f"offset {pos}: expected an integer ({s}), found {text or 'the end'!r}")
            v = int(text.replace("_", ""))
            lo, hi = _INT_RANGES[s]
            if not lo <= v <= hi:
                raise WaveError(f"offset {pos}: {v} is out of range for {s}")
            return v
        if s in ("f32", "f64"):
            if kind != "num":
                raise WaveError(f"offset {pos}: expected a number ({s}), found {text or 'the end'!r}")
            v = float(text.replace("_", ""))
            if s == "f32" and math.isfinite(v):
                v = struct.unpack("<f", struct.pack("<f", v))[0] if abs(v) < 3.5e38 else math.copysign(math.inf, v)
            return v
        if s == "char":
            if kind != "chr":
                raise WaveError(f"offset {pos}: expected a char such as 'x', found {text or 'the end'!r}")
            c = _unescape(text[1:-1], pos)
            if len(c) != 1:
                raise WaveError(f"offset {pos}: a char literal holds one character")
            return c
        if s == "string":
            if kind != "str":
                raise WaveError(f"offset {pos}: expected a string such as \"x\", found {text or 'the end'!r}")
            return _unescape(text[1:-1], pos)
        raise WaveError(f"offset {pos}: values of type {s} cannot be written in WAVE")


_ESC = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}


def _unescape(body: str, pos: int) -> str:
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1:i + 2]
        if e in _ESC:
            out.append(_ESC[e])
            i += 2
        elif e == "u" and body[i + 2:i + 3] == "{":
            end = body.find("}", i)
            try:
                cp = int(body[i + 3:end], 16)
                if end < 0 or 0xD800 <= cp <= 0xDFFF:
                    raise ValueError
                out.append(chr(cp))
            except (ValueError, OverflowError):
                raise WaveError(f"offset {pos + i + 1}: bad \\u{{...}} escape") from None
            i = end + 1
        else:
            raise WaveError(f"offset {pos + i + 1}: unknown escape \\{e}")
    return "".join(out)


def parse_call(text: str) -> tuple[str, str]:
    """``name(args)`` (or ``name``) as (name, the argument text)."""
    text = text.strip()
    i = text.find("(")
    if i < 0:
        return text, ""
    if not text.endswith(")"):
        raise WaveError(f"offset {len(text)}: expected ')' at the end of the call")
    return text[:i].strip(), text[i + 1:-1]


def parse_args(text: str, shapes: tuple[Any, ...], names: list[str]) -> list[Any]:
    """The arguments ``text`` (comma-separated WAVE values) for parameters of ``shapes``."""
    p = _Parser(text)
    out = []
    for j, s in enumerate(shapes):
        if j:
            kind, t, pos = p.peek()
            if not p.accept(","):
                raise WaveError(f"offset {pos}: expected {len(shapes)} arguments "
                                f"({', '.join(names)}), found {j}")  # fmt: skip
        out.append(p.value(s))
    p.accept(",")
    kind, t, pos = p.peek()
    if kind != "end":
        raise WaveError(f"offset {pos}: expected {len(shapes)} argument(s) ({', '.join(names)}), "
                        f"found more")  # fmt: skip
    return out


# ---------------------------------------------------------------- printing
def show(v: Any, s: Any) -> str:
    """``v`` (a lifted value of shape ``s``) as WAVE text."""
    if isinstance(s, str):
        if s == "bool":
            return "true" if v else "false"
        if s in ("f32", "f64"):
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
            if s == "f32":
                from .cli_run import _shortest_f32

                return _shortest_f32(v)
            return repr(float(v))
        if s == "char":
            return "'" + _escape(v, "'") + "'"
        if s == "string":
            return '"' + _escape(v, '"') + '"'
        return str(int(v))
    k = s[0]
    if k == "list":
        return "[" + ", ".join(show(x, s[1]) for x in v) + "]"
    if k == "tuple":
        return "(" + ", ".join(show(x, t) for x, t in zip(v, s[1], strict=True)) + ")"
    if k == "record":
        return "{" + ", ".join(f"{_label(n)}: {show(_get(v, n), t)}" for n, t in s[1]) + "}"
    if k == "flags":
        return "{" + ", ".join(_label(n) for n in s[1] if n in v) + "}"
    if k == "enum":
        return _label(str(v))
    if k in ("variant", "option", "result"):
        name, payload = _case(v, s)
        t = dict(variant_cases(s))[name]
        label = _label(name) if k == "variant" else name
        return label if t is None else f"{label}({show(payload, t)})"
    return f"<{k}>"


def _get(rec: Any, name: str) -> Any:
    if isinstance(rec, dict):
        return rec[name]
    return getattr(rec, name)


def _case(v: Any, s: Any) -> tuple[str, Any]:
    cases = variant_cases(s)
    if isinstance(v, Variant) and (tagged(cases) or not any(
            Variant in py_classes(t) for _, t in cases if t is not None)):  # fmt: skip
        return v.tag, v.payload
    for name, t in cases:
        if t is None:
            if v is None:
                return name, None
        elif _matches(v, py_classes(t)):
            return name, v
    raise WaveError(f"cannot print {v!r} as one of {', '.join(n for n, _ in cases)}")


def _matches(v: Any, classes: set[type]) -> bool:
    if v is None:
        return object in classes
    if type(v) is bool:
        return bool in classes
    return isinstance(v, tuple(c for c in classes if c is not object))


_KEYWORDS = frozenset({"true", "false", "some", "none", "ok", "err", "inf", "nan"})


def _label(name: str) -> str:
    return "%" + name if name in _KEYWORDS else name


def _escape(text: str, quote: str) -> str:
    out = []
    for c in text:
        if c == "\\" or c == quote:
            out.append("\\" + c)
        elif c in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[c])
        elif not c.isprintable():
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return "".join(out)
