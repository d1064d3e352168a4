"""Static facts of the Canonical ABI over validated types (CanonicalABI.md
"Despecialization", "Alignment", "Element Size", "Flattening").

Shared by the validator (the core signature a ``canon lift``/``lower`` must have)
and the runtime (layouts of values in linear memory). Core value types are the
strings ``i32``, ``i64``, ``f32``, ``f64``.
"""

from __future__ import annotations

from typing import Any

from .types import (
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
    val_data,
)

MAX_FLAT_PARAMS = 16
MAX_FLAT_ASYNC_PARAMS = 4
MAX_FLAT_RESULTS = 1

_PRIM_FLAT = {
    "bool": "i32", "s8": "i32", "u8": "i32", "s16": "i32", "u16": "i32", "s32": "i32",
    "u32": "i32", "s64": "i64", "u64": "i64", "f32": "f32", "f64": "f64", "char": "i32",
    "error-context": "i32",
}  # fmt: skip
_PRIM_SIZE = {"bool": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4, "s64": 8,
              "u64": 8, "f32": 4, "f64": 8, "char": 4, "error-context": 4}  # fmt: skip


def contains_ptr(v: Any) -> bool:
    """Whether a value of type ``v`` lives (partly) in linear memory."""
    d = val_data(v)
    if isinstance(d, DPrim):
        return d.name == "string"
    if isinstance(d, DList):
        return d.length is None or contains_ptr(d.elem)
    if isinstance(d, DMap):
        return True
    if isinstance(d, DRecord):
        return any(contains_ptr(t) for _, t in d.fields)
    if isinstance(d, DVariant):
        return any(t is not None and contains_ptr(t) for _, t in d.cases)
    if isinstance(d, DTuple):
        return any(contains_ptr(t) for t in d.types)
    if isinstance(d, DOption):
        return contains_ptr(d.type)
    if isinstance(d, DResult):
        return any(t is not None and contains_ptr(t) for t in (d.ok, d.err))
    return False


def join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


def variant_cases(d: Any) -> list[Any]:
    """The payload types (None for none) of a variant-like type, in case order."""
    if isinstance(d, DVariant):
        return [t for _, t in d.cases]
    if isinstance(d, DEnum):
        return [None] * len(d.labels)
    if isinstance(d, DOption):
        return [None, d.type]
    if isinstance(d, DResult):
        return [d.ok, d.err]
    raise TypeError(d)


