"""Running one module on one engine through the wasmtime-py-shaped API, and comparing.

An :class:`Outcome` records everything observable: whether the module compiled and
instantiated and the fuel left after instantiation, then for every planned call its results or trap code and the fuel left,
followed by a fingerprint of the exported memories, globals and tables. Both
nanoproc's tiers and wasmtime-py run through the same code, so any difference
between two outcomes is a difference between engines.

Fuel is always on: it ends runaway loops identically everywhere and checks that
nanoproc counts exactly as wasmtime does. After an OUT_OF_FUEL trap the store is
refuelled, so later calls still run (and refuelling is exercised too).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .values import same_value

FUEL = 300_000
"""Fuel per run (and per refill after OUT_OF_FUEL)."""
MEMORY_LIMIT = 16 << 20
TABLE_LIMIT = 100_000


@dataclass
class Outcome:
    """What one engine did with one module and one call plan."""

    engine: str
    setup: str = "ok"
    """``ok``, ``invalid``, ``unsupported: ...``, ``trap: CODE`` or ``error: ...``."""
    steps: list[tuple[str, Any]] = field(default_factory=list)
    """(what, observation): calls and state fingerprints, in order."""
    crash: str | None = None
    """A Python exception of a kind the API must never raise (a nanoproc bug)."""


ARRAY_COPY_BOUNDS = "ARRAY_OUT_OF_BOUNDS at array.copy"
"""The trap name of an out-of-bounds ``array.copy`` (told apart, see
:func:`_explained`)."""
_ARRAY_COPY = b"\xfb\x11"


def _trap_name(api: ModuleType, exc: BaseException, wasm: bytes = b"") -> str:
    if "thrown Wasm exception" in str(exc):
        return "EXCEPTION"  # an uncaught Wasm exception (a Trap with no code)
    code = getattr(exc, "trap_code", None)
    if code is None:
        return f"no code: {str(exc).splitlines()[0]}"
    if code.name == "ARRAY_OUT_OF_BOUNDS" and _at_array_copy(exc, wasm):
        return ARRAY_COPY_BOUNDS
    return code.name  # type: ignore[no-any-return]


def _at_array_copy(exc: BaseException, wasm: bytes) -> bool:
    """Whether the innermost frame of a trap is at an ``array.copy`` instruction (by
    the frame's module offset: exact in wasmtime; the interp tier's may point at the
    start of the expression, so it is not told apart there)."""
    try:
        offset = exc.frames[0].module_offset  # type: ignore[attr-defined]
    except (AttributeError, IndexError, TypeError):
        return False
    return isinstance(offset, int) and wasm[offset : offset + 2] == _ARRAY_COPY


def _normalise(api: ModuleType, value: Any) -> Any:
    """Results as comparable data (references as their kind, or None)."""
    if isinstance(value, list | tuple):
        return [_normalise(api, v) for v in value]
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, api.Func):
        return "funcref"
    return "externref"


def _fingerprint(api: ModuleType, store: Any, instance: Any, module: Any,
                 hidden: frozenset[str]) -> list[Any]:
    """Exported memories (hash of the bytes), globals and tables (null or not)."""
    exports = instance.exports(store)
    out: list[Any] = []
    for et in module.exports:
        if et.name in hidden:
            continue
        ext = exports[et.name]
        if isinstance(ext, api.Memory):
            data = bytes(ext.read(store, 0, ext.data_len(store)))
            out.append((et.name, ext.size(store), hashlib.sha1(data).hexdigest()))
        elif isinstance(ext, api.Global):
            out.append((et.name, _normalise(api, ext.value(store))))
        elif isinstance(ext, api.Table):
            size = ext.size(store)
            nulls = tuple(_is_null(api, ext.get(store, i)) for i in range(min(size, 64)))
            out.append((et.name, size, nulls))
    return out


def _is_null(api: ModuleType, ref: Any) -> bool:
    """A table element is null (both APIs give a ``Val`` holding None for it)."""
    return ref is None or (isinstance(ref, api.Val) and ref.value is None)


def run(api: ModuleType, engine: Any, name: str, wasm: bytes,
        plan: list[tuple[str, list[Any]]]) -> Outcome:
    """Compile, instantiate and call ``wasm`` per ``plan`` on ``engine``."""
    out = Outcome(name)
    try:
        _run(api, engine, wasm, plan, out)
    except Exception as e:  # noqa: BLE001 - anything else is a crash of the engine
        if isinstance(e, api.WasmtimeError) and "not supported yet" in str(e):
            out.setup = "unsupported"  # a documented limit of a tier, met when called
            out.steps = []
        elif isinstance(e, api.WasmtimeError | api.Trap):
            out.setup = f"error: {type(e).__name__}"
        else:
            out.crash = f"{type(e).__name__}: {e}"
    return out


def v128_globals(wasm: bytes) -> frozenset[str]:
    """Names of exported v128 globals: wasmtime-py cannot read them (and aborts the
    process when it prints their type), so no engine's are compared."""
    from ..internal.binary import decode_module
    from ..internal.syntax.types import V128

    try:
        tree = decode_module(wasm)
        types = tree.global_types()
        return frozenset(e.name for e in tree.exports
                         if e.kind == "global" and types[e.index].type is V128)
    except Exception:  # noqa: BLE001 - a module we cannot decode: the engines will say
        return frozenset()


