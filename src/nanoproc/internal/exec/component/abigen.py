"""Lifting and lowering compiled to Python, once per function shape.

``canon lift`` and ``canon lower`` (CanonicalABI.md) are generated as straight-line
Python source for each function *shape* (its parameter and result types with
resources as numbered slots) and each combination of options that changes the code
(string encoding, whether there is a memory, realloc or post-return, who is on
the other side). The source defines a factory ``make(B)`` that takes the run-time
bindings (the memory, the core function, the instance, the resource types of the
slots, ...) and returns the function; the compiled code is cached, so creating a
function at instantiation costs one closure.

Two *modes* differ only in the trap messages, which follow wasmtime's: ``host`` when
the other side is the host (Python values in or out), ``adapter`` when two
components are linked (wasmtime's fused adapters word the same failures
differently, and the test suite checks both).
"""

from __future__ import annotations

import re
import struct
import sys
from typing import Any

from ..trap import Trap
from . import convert as C
from . import runtime as R
from .shapes import (
    SCALARS,
    Shape,
    alignment,
    case_alignment,
    contains,
    despecialize,
    disc_size,
    field_offsets,
    flags_size,
    flatten,
    flatten_all,
    is_scalar_record,
    size,
    variant_payload,
)
from .values import Record, ResourceAny, ResourceHost, Variant

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1

LITTLE = sys.byteorder == "little"

_CODE = {"bool": "B", "u8": "B", "s8": "b", "u16": "H", "s16": "h", "u32": "I", "s32": "i",
         "u64": "Q", "s64": "q", "f32": "f", "f64": "d", "char": "I"}  # fmt: skip
_STORE_CODE = dict(_CODE, s8="B", s16="H", s32="I", s64="Q")
"""Stores write the core values lowering made (signed types already two's complement)."""
_STRUCTS: dict[str, struct.Struct] = {}


def _st(fmt: str) -> struct.Struct:
    s = _STRUCTS.get(fmt)
    if s is None:
        s = _STRUCTS[fmt] = struct.Struct(fmt)
    return s


# ---------------------------------------------------------------- python classes
def py_classes(s: Shape) -> set[type]:
    """The Python classes of a type's values (wasmtime-py's ``add_classes``)."""
    if isinstance(s, str):
        if s == "bool":
            return {bool}
        if s in ("f32", "f64"):
            return {float}
        if s in ("char", "string"):
            return {str}
        return {int}
    k = s[0]
    if k == "list":
        return {bytes} if s[1] == "u8" and s[2] is None else {list}
    if k == "record":
        return {Record}
    if k == "tuple":
        return {tuple}
    if k == "flags":
        return {set}
    if k == "enum":
        return {str}
    if k in ("own", "borrow"):
        return {ResourceAny, ResourceHost}
    if k == "map":
        return {list}
    if k in ("variant", "option", "result"):
        cases = variant_cases(s)
        if tagged(cases):
            return {Variant}
        out: set[type] = set()
        for _, t in cases:
            out |= {object} if t is None else py_classes(t)
        return out
    return {object}


def variant_cases(s: Shape) -> tuple[tuple[str, Shape | None], ...]:
    """Cases of a variant-like type with the labels Python sees (``err`` for results)."""
    k = s[0]
    if k == "option":
        return (("none", None), ("some", s[1]))
    if k == "result":
        return (("ok", s[1]), ("err", s[2]))
    return s[1]  # type: ignore[no-any-return]


def tagged(cases: tuple[tuple[str, Shape | None], ...]) -> bool:
    """Whether a variant's values need a Variant wrapper (its cases' Python classes
    overlap), as wasmtime-py decides."""
    seen: set[type] = set()
    for _, t in cases:
        case = {object} if t is None else py_classes(t)
        if case & seen:
            return True
        seen |= case
    return False


# ---------------------------------------------------------------- messages
MESSAGES = {
    "host": {"unaligned": "pointer not aligned", "list_unaligned": "list pointer is not aligned",
             "ret_unaligned": "return pointer not aligned",
             "list_oob": "list pointer/length out of bounds of memory",
             "ptr_oob": "pointer out of bounds of memory"},
    "adapter": {"unaligned": "unaligned pointer", "list_unaligned": "unaligned pointer",
                "ret_unaligned": "unaligned pointer", "list_oob": "list content out-of-bounds",
                "ptr_oob": "out of bounds memory access"},
}  # fmt: skip


