"""``Global``: a global variable shared between the host and Wasm code."""

from __future__ import annotations

from typing import Any

from ..internal.errors import WasmtimeError
from ..internal.exec.entities import GlobalInst
from ..internal.exec.store import StoreState
from .externs import ExternHandle
from .store import check_same_store, state_of
from .types import GlobalType
from .values import native_or_val, to_wasm


class Global(ExternHandle):
    """A global of a store, made with a GlobalType and an initial value."""

    __slots__ = ()

    _ext: GlobalInst

    def __init__(self, store: Any, ty: GlobalType, val: Any) -> None:
        if not isinstance(ty, GlobalType):
            raise TypeError("expected a GlobalType")
        st = state_of(store)
        self._ext = GlobalInst(ty._t, to_wasm(ty._t.type)(val, st))
        self._st = st

    @staticmethod
    def _wrap(gi: GlobalInst, st: StoreState) -> Global:
        g = object.__new__(Global)
        g._ext = gi
        g._st = st
        return g

    def _global(self, store: Any) -> GlobalInst:
        check_same_store(store, self._st)
        return self._ext

    def type(self, store: Any) -> GlobalType:
        return GlobalType._of(self._global(store).type)

    def value(self, store: Any) -> Any:
        """The current value as a Python value (a ``Val`` for a null reference, as in
        wasmtime-py)."""
        gi = self._global(store)
        return native_or_val(gi.type.type, gi.value, self._st)

    def set_value(self, store: Any, val: Any) -> None:
        """Set the value; WasmtimeError if the global is immutable."""
        gi = self._global(store)
        value = to_wasm(gi.type.type)(val, self._st)
        if not gi.type.mutable:
            raise WasmtimeError("immutable global cannot be set")
        gi.value = value

    def __repr__(self) -> str:
        return f"<Global {GlobalType._of(self._ext.type)!r}>"