def flatten(v: Any, ptr: str = "i32") -> list[str]:
    """The core types a value of type ``v`` flattens to."""
    d = val_data(v)
    if isinstance(d, DPrim):
        if d.name == "string":
            return [ptr, ptr]
        return [_PRIM_FLAT[d.name]]
    if isinstance(d, DList):
        if d.length is None:
            return [ptr, ptr]
        return flatten(d.elem, ptr) * d.length
    if isinstance(d, DMap):
        return [ptr, ptr]
    if isinstance(d, DRecord):
        return [f for _, t in d.fields for f in flatten(t, ptr)]
    if isinstance(d, DTuple):
        return [f for t in d.types for f in flatten(t, ptr)]
    if isinstance(d, (DVariant, DOption, DResult, DEnum)):
        flat: list[str] = []
        for t in variant_cases(d):
            if t is None:
                continue
            for i, ft in enumerate(flatten(t, ptr)):
                if i < len(flat):
                    flat[i] = join(flat[i], ft)
                else:
                    flat.append(ft)
        return ["i32"] + flat
    if isinstance(d, DFlags):
        return ["i32"] * ((len(d.labels) + 31) // 32)
    if isinstance(d, (DOwn, DBorrow, DStream, DFuture)):
        return ["i32"]
    raise TypeError(d)


def discriminant_size(n: int) -> int:
    """Bytes of a variant discriminant for ``n`` cases."""
    if n <= 1 << 8:
        return 1
    if n <= 1 << 16:
        return 2
    return 4


def flags_size(n: int) -> int:
    if n <= 8:
        return 1
    if n <= 16:
        return 2
    return 4 * ((n + 31) // 32)


def align_to(p: int, a: int) -> int:
    return -(-p // a) * a


def alignment(v: Any, ptr_size: int = 4) -> int:
    d = val_data(v)
    if isinstance(d, DPrim):
        if d.name == "string":
            return ptr_size
        return _PRIM_SIZE[d.name]
    if isinstance(d, DList):
        return ptr_size if d.length is None else alignment(d.elem, ptr_size)
    if isinstance(d, DMap):
        return ptr_size
    if isinstance(d, DRecord):
        return max([1] + [alignment(t, ptr_size) for _, t in d.fields])
    if isinstance(d, DTuple):
        return max([1] + [alignment(t, ptr_size) for t in d.types])
    if isinstance(d, (DVariant, DOption, DResult, DEnum)):
        cases = variant_cases(d)
        a = discriminant_size(len(cases))
        return max([a] + [alignment(t, ptr_size) for t in cases if t is not None])
    if isinstance(d, DFlags):
        return min(4, flags_size(len(d.labels)))
    return 4


def max_case_alignment(cases: list[Any], ptr_size: int) -> int:
    return max([1] + [alignment(t, ptr_size) for t in cases if t is not None])


def elem_size(v: Any, ptr_size: int = 4) -> int:
    d = val_data(v)
    if isinstance(d, DPrim):
        if d.name == "string":
            return 2 * ptr_size
        return _PRIM_SIZE[d.name]
    if isinstance(d, DList):
        if d.length is None:
            return 2 * ptr_size
        return d.length * elem_size(d.elem, ptr_size)
    if isinstance(d, DMap):
        return 2 * ptr_size
    if isinstance(d, (DRecord, DTuple)):
        ts = [t for _, t in d.fields] if isinstance(d, DRecord) else list(d.types)
        s = 0
        for t in ts:
            s = align_to(s, alignment(t, ptr_size))
            s += elem_size(t, ptr_size)
        return align_to(s, alignment(v, ptr_size))
    if isinstance(d, (DVariant, DOption, DResult, DEnum)):
        cases = variant_cases(d)
        s = discriminant_size(len(cases))
        s = align_to(s, max_case_alignment(cases, ptr_size))
        s += max([0] + [elem_size(t, ptr_size) for t in cases if t is not None])
        return align_to(s, alignment(v, ptr_size))
    if isinstance(d, DFlags):
        return flags_size(len(d.labels))
    return 4


def record_offsets(types: list[Any], ptr_size: int = 4) -> list[int]:
    """Byte offset of each field of a record/tuple with these field types."""
    out = []
    s = 0
    for t in types:
        s = align_to(s, alignment(t, ptr_size))
        out.append(s)
        s += elem_size(t, ptr_size)
    return out


def tuple_layout(types: list[Any], ptr_size: int = 4) -> tuple[int, int]:
    """(alignment, size) of the tuple of ``types`` (parameters or results in memory)."""
    a = max([1] + [alignment(t, ptr_size) for t in types])
    s = 0
    for t in types:
        s = align_to(s, alignment(t, ptr_size))
        s += elem_size(t, ptr_size)
    return a, align_to(s, a)


def flat_functype(ft: FuncT, ptr: str, context: str, is_async: bool = False,
                  callback: bool = False) -> tuple[list[str], list[str]]:
    """``flatten_functype``: the core signature of a lifted or lowered function
    (``context`` is ``lift`` or ``lower``), assuming validation passed."""
    params = [f for _, t in ft.params for f in flatten(t, ptr)]
    results = [] if ft.result is None else flatten(ft.result, ptr)
    if not is_async:
        if len(params) > MAX_FLAT_PARAMS:
            params = [ptr]
        if len(results) > MAX_FLAT_RESULTS:
            if context == "lift":
                results = [ptr]
            else:
                params = params + [ptr]
                results = []
        return params, results
    if context == "lift":
        if len(params) > MAX_FLAT_PARAMS:
            params = [ptr]
        return params, (["i32"] if callback else [])
    if len(params) > MAX_FLAT_ASYNC_PARAMS:
        params = [ptr]
    if results:
        params = params + [ptr]
    return params, ["i32"]