class Gen:
    """Emits one generated function: statements into ``lines``, constants into ``ns``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.msg = MESSAGES[mode]
        self.lines: list[str] = []
        self.depth = 2
        self.n = 0
        self.ns: dict[str, Any] = {
            "_T": Trap, "_C": C, "_R": R, "_Record": Record, "_Variant": Variant,
            "_newrec": C.new_record, "_NAN": C.NAN, "_f32r": C.f32_round,
            "_RA": ResourceAny, "_RH": ResourceHost,
        }  # fmt: skip

    # ------------------------------------------------------------ emission
    def tmp(self, p: str = "t") -> str:
        self.n += 1
        return f"{p}{self.n}"

    def const(self, value: Any, p: str = "K") -> str:
        for k, v in self.ns.items():
            if v is value and k.startswith(p):
                return k
        name = self.tmp(p)
        self.ns[name] = value
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def indent(self) -> _Indent:
        return _Indent(self)

    def trap(self, key_or_msg: str) -> str:
        msg = self.msg.get(key_or_msg, key_or_msg)
        return f"raise _T({msg!r})"

    def unpack(self, fmt: str) -> str:
        return self.const(_st("<" + fmt).unpack_from, "U")

    def pack(self, fmt: str) -> str:
        return self.const(_st("<" + fmt).pack_into, "P")

    # ------------------------------------------------------------ lowering: flat
    def lower_flat(self, s: Shape, x: str) -> list[str]:
        """Statements checking and lowering Python value ``x`` (a name); the names
        of its flat core values."""
        if s == "string":
            return self.lower_string(x)
        if isinstance(s, str):
            return [self.lower_scalar(s, x)]
        k = s[0]
        if k == "list" and s[2] is not None:
            seq = self.tmp("q")
            self.emit(f"{seq} = _C.to_tuple({x}, {s[2]})")
            out = []
            for i in range(s[2]):
                e = self.tmp("e")
                self.emit(f"{e} = {seq}[{i}]")
                out += self.lower_flat(s[1], e)
            return out
        if k in ("list", "map"):
            p, n = self.tmp("p"), self.tmp("n")
            self.store_list(s, x, p, n)
            return [p, n]
        if k == "record":
            out = []
            for name, f in zip(self.record_fields(s, x), [t for _, t in s[1]], strict=True):
                out += self.lower_flat(f, name)
            return out
        if k == "tuple":
            seq = self.tmp("q")
            self.emit(f"{seq} = _C.to_tuple({x}, {len(s[1])})")
            out = []
            for i, t in enumerate(s[1]):
                e = self.tmp("e")
                self.emit(f"{e} = {seq}[{i}]")
                out += self.lower_flat(t, e)
            return out
        if k == "flags":
            m = self.tmp("m")
            bits = self.const({label: 1 << i for i, label in enumerate(s[1])}, "F")
            self.emit(f"{m} = _C.flags_mask({x}, {bits})")
            return [m]
        if k == "enum":
            d = self.tmp("d")
            index = self.const({label: j for j, label in enumerate(s[1])}, "E")
            self.emit(f"{d} = {index}.get({x}) if {x}.__class__ is str else None")
            self.emit(f"if {d} is None: {d} = _C.enum_index({x}, {index})")
            return [d]
        if k in ("variant", "option", "result"):
            return self.lower_variant_flat(s, x)
        if k == "own":
            h = self.tmp("h")
            self.emit(f"{h} = _R.lower_own(inst, R{s[1]}, {x})")
            return [h]
        if k == "borrow":
            h = self.tmp("h")
            self.emit(f"{h} = _R.lower_borrow(inst, R{s[1]}, {x}, task)")
            return [h]
        raise _unsupported(s)

    def lower_scalar(self, s: str, x: str) -> str:
        """A checked scalar, as its core value (a name)."""
        v = self.tmp("v")
        if s in ("u8", "u16", "u32", "u64"):
            hi = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFF_FFFF, "u64": (1 << 64) - 1}[s]
            self.emit(f"{v} = {x} if {x}.__class__ is int and 0 <= {x} <= {hi} "
                      f"else _C.to_int({x}, {s!r})")  # fmt: skip
        elif s in ("s8", "s16", "s32", "s64"):
            bits = int(s[1:])
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            mask = 0xFFFF_FFFF if bits <= 32 else (1 << 64) - 1
            self.emit(f"{v} = ({x} if {x}.__class__ is int and {lo} <= {x} <= {hi} "
                      f"else _C.to_int({x}, {s!r})) & {mask}")  # fmt: skip
        elif s == "bool":
            self.emit(f"{v} = 1 if {x} is True else 0 if {x} is False else int(_C.to_bool({x}))")
        elif s == "f32":
            self.emit(f"{v} = _f32r({x}) if {x}.__class__ is float else _C.to_float({x}, 'f32')")
        elif s == "f64":
            self.emit(f"{v} = {x} if {x}.__class__ is float else _C.to_float({x}, 'f64')")
        elif s == "char":
            self.emit(f"{v} = _C.to_char({x})")
        elif s == "string":
            raise AssertionError("strings are not scalars")
        else:
            raise _unsupported(s)
        return v

    def lower_string(self, x: str) -> list[str]:
        p, n = self.tmp("p"), self.tmp("n")
        self.emit(f"{p}, {n} = sst({x})")
        return [p, n]

    def record_fields(self, s: Shape, x: str) -> list[str]:
        """Names bound to the fields of record value ``x``."""
        names = tuple(n for n, _ in s[1])
        out = [self.tmp("f") for _ in names]
        d = self.tmp("d")
        self.emit(f"if {x}.__class__ is _Record:")
        with self.indent():
            self.emit(f"{d} = {x}.__dict__")
            self.emit("try:")
            with self.indent():
                for o, n in zip(out, names, strict=True):
                    self.emit(f"{o} = {d}[{n!r}]")
            self.emit("except KeyError:")
            with self.indent():
                self.emit(f"{', '.join(out)}, = _C.fields({x}, {names!r})")
        self.emit("else:")
        with self.indent():
            self.emit(f"{', '.join(out)}, = _C.fields({x}, {names!r})")
        return out

    def variant_case(self, s: Shape, x: str) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
        """Statements finding the case of variant-like value ``x``: (case index name,
        payload name, the cases)."""
        cases = variant_cases(s)
        i, pl = self.tmp("i"), self.tmp("y")
        if s[0] == "enum":  # pragma: no cover - enums are lowered separately
            raise AssertionError
        if tagged(cases):
            index = self.const({label: j for j, (label, _) in enumerate(cases)}, "E")
            self.emit(f"{i}, {pl} = _C.variant_case({x}, {index})")
            return i, pl, cases
        self.emit(f"{pl} = {x}")
        if not any(Variant in py_classes(t) for _, t in cases if t is not None):
            index = self.const({label: j for j, (label, _) in enumerate(cases)}, "E")
            self.emit(f"if {x}.__class__ is _Variant: {i}, {pl} = _C.variant_case({x}, {index})")
            first = False
        else:
            first = True
        for j, (_, t) in enumerate(cases):
            kw = "if" if first else "elif"
            first = False
            if t is None:
                self.emit(f"{kw} {x} is None: {i} = {j}")
            else:
                classes = self.const(tuple(py_classes(t)), "Q")
                self.emit(f"{kw} _C.matches({x}, {classes}): {i} = {j}")
        self.emit(f"else: raise TypeError('value ' + repr({x})[:60] + ' does not match a case "
                  f"of the variant')")  # fmt: skip
        return i, pl, cases

    def lower_variant_flat(self, s: Shape, x: str) -> list[str]:
        i, pl, cases = self.variant_case(s, x)
        joined = variant_payload(tuple(cases))
        slots = [self.tmp("w") for _ in joined]
        for j, (_, t) in enumerate(cases):
            self.emit(f"{'if' if j == 0 else 'elif'} {i} == {j}:")
            with self.indent():
                got: list[str] = []
                have: list[str] = []
                if t is not None:
                    got = self.lower_flat(t, pl)
                    have = flatten(t)
                for k, slot in enumerate(slots):
                    if k < len(got):
                        self.emit(f"{slot} = {_coerce(have[k], joined[k], got[k], self)}")
                    else:
                        self.emit(f"{slot} = {'0.0' if joined[k] in ('f32', 'f64') else '0'}")
                if not slots:
                    self.emit("pass")
        return [i, *slots]

    # ------------------------------------------------------------ lowering: memory
    def store_list(self, s: Shape, x: str, p: str, n: str) -> None:
        """Store list value ``x`` in fresh memory: sets names ``p`` (pointer) and ``n``
        (length)."""
        if s[0] == "map":
            elem: Shape = ("tuple", (s[1], s[2]))
            seq = self.tmp("q")
            self.emit(f"{seq} = list({x}.items()) if isinstance({x}, dict) else _C.to_seq({x}, 'map')")
            x = seq
        else:
            elem = s[1]
        esize, ealign = size(elem), alignment(elem)
        if elem == "u8":
            b = self.tmp("b")
            self.emit(f"{b} = {x} if {x}.__class__ is bytes else _C.to_bytes({x})")
            self.emit(f"{n} = len({b})")
            self.emit(f"{p} = alloc(1, {n}, 'list')")
            self.emit(f"mem.view[{p}:{p} + {n}] = {b}")
            return
        seq = self.tmp("q")
        self.emit(f"{seq} = {x} if {x}.__class__ is list else _C.to_seq({x}, 'list')")
        self.emit(f"{n} = len({seq})")
        self.emit(f"{p} = alloc({ealign}, {n} * {esize}, 'list')")
        if isinstance(elem, str) and elem in SCALARS and elem not in ("bool", "char") and LITTLE:
            code = _CODE[elem]
            self.emit("try:")
            with self.indent():
                if elem == "f32":
                    self.emit(f"mem.view[{p}:{p} + {n} * 4] = _pk('<%d{code}' % {n}, *{seq})")
                else:
                    self.emit(f"mem.view[{p}:{p} + {n} * {esize}] = "
                              f"_pk('<%d{code}' % {n}, *{seq})")  # fmt: skip
            self.emit("except _SE:")
            with self.indent():
                conv = f"_C.to_float(e, {elem!r})" if elem.startswith("f") else \
                    f"_C.to_int(e, {elem!r})"  # fmt: skip
                self.emit(f"for e in {seq}: {conv}")
                self.emit("raise")
            self.ns["_pk"] = struct.pack
            self.ns["_SE"] = struct.error
            return
        i, e, V = self.tmp("i"), self.tmp("e"), "V"
        self.emit(f"{V} = mem.view")
        self.emit(f"for {i}, {e} in enumerate({seq}):")
        with self.indent():
            self.store(elem, e, f"{p} + {i} * {esize}")

    def store(self, s: Shape, x: str, addr: str) -> None:
        """Store value ``x`` at ``addr`` (an expression); ``V`` must be the current
        view, and is refreshed after any allocation."""
        if isinstance(s, str):
            if s == "string":
                p, n = self.lower_string(x)
                self.emit("V = mem.view")
                self.emit(f"{self.pack('II')}(V, {addr}, {p}, {n})")
                return
            v = self.lower_scalar(s, x)
            self.emit(f"{self.pack(_STORE_CODE[s])}(V, {addr}, {v})")
            return
        k = s[0]
        if k in ("list", "map") and (k == "map" or s[2] is None):
            p, n = self.tmp("p"), self.tmp("n")
            self.store_list(s, x, p, n)
            self.emit("V = mem.view")
            self.emit(f"{self.pack('II')}(V, {addr}, {p}, {n})")
            return
        if k == "list":  # fixed length: a tuple of equal types
            seq = self.tmp("q")
            self.emit(f"{seq} = _C.to_tuple({x}, {s[2]})")
            es = size(s[1])
            for i in range(s[2]):
                e = self.tmp("e")
                self.emit(f"{e} = {seq}[{i}]")
                self.store(s[1], e, f"{addr} + {i * es}")
            return
        if k == "record":
            names = self.record_fields(s, x)
            types = [t for _, t in s[1]]
            self.store_fields(types, names, addr)
            return
        if k == "tuple":
            seq = self.tmp("q")
            self.emit(f"{seq} = _C.to_tuple({x}, {len(s[1])})")
            names = []
            for i in range(len(s[1])):
                e = self.tmp("e")
                self.emit(f"{e} = {seq}[{i}]")
                names.append(e)
            self.store_fields(list(s[1]), names, addr)
            return
        if k == "flags":
            (m,) = self.lower_flat(s, x)
            code = {1: "B", 2: "H", 4: "I"}[flags_size(len(s[1]))]
            self.emit(f"{self.pack(code)}(V, {addr}, {m})")
            return
        if k == "enum":
            (d,) = self.lower_flat(s, x)
            code = {1: "B", 2: "H", 4: "I"}[disc_size(len(s[1]))]
            self.emit(f"{self.pack(code)}(V, {addr}, {d})")
            return
        if k in ("variant", "option", "result"):
            ci, pl, cases = self.variant_case(s, x)
            ds = disc_size(len(cases))
            off = _align(ds, case_alignment(tuple(cases)))
            self.emit(f"{self.pack({1: 'B', 2: 'H', 4: 'I'}[ds])}(V, {addr}, {ci})")
            for j, (_, t) in enumerate(cases):
                if t is None:
                    continue
                self.emit(f"if {ci} == {j}:")
                with self.indent():
                    self.store(t, pl, f"{addr} + {off}")
            return
        if k in ("own", "borrow"):
            (h,) = self.lower_flat(s, x)
            self.emit(f"{self.pack('I')}(V, {addr}, {h})")
            return
        raise _unsupported(s)

    def store_fields(self, types: list[Shape], names: list[str], addr: str) -> None:
        offs = field_offsets(types)
        if all(isinstance(t, str) and t in SCALARS for t in types):
            fmt, vals = "", []
            pos = 0
            for t, o, nm in zip(types, offs, names, strict=True):
                if o > pos:
                    fmt += f"{o - pos}x"
                vals.append(self.lower_scalar(t, nm))
                fmt += _STORE_CODE[t]
                pos = o + size(t)
            self.emit(f"{self.pack(fmt)}(V, {addr}, {', '.join(vals)})")
            return
        for t, o, nm in zip(types, offs, names, strict=True):
            self.store(t, nm, f"{addr} + {o}")

    # ------------------------------------------------------------ lifting: flat
    def lift_flat(self, s: Shape, vals: list[str]) -> str:
        """Lift from the flat core values ``vals`` (consumed from the front); the
        name of the Python value."""
        if isinstance(s, str):
            if s == "string":
                p, n = vals.pop(0), vals.pop(0)
                r = self.tmp("s")
                self.emit(f"{r} = sld({p}, {n})")
                return r
            return self.lift_scalar(s, vals.pop(0))
        k = s[0]
        if k == "list" and s[2] is not None:
            items = [self.lift_flat(s[1], vals) for _ in range(s[2])]
            r = self.tmp("l")
            self.emit(f"{r} = [{', '.join(items)}]")
            return r
        if k in ("list", "map"):
            p, n = vals.pop(0), vals.pop(0)
            return self.load_list(s, p, n)
        if k == "record":
            items = [self.lift_flat(t, vals) for _, t in s[1]]
            return self.make_record(s, items)
        if k == "tuple":
            items = [self.lift_flat(t, vals) for t in s[1]]
            r = self.tmp("u")
            self.emit(f"{r} = ({', '.join(items)},)")
            return r
        if k == "flags":
            r = self.tmp("g")
            self.emit(f"{r} = _C.unflags({vals.pop(0)}, {s[1]!r})")
            return r
        if k == "enum":
            d = vals.pop(0)
            r = self.tmp("g")
            labels = self.const(tuple(s[1]), "L")
            self.emit(f"if {d} >= {len(s[1])}: raise _T('invalid variant discriminant')")
            self.emit(f"{r} = {labels}[{d}]")
            return r
        if k in ("variant", "option", "result"):
            cases = variant_cases(s)
            joined = variant_payload(tuple(cases))
            d = vals.pop(0)
            slots = [vals.pop(0) for _ in joined]
            r = self.tmp("g")
            tag = tagged(cases)
            for j, (label, t) in enumerate(cases):
                self.emit(f"{'if' if j == 0 else 'elif'} {d} == {j}:")
                with self.indent():
                    if t is None:
                        self.emit(f"{r} = _Variant({label!r})" if tag else f"{r} = None")
                        continue
                    have = flatten(t)
                    mine = []
                    for q, want in enumerate(have):
                        c = self.tmp("c")
                        self.emit(f"{c} = {_uncoerce(joined[q], want, slots[q])}")
                        mine.append(c)
                    v = self.lift_flat(t, mine)
                    self.emit(f"{r} = _Variant({label!r}, {v})" if tag else f"{r} = {v}")
            self.emit("else: raise _T('invalid variant discriminant')")
            return r
        if k == "own":
            r = self.tmp("o")
            self.emit(f"{r} = _R.lift_own(inst, R{s[1]}, {vals.pop(0)})")
            return r
        if k == "borrow":
            r = self.tmp("o")
            self.emit(f"{r} = _R.lift_borrow(inst, R{s[1]}, {vals.pop(0)}, lenders)")
            return r
        raise _unsupported(s)

    def lift_scalar(self, s: str, v: str) -> str:
        r = self.tmp("r")
        if s == "u8":
            self.emit(f"{r} = {v} & 0xFF")
        elif s == "u16":
            self.emit(f"{r} = {v} & 0xFFFF")
        elif s in ("u32", "u64"):
            self.emit(f"{r} = {v}")
        elif s == "s8":
            self.emit(f"{r} = (({v} & 0xFF) ^ 0x80) - 0x80")
        elif s == "s16":
            self.emit(f"{r} = (({v} & 0xFFFF) ^ 0x8000) - 0x8000")
        elif s == "s32":
            self.emit(f"{r} = {v} - (({v} & 0x80000000) << 1)")
        elif s == "s64":
            self.emit(f"{r} = {v} - (({v} & 0x8000000000000000) << 1)")
        elif s == "bool":
            self.emit(f"{r} = {v} != 0")
        elif s in ("f32", "f64"):
            self.emit(f"{r} = {v} if {v} == {v} else _NAN")
        elif s == "char":
            self.emit(f"if {v} >= 0x110000 or 0xD800 <= {v} <= 0xDFFF: "
                      f"raise _T('invalid `char` bit pattern')")  # fmt: skip
            self.emit(f"{r} = chr({v})")
        else:
            raise _unsupported(s)
        return r

    def make_record(self, s: Shape, items: list[str]) -> str:
        r = self.tmp("k")
        body = ", ".join(f"{n!r}: {v}" for (n, _), v in zip(s[1], items, strict=True))
        self.emit(f"{r} = _newrec({{{body}}})")
        return r

    # ------------------------------------------------------------ lifting: memory
    def load_list(self, s: Shape, p: str, n: str) -> str:
        elem: Shape = ("tuple", (s[1], s[2])) if s[0] == "map" else s[1]
        esize, ealign = size(elem), alignment(elem)
        nb = self.tmp("z")
        self.emit(f"{nb} = {n} * {esize}")
        if ealign > 1:
            self.emit(f"if {p} & {ealign - 1}: {self.trap('list_unaligned')}")
        self.emit(f"if {nb} > {R.MAX_LIST_BYTES} or {p} + {nb} > len(V): {self.trap('list_oob')}")
        r = self.tmp("l")
        if elem == "u8":
            self.emit(f"{r} = bytes(V[{p}:{p} + {nb}])")
        elif isinstance(elem, str) and elem in SCALARS and elem not in ("bool", "char") and LITTLE:
            self.emit(f"{r} = V[{p}:{p} + {nb}].cast({_CODE[elem]!r}).tolist()")
            if elem in ("f32", "f64"):
                self.emit(f"{r} = [x if x == x else _NAN for x in {r}]")
        elif is_scalar_record(elem) and _plain_fields(elem):
            fmt = _record_format(elem)
            it = self.const(_st("<" + fmt).iter_unpack, "I")
            if s[0] != "map" and elem[0] == "record":
                names = self.const(tuple(f for f, _ in elem[1]), "N")
                self.emit(f"{r} = [_newrec(dict(zip({names}, t))) for t in "
                          f"{it}(V[{p}:{p} + {nb}])]")  # fmt: skip
            else:
                self.emit(f"{r} = list({it}(V[{p}:{p} + {nb}]))")
        else:
            i = self.tmp("i")
            self.emit(f"{r} = []")
            self.emit(f"for {i} in range({p}, {p} + {nb}, {esize}):")
            with self.indent():
                v = self.load(elem, i)
                self.emit(f"{r}.append({v})")
        return r

    def load(self, s: Shape, addr: str) -> str:
        """Load a value at ``addr`` from view ``V`` (already bounds-checked)."""
        if isinstance(s, str):
            if s == "string":
                p, n = self.tmp("p"), self.tmp("n")
                self.emit(f"{p}, {n} = {self.unpack('II')}(V, {addr})")
                r = self.tmp("s")
                self.emit(f"{r} = sld({p}, {n})")
                return r
            v = self.tmp("v")
            self.emit(f"{v}, = {self.unpack(_CODE[s])}(V, {addr})")
            if s in ("bool", "f32", "f64", "char"):
                return self.lift_scalar(s, v)
            return v
        k = s[0]
        if k in ("list", "map") and (k == "map" or s[2] is None):
            p, n = self.tmp("p"), self.tmp("n")
            self.emit(f"{p}, {n} = {self.unpack('II')}(V, {addr})")
            return self.load_list(s, p, n)
        if k == "list":
            es = size(s[1])
            items = [self.load(s[1], f"{addr} + {i * es}") for i in range(s[2])]
            r = self.tmp("l")
            self.emit(f"{r} = [{', '.join(items)}]")
            return r
        if k in ("record", "tuple"):
            types = [t for _, t in s[1]] if k == "record" else list(s[1])
            items = self.load_fields(types, addr)
            if k == "tuple":
                r = self.tmp("u")
                self.emit(f"{r} = ({', '.join(items)},)")
                return r
            return self.make_record(s, items)
        if k == "flags":
            code = {1: "B", 2: "H", 4: "I"}[flags_size(len(s[1]))]
            m = self.tmp("m")
            self.emit(f"{m}, = {self.unpack(code)}(V, {addr})")
            return self.lift_flat(s, [m])
        if k in ("enum", "variant", "option", "result"):
            cases = variant_cases(s) if k != "enum" else tuple((label, None) for label in s[1])
            ds = disc_size(len(cases))
            d = self.tmp("d")
            self.emit(f"{d}, = {self.unpack({1: 'B', 2: 'H', 4: 'I'}[ds])}(V, {addr})")
            if k == "enum":
                return self.lift_flat(s, [d])
            off = _align(ds, case_alignment(tuple(cases)))
            tag = tagged(cases)
            r = self.tmp("g")
            for j, (label, t) in enumerate(cases):
                self.emit(f"{'if' if j == 0 else 'elif'} {d} == {j}:")
                with self.indent():
                    if t is None:
                        self.emit(f"{r} = _Variant({label!r})" if tag else f"{r} = None")
                        continue
                    v = self.load(t, f"{addr} + {off}")
                    self.emit(f"{r} = _Variant({label!r}, {v})" if tag else f"{r} = {v}")
            self.emit("else: raise _T('invalid variant discriminant')")
            return r
        if k in ("own", "borrow"):
            h = self.tmp("h")
            self.emit(f"{h}, = {self.unpack('I')}(V, {addr})")
            return self.lift_flat(s, [h])
        raise _unsupported(s)

    def load_fields(self, types: list[Shape], addr: str) -> list[str]:
        offs = field_offsets(types)
        if types and all(isinstance(t, str) and t in SCALARS for t in types):
            fmt = _fields_format(types)
            raw = [self.tmp("v") for _ in types]
            self.emit(f"{', '.join(raw)}, = {self.unpack(fmt)}(V, {addr})")
            out = []
            for t, v in zip(types, raw, strict=True):
                out.append(self.lift_scalar(t, v) if t in ("bool", "f32", "f64", "char") else v)
            return out
        return [self.load(t, f"{addr} + {o}") for t, o in zip(types, offs, strict=True)]


class _Indent:
    def __init__(self, g: Gen) -> None:
        self.g = g

    def __enter__(self) -> None:
        self.g.depth += 1

    def __exit__(self, *exc: Any) -> None:
        self.g.depth -= 1


def _align(p: int, a: int) -> int:
    return (p + a - 1) // a * a


def _plain_fields(s: Shape) -> bool:
    """Fields that struct unpacks to their Python values as they are (no bool, char
    or float: those need checks or NaN canonicalisation)."""
    d = despecialize(s)
    return all(t not in ("bool", "char", "f32", "f64") for _, t in d[1])


def _fields_format(types: list[Shape]) -> str:
    fmt = ""
    pos = 0
    for t, o in zip(types, field_offsets(types), strict=True):
        if o > pos:
            fmt += f"{o - pos}x"
        fmt += _CODE[t]
        pos = o + size(t)
    return fmt


def _record_format(s: Shape) -> str:
    d = despecialize(s)
    types = [t for _, t in d[1]]
    fmt = _fields_format(types)
    total = size(s)
    pos = struct.calcsize("<" + fmt)
    if total > pos:
        fmt += f"{total - pos}x"
    return fmt


def _coerce(have: str, want: str, v: str, g: Gen) -> str:
    """A flat value of type ``have`` in a variant slot of joined type ``want``."""
    if have == want:
        return v
    if have == "f32":  # to i32 or i64: its bits
        return f"{g.const(_f32_bits, 'B')}({v})"
    if have == "f64":
        return f"{g.const(_f64_bits, 'B')}({v})"
    return v  # i32 -> i64: zero-extended already (unsigned)


def _uncoerce(have: str, want: str, v: str) -> str:
    """A variant slot of joined type ``have`` read as the case's type ``want``."""
    if have == want:
        return v
    if want == "i32":  # from i64
        return f"{v} & 0xFFFFFFFF"
    if want == "f32":
        inner = v if have == "i32" else f"({v} & 0xFFFFFFFF)"
        return f"_bits_f32({inner})"
    if want == "f64":
        return f"_bits_f64({v})"
    return v


