"""Runtime entities other than memory: functions, tables, globals, tags.

These are the spec's function, table, global and tag instances. Tiers read and
write them directly: a table's ``elems`` list and a global's ``value`` slot are
the storage itself, not copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import WasmtimeError
from ..syntax.types import FuncType, GlobalType, TableType, TagType
from .store import StoreState

MAX_TABLE_32 = 0xFFFF_FFFF
MAX_TABLE_64 = (1 << 64) - 1
MAX_TABLE_ELEMENTS = 1 << 26
"""The most elements a table may have (67,108,864): nanoproc allocates them at once
(8 bytes each, twice in the llvm tier), where wasmtime reserves address space and
fills it lazily; wasmtime-py allows 2^28 and more (docs/api-differences.md)."""


class FuncInst:
    """A function: defined in a module instance, or provided by the host.

    ``call(*args)`` runs it with the internal calling convention: arguments in the
    representation of :mod:`.values`, result ``None`` (no results), the value
    (one result) or a tuple (several). Tiers install and replace ``call`` (lazy
    translation swaps in the real code on first use).

    A defined function's ``call`` may be left unset: the first read then asks its
    instance's tier (``tier_state.resolve(index)``) for the code, which sets it, so
    instantiation creates no per-function stand-in.

    ``canon`` is the canonical identity of the function's type, compared across
    modules by call_indirect, ref.cast and linking.

    A host function that wants its caller (wasmtime-py's ``access_caller=True``) has
    ``needs_caller`` set; it is then called as ``call(caller_instance, *args)``, where
    ``caller_instance`` is the ModuleInstance whose code made the call (or None when
    called from Python).
    """

    __slots__ = (
        "type", "canon", "call", "instance", "index", "host", "hostfn", "needs_caller",
        "native_cb", "__weakref__",
    )  # fmt: skip

    def __init__(
        self,
        ftype: FuncType,
        canon: Any,
        call: Callable[..., Any] | None = None,
        instance: Any = None,
        index: int = -1,
        host: bool = False,
        hostfn: Any = None,
        needs_caller: bool = False,
    ) -> None:
        self.type = ftype
        self.canon = canon
        if call is not None:
            self.call = call
        self.instance = instance
        self.index = index
        self.host = host
        self.hostfn = hostfn
        self.needs_caller = needs_caller
        """For host functions: the user's Python callable (for introspection)."""
        self.native_cb: Any = None

    def __call__(self, *args: Any) -> Any:
        """What the llvm tier's record of a function of another tier calls (see
        llvm/hostcall.py, SHARED): ``native_cb(self, *args)``, set when the record
        is made. The record's callback is the FuncInst itself, not a bound method
        per function: a table of 47,000 such functions made as many objects per
        instance, each a survivor counting towards a full collection of the cyclic GC."""
        return self.native_cb(self, *args)

    def __getattr__(self, name: str) -> Any:
        # Only reached while ``call`` is unset (a defined function not bound yet).
        if name != "call":
            raise AttributeError(name)
        inst = self.instance
        state = inst.tier_state if inst is not None else None
        if state is None:
            return _uninitialised
        return state.resolve(self.index)

    @property
    def name(self) -> str | None:
        inst = self.instance
        if inst is None or self.host:
            return None
        return inst.func_name(self.index)

    def __repr__(self) -> str:
        return f"<FuncInst {self.name or self.index} {self.type}>"


CALL_SLOT = FuncInst.call.__get__  # type: ignore[attr-defined]
"""``CALL_SLOT(fi)`` reads ``fi.call`` without resolving it (AttributeError if unset)."""


def _uninitialised(*args: Any) -> Any:
    raise RuntimeError("function called before its instance finished initialising")


class TableInst:
    """A table; ``elems`` is the list of references (None for null)."""

    __slots__ = ("type", "elems", "max", "store", "__weakref__")

    def __init__(self, ttype: TableType, init: Any = None, store: StoreState | None = None) -> None:
        lim = ttype.limits
        spec_max = MAX_TABLE_64 if lim.addr64 else MAX_TABLE_32
        self.type = ttype
        self.max = spec_max if lim.max is None else min(lim.max, spec_max)
        self.store = store
        if store is not None and not store.allow_table(0, lim.min, lim.max):
            raise WasmtimeError(f"table minimum size of {lim.min} elements exceeds table limits")
        if lim.min > MAX_TABLE_ELEMENTS:
            raise WasmtimeError(f"table of {lim.min} elements is larger than nanoproc can allocate")
        self.elems: list[Any] = [init] * lim.min

    @property
    def size(self) -> int:
        return len(self.elems)

    def grow(self, delta: int, init: Any) -> int:
        """Grow by ``delta`` elements set to ``init``; the old size, or -1."""
        old = len(self.elems)
        new = old + delta
        if delta < 0 or new > self.max or new > MAX_TABLE_ELEMENTS:
            return -1
        if self.store is not None and not self.store.allow_table(old, new, self.type.limits.max):
            return -1
        if delta:
            self.elems.extend([init] * delta)
        return old


class GlobalInst:
    """A global variable; ``value`` is the storage tiers read and write."""

    __slots__ = ("type", "value", "__weakref__")

    def __init__(self, gtype: GlobalType, value: Any) -> None:
        self.type = gtype
        self.value = value


class TagInst:
    """An exception tag; identity is what matches a throw to a catch."""

    __slots__ = ("type", "functype", "canon", "__weakref__")

    def __init__(self, ttype: TagType, functype: FuncType, canon: Any) -> None:
        self.type = ttype
        self.functype = functype
        self.canon = canon