def _run(api: ModuleType, engine: Any, wasm: bytes, plan: list[tuple[str, list[Any]]],
         out: Outcome) -> None:
    hidden = v128_globals(wasm)
    try:
        module = api.Module(engine, wasm)
    except api.WasmtimeError as e:
        out.setup = "unsupported" if "not supported yet" in str(e) else "invalid"
        return
    store = api.Store(engine)
    store.set_fuel(FUEL)
    if getattr(engine, "epoch_interruption", False):
        store.set_epoch_deadline(1 << 40)  # compiled-in checks that never fire
    # Growth past these fails in every engine alike (-1), and keeps a run's memory
    # (hashed after every call) small: memory.grow costs only a page per 64 KiB.
    store.set_limits(memory_size=MEMORY_LIMIT, table_elements=TABLE_LIMIT)
    try:
        instance = api.Instance(store, module, [])
    except api.Trap as e:
        out.setup = f"trap: {_trap_name(api, e)}"
        out.steps.append(("instantiate", store.get_fuel()))
        return
    except api.WasmtimeError as e:
        msg = str(e).splitlines()[0]
        out.setup = "unsupported" if "not supported yet" in msg else f"error: {msg}"
        return
    # The fuel instantiation cost (wasmtime's startup function: docs/fuel.md, 6), then
    # calls start from a full tank everywhere.
    out.steps.append(("instantiate", store.get_fuel()))
    store.set_fuel(FUEL)
    exports = instance.exports(store)
    for export, args in plan:
        func = exports[export]
        try:
            result: Any = ("ok", _normalise(api, func(store, *args)))
        except api.Trap as e:
            result = ("trap", _trap_name(api, e, wasm))
        fuel = store.get_fuel()
        out.steps.append((f"{export}{tuple(args)}", (result, fuel)))
        out.steps.append(("state", _fingerprint(api, store, instance, module, hidden)))
        if result == ("trap", "OUT_OF_FUEL"):
            store.set_fuel(FUEL)


_OVERFLOW = ("trap", "STACK_OVERFLOW")
_EXHAUSTED = {_OVERFLOW, ("trap", "OUT_OF_FUEL")}


def difference(a: Outcome, b: Outcome) -> str | None:
    """A description of the first observable difference, or None."""
    if a.crash or b.crash:
        return f"crash: {a.engine}: {a.crash}; {b.engine}: {b.crash}"
    if a.setup != b.setup:
        return f"setup: {a.engine}: {a.setup}; {b.engine}: {b.setup}"
    for (wa, xa), (wb, xb) in zip(a.steps, b.steps):
        if wa != wb:
            return f"plan diverged: {wa} / {wb}"
        if wa not in ("state", "instantiate") and _OVERFLOW in (xa[0], xb[0]) and {xa[0], xb[0]} <= _EXHAUSTED:
            # How deep a call stack may grow is the engine's choice (the spec leaves
            # exhaustion open), and so are the fuel spent and the state left on the
            # way down: once one engine's stack overflowed and the other's stack or
            # fuel ran out too, nothing more is comparable.
            return None
        if wa not in ("state", "instantiate") and _explained(xa[0], xb[0]):
            xa, xb = (None, xa[1]), (None, xb[1])
        if not same_value(_floats(xa), _floats(xb)):
            return f"{wa}: {a.engine}: {xa!r}; {b.engine}: {xb!r}"
    if len(a.steps) != len(b.steps):
        return f"steps: {len(a.steps)} / {len(b.steps)}"
    return None


_COPY_TRAPS = [("trap", ARRAY_COPY_BOUNDS), ("trap", "ARRAY_OUT_OF_BOUNDS"),
               ("trap", "NULL_REFERENCE")]


def _explained(ra: Any, rb: Any) -> bool:
    """Two call results that differ only as documented (docs/api-differences.md):
    ``array.copy`` with a non-null destination, an out-of-range destination index
    and a null source. The spec's prose checks both nulls before either bound
    (nanoproc: NULL_REFERENCE), wasmtime the destination's bound before the source's
    null (ARRAY_OUT_OF_BOUNDS). Both are the spec's one trap outcome (a trap has no
    kind in the spec), so either is right; only the kind an embedder sees differs.
    Accepted only where one engine (wasmtime, whose frame offsets are exact) trapped
    out of bounds AT an array.copy and the other trapped with one of those kinds."""
    pair = (ra, rb)
    return ("trap", ARRAY_COPY_BOUNDS) in pair and all(r in _COPY_TRAPS for r in pair)


def _floats(x: Any) -> Any:
    """Nested tuples as lists (so same_value compares them element-wise)."""
    if isinstance(x, tuple | list):
        return [_floats(v) for v in x]
    return x