_pf, _uf = struct.Struct("<f"), struct.Struct("<I")
_pd, _ud = struct.Struct("<d"), struct.Struct("<Q")


def _f32_bits(x: float) -> int:
    from ..values import f32_to_bits

    return f32_to_bits(x)


def _f64_bits(x: float) -> int:
    from ..values import f64_to_bits

    return f64_to_bits(x)


def _bits_f32(b: int) -> float:
    from ..values import f32_from_bits

    f = f32_from_bits(b)
    return f if f == f else C.NAN


def _bits_f64(b: int) -> float:
    from ..values import f64_from_bits

    f = f64_from_bits(b)
    return f if f == f else C.NAN


def _unsupported(s: Shape) -> Exception:
    from ...errors import UnsupportedFeature

    kind = s if isinstance(s, str) else s[0]
    return UnsupportedFeature(f"component model {kind} values", "they need the async runtime"
                              if kind in ("stream", "future", "error-context") else "")  # fmt: skip


# ---------------------------------------------------------------- whole functions
class Options:
    """What of a function's canonical options shapes its code."""

    __slots__ = ("encoding", "memory", "realloc", "post_return", "ctx")

    def __init__(self, encoding: str = "utf8", memory: bool = False, realloc: bool = False,
                 post_return: bool = False, ctx: bool = False) -> None:  # fmt: skip
        self.encoding = encoding
        self.memory = memory
        self.realloc = realloc
        self.post_return = post_return
        self.ctx = ctx

    def key(self) -> tuple[Any, ...]:
        return (self.encoding, self.memory, self.realloc, self.post_return, self.ctx)


