"""Value types reduced to what lifting and lowering need: *shapes*.

A shape is a hashable tuple (or a primitive's name) with resources replaced by
numbered slots, so two function types with the same structure share generated code
whatever resources they use; the slots are bound to run-time resource types when a
function is created. Layout (alignment, size, flattening) follows CanonicalABI.md.
"""

from __future__ import annotations

from typing import Any

from ...valid.component.types import (
    DBorrow,
    DEnum,
    DFlags,
    DFuture,
    DList,
    DMap,
    DOption,
    DOwn,
    DPrim,
    DRecord,
    DResult,
    DStream,
    DTuple,
    DVariant,
    FuncT,
    RId,
)

Shape = Any
"""A primitive name (``"u32"``, ``"string"``, ...) or a tuple headed by its kind."""

SCALARS = ("bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char")


class ShapeBuilder:
    """Turns validator value types into shapes, numbering resources in order of
    first appearance (``rids`` lists them)."""

    def __init__(self) -> None:
        self.rids: list[RId] = []

    def slot(self, rid: RId) -> int:
        for i, r in enumerate(self.rids):
            if r is rid:
                return i
        self.rids.append(rid)
        return len(self.rids) - 1

    def vt(self, v: Any) -> Shape:
        if isinstance(v, str):
            return v
        return self.defined(v.data)

    def opt(self, v: Any) -> Shape | None:
        return None if v is None else self.vt(v)

    def defined(self, d: Any) -> Shape:
        if isinstance(d, DPrim):
            return d.name
        if isinstance(d, DRecord):
            return ("record", tuple((n, self.vt(t)) for n, t in d.fields))
        if isinstance(d, DVariant):
            return ("variant", tuple((n, self.opt(t)) for n, t in d.cases))
        if isinstance(d, DList):
            return ("list", self.vt(d.elem), d.length)
        if isinstance(d, DTuple):
            return ("tuple", tuple(self.vt(t) for t in d.types))
        if isinstance(d, DFlags):
            return ("flags", d.labels)
        if isinstance(d, DEnum):
            return ("enum", d.labels)
        if isinstance(d, DOption):
            return ("option", self.vt(d.type))
        if isinstance(d, DResult):
            return ("result", self.opt(d.ok), self.opt(d.err))
        if isinstance(d, DOwn):
            return ("own", self.slot(d.res.data))
        if isinstance(d, DBorrow):
            return ("borrow", self.slot(d.res.data))
        if isinstance(d, DStream):
            return ("stream", self.opt(d.type))
        if isinstance(d, DFuture):
            return ("future", self.opt(d.type))
        if isinstance(d, DMap):
            return ("map", self.vt(d.key), self.vt(d.value))
        raise AssertionError(d)

    def func(self, ft: FuncT) -> tuple[tuple[Shape, ...], Shape | None]:
        return tuple(self.vt(t) for _, t in ft.params), self.opt(ft.result)


_FUNC_SHAPES: dict[FuncT, tuple[Any, list[RId]]] = {}


def func_shape(ft: FuncT) -> tuple[tuple[tuple[Shape, ...], Shape | None], list[RId]]:
    """(params' and result's shapes, the resources of the slots) of ``ft``, cached."""
    got = _FUNC_SHAPES.get(ft)
    if got is None:
        b = ShapeBuilder()
        got = _FUNC_SHAPES[ft] = (b.func(ft), b.rids)
    return got


def val_shape(v: Any) -> tuple[Shape, list[RId]]:
    b = ShapeBuilder()
    return b.vt(v), b.rids


# ---------------------------------------------------------------- layout
def despecialize(s: Shape) -> Shape:
    """tuple/enum/option/result/map as the record/variant/list they stand for."""
    if isinstance(s, str):
        return s
    k = s[0]
    if k == "tuple":
        return ("record", tuple((str(i), t) for i, t in enumerate(s[1])))
    if k == "enum":
        return ("variant", tuple((label, None) for label in s[1]))
    if k == "option":
        return ("variant", (("none", None), ("some", s[1])))
    if k == "result":
        return ("variant", (("ok", s[1]), ("error", s[2])))
    if k == "map":
        return ("list", ("tuple", (s[1], s[2])), None)
    return s