_CACHE: dict[tuple[Any, ...], Any] = {}


def _compile(g: Gen, header: str, name: str, binds: list[str]) -> Any:
    g.ns["_bits_f32"] = _bits_f32
    g.ns["_bits_f64"] = _bits_f64
    body = "\n".join(g.lines)
    used = [b for b in binds if re.search(rf"\b{b}\b", body)]
    pre = ["def make(B):"] + [f"    {b} = B.get({b!r})" for b in used]
    src = "\n".join([*pre, "    " + header, body, f"    return {name}", ""])
    code = compile(src, f"<nanoproc component {name}>", "exec")
    ns = dict(g.ns)
    exec(code, ns)
    make = ns["make"]
    make.uses = frozenset(used)  # instantiation makes only the bindings used
    return make


_LIFT_BINDS = ["core", "post", "inst", "mem", "alloc", "sst", "sld"]


def lifted_factory(params: tuple[Shape, ...], result: Shape | None, nres: int,
                   opts: Options, mode: str) -> Any:  # fmt: skip
    """``make(B)`` returning ``lifted(enter, resolve, *args)``: ``canon lift`` of a
    core function (B["core"]) for a caller in ``mode``.

    ``enter`` is the tuple of instances the call enters; ``resolve`` (None from the
    host) receives the result before post-return runs and its return value is the
    call's. ``nres`` is the number of resource slots.
    """
    key = ("lift", params, result, nres, opts.key(), mode)
    got = _CACHE.get(key)
    if got is not None:
        return got
    g = Gen(mode)
    args = [f"a{i}" for i in range(len(params))]
    borrows = any(contains(p, ("borrow",)) for p in params)
    g.emit("for i in enter:")
    g.emit("    if not i.may_enter: raise _T('cannot enter component instance')")
    g.emit("for i in enter: i.may_enter = False")
    if opts.ctx:
        g.emit("saved = inst.ctx")
        g.emit("inst.ctx = [0, 0]")
    g.emit("try:")
    with g.indent():
        g.emit("pass")
        if borrows:
            g.emit("task = _R.Task()")
        flat_types = flatten_all(params)
        if len(flat_types) > MAX_FLAT_PARAMS:
            tup = ("tuple", tuple(params))
            g.emit(f"ap = alloc({alignment(tup)}, {size(tup)}, 'tuple')")
            g.emit("V = mem.view")
            g.store_fields(list(params), args, "ap")
            flat = ["ap"]
        else:
            flat = []
            for p, a in zip(params, args, strict=True):
                flat += g.lower_flat(p, a)
    g.emit("except (TypeError, ValueError, OverflowError):")
    g.emit("    for i in enter: i.may_enter = True")
    if opts.ctx:
        g.emit("    inst.ctx = saved")
    g.emit("    raise")
    g.emit(f"r = core.call({', '.join(flat)})")
    rtypes = flatten(result) if result is not None else []
    if result is None:
        g.emit("res = None")
    elif len(rtypes) > MAX_FLAT_RESULTS:
        al = alignment(result)
        g.emit("V = mem.view")
        if al > 1:
            g.emit(f"if r & {al - 1}: {g.trap('ret_unaligned')}")
        g.emit(f"if r + {size(result)} > len(V): {g.trap('ptr_oob')}")
        g.emit(f"res = {g.load(result, 'r')}")
    else:
        if opts.memory:
            g.emit("V = mem.view")
        g.emit(f"res = {g.lift_flat(result, ['r'])}")
    if borrows:
        g.emit("if task.borrows: raise _T('borrow handles still remain at the end of the call')")
    g.emit("out = res if resolve is None else resolve(res)")
    if opts.post_return:
        g.emit("inst.may_leave = False")
        g.emit("post.call(r)" if rtypes else "post.call()")
        g.emit("inst.may_leave = True")
    if opts.ctx:
        g.emit("inst.ctx = saved")
    g.emit("for i in enter: i.may_enter = True")
    g.emit("return out")
    binds = _LIFT_BINDS + [f"R{i}" for i in range(nres)]
    make = _compile(g, f"def lifted(enter, resolve{''.join(', ' + a for a in args)}):",
                    "lifted", binds)  # fmt: skip
    _CACHE[key] = make
    return make


_LOWER_BINDS = ["callee", "host", "store", "enter", "inst", "mem", "alloc", "sst", "sld"]


def lowered_factory(params: tuple[Shape, ...], result: Shape | None, nres: int,
                    opts: Options, mode: str) -> Any:  # fmt: skip
    """``make(B)`` returning the core function of ``canon lower``: it lifts its core
    arguments from the caller (B["inst"]), calls the component function (a guest's
    lifted ``B["callee"](enter, resolve, *args)`` in ``adapter`` mode, the host's
    ``B["host"](B["store"], *args)`` in ``host`` mode: host functions are shared by
    every store a linker instantiates into, so the store comes with the call) and
    lowers the result back."""
    key = ("lower", params, result, nres, opts.key(), mode)
    got = _CACHE.get(key)
    if got is not None:
        return got
    g = Gen(mode)
    ptypes = flatten_all(params)
    spill_params = len(ptypes) > MAX_FLAT_PARAMS
    rtypes = flatten(result) if result is not None else []
    spill_result = len(rtypes) > MAX_FLAT_RESULTS
    nflat = (1 if spill_params else len(ptypes)) + (1 if spill_result else 0)
    core_args = [f"c_{i}" for i in range(nflat)]
    borrows = any(contains(p, ("borrow",)) for p in params)
    g.emit("if not inst.may_leave: raise _T('cannot leave component instance')")
    if borrows:
        g.emit("lenders = []")
    if opts.memory:
        g.emit("V = mem.view")
    if spill_params:
        tup = ("tuple", tuple(params))
        a = alignment(tup)
        if a > 1:
            g.emit(f"if c_0 & {a - 1}: {g.trap('unaligned')}")
        g.emit(f"if c_0 + {size(tup)} > len(V): {g.trap('ptr_oob')}")
        args = g.load_fields(list(params), "c_0")
    else:
        vals = list(core_args[: len(ptypes)])
        args = [g.lift_flat(p, vals) for p in params]
    if spill_result:
        rp = core_args[-1]
        a = alignment(result)
        if a > 1:
            g.emit(f"if {rp} & {a - 1}: {g.trap('ret_unaligned')}")
    # the result's lowering: a nested function run as the callee's ``resolve``
    sub = Gen(mode)
    sub.ns = g.ns
    sub.n = g.n + 1000
    sub.depth = 3
    if result is None:
        sub.emit("return None")
    elif spill_result:
        rp = core_args[-1]
        sub.emit("V = mem.view")
        sub.emit(f"if {rp} + {size(result)} > len(V): {sub.trap('ptr_oob')}")
        sub.store(result, "res", rp)
        sub.emit("return None")
    else:
        (v,) = sub.lower_flat(result, "res")
        sub.emit(f"return {v}")
    g.emit("def resolve(res):")
    g.lines += sub.lines
    call_args = "".join(", " + a for a in args)
    if mode == "adapter":
        g.emit(f"out = callee(enter, resolve{call_args})")
    else:
        g.emit(f"out = resolve(host(store{call_args}))")
    if borrows:
        g.emit("_R.end_lends(lenders)")
    g.emit("return out")
    binds = _LOWER_BINDS + [f"R{i}" for i in range(nres)]
    make = _compile(g, f"def lowered({', '.join(core_args)}):", "lowered", binds)
    _CACHE[key] = make
    return make