_PRIM_SIZE = {"bool": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4,
              "s64": 8, "u64": 8, "f32": 4, "f64": 8, "char": 4, "string": 8,
              "error-context": 4}  # fmt: skip
_PRIM_ALIGN = dict(_PRIM_SIZE, string=4)


def disc_size(n: int) -> int:
    return 1 if n <= 256 else 2 if n <= 65536 else 4


def flags_size(n: int) -> int:
    return 1 if n <= 8 else 2 if n <= 16 else 4


def align_to(p: int, a: int) -> int:
    return (p + a - 1) // a * a


def alignment(s: Shape) -> int:
    s = despecialize(s)
    if isinstance(s, str):
        return _PRIM_ALIGN[s]
    k = s[0]
    if k == "list":
        return 4 if s[2] is None else alignment(s[1])
    if k == "record":
        return max((alignment(t) for _, t in s[1]), default=1)
    if k == "variant":
        return max(disc_size(len(s[1])), case_alignment(s[1]))
    if k == "flags":
        return flags_size(len(s[1]))
    return 4  # own, borrow, stream, future


def case_alignment(cases: tuple[tuple[str, Shape | None], ...]) -> int:
    return max((alignment(t) for _, t in cases if t is not None), default=1)


def size(s: Shape) -> int:
    s = despecialize(s)
    if isinstance(s, str):
        return _PRIM_SIZE[s]
    k = s[0]
    if k == "list":
        return 8 if s[2] is None else s[2] * size(s[1])
    if k == "record":
        p = 0
        for _, t in s[1]:
            p = align_to(p, alignment(t)) + size(t)
        return align_to(p, alignment(s))
    if k == "variant":
        p = align_to(disc_size(len(s[1])), case_alignment(s[1]))
        p += max((size(t) for _, t in s[1] if t is not None), default=0)
        return align_to(p, alignment(s))
    if k == "flags":
        return flags_size(len(s[1]))
    return 4


def field_offsets(types: list[Shape]) -> list[int]:
    out = []
    p = 0
    for t in types:
        p = align_to(p, alignment(t))
        out.append(p)
        p += size(t)
    return out


def join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


def flatten(s: Shape) -> list[str]:
    s = despecialize(s)
    if isinstance(s, str):
        if s in ("s64", "u64"):
            return ["i64"]
        if s == "f32":
            return ["f32"]
        if s == "f64":
            return ["f64"]
        if s == "string":
            return ["i32", "i32"]
        return ["i32"]
    k = s[0]
    if k == "list":
        return ["i32", "i32"] if s[2] is None else flatten(s[1]) * s[2]
    if k == "record":
        return [f for _, t in s[1] for f in flatten(t)]
    if k == "variant":
        return ["i32", *variant_payload(s[1])]
    return ["i32"]


def variant_payload(cases: tuple[tuple[str, Shape | None], ...]) -> list[str]:
    flat: list[str] = []
    for _, t in cases:
        if t is None:
            continue
        for i, f in enumerate(flatten(t)):
            if i < len(flat):
                flat[i] = join(flat[i], f)
            else:
                flat.append(f)
    return flat


def flatten_all(ts: tuple[Shape, ...] | list[Shape]) -> list[str]:
    return [f for t in ts for f in flatten(t)]


def contains(s: Shape | None, kinds: tuple[str, ...]) -> bool:
    """Whether ``s`` has a part of one of ``kinds`` (``borrow``, ``own``, ...)."""
    if s is None or isinstance(s, str):
        return s in kinds if isinstance(s, str) else False
    k = s[0]
    if k in kinds:
        return True
    if k in ("record", "variant"):
        return any(contains(t, kinds) for _, t in s[1])
    if k == "tuple":
        return any(contains(t, kinds) for t in s[1])
    if k in ("list", "option", "stream", "future"):
        return contains(s[1], kinds)
    if k in ("result", "map"):
        return contains(s[1], kinds) or contains(s[2], kinds)
    return False


def is_scalar_record(s: Shape) -> bool:
    """A record or tuple of scalars only: loaded and stored with one struct."""
    s2 = despecialize(s)
    return (not isinstance(s2, str) and s2[0] == "record" and bool(s2[1])
            and all(isinstance(t, str) and t in SCALARS for _, t in s2[1]))  # fmt: skip
