"""``Table``: a table of references (funcref, externref, ...)."""

from __future__ import annotations

from typing import Any

from ..internal.errors import WasmtimeError
from ..internal.exec.entities import TableInst
from ..internal.exec.store import StoreState
from .argcheck import expect
from .externs import ExternHandle
from .store import check_same_store, state_of
from .types import TableType
from .values import native_or_val, to_wasm


class Table(ExternHandle):
    """A table of a store. ``init`` fills the initial elements (None for null)."""

    __slots__ = ()

    _ext: TableInst

    def __init__(self, store: Any, ty: TableType, init: Any) -> None:
        st = state_of(store)
        expect(ty, TableType, "a TableType")
        value = to_wasm(ty._t.elem)(init, st)
        self._ext = TableInst(ty._t, value, st)
        self._st = st

    @staticmethod
    def _wrap(ti: TableInst, st: StoreState) -> Table:
        t = object.__new__(Table)
        t._ext = ti
        t._st = st
        return t

    def _table(self, store: Any) -> TableInst:
        check_same_store(store, self._st)
        return self._ext

    def type(self, store: Any) -> TableType:
        """The table's declared type (its minimum does not follow growth)."""
        return TableType._of(self._table(store).type)

    def size(self, store: Any) -> int:
        """Current number of elements."""
        return self._table(store).size

    def grow(self, store: Any, amt: int, init: Any) -> int:
        """Add ``amt`` elements set to ``init``; returns the previous size.

        Raises WasmtimeError if the table cannot grow that much.
        """
        ti = self._table(store)
        if not isinstance(amt, int):
            raise TypeError("expected an int")
        value = to_wasm(ti.type.elem)(init, self._st)
        old = ti.grow(amt, value) if amt >= 0 else -1
        if old < 0:
            raise WasmtimeError(f"failed to grow table by `{amt}`")
        return old

    def get(self, store: Any, idx: int) -> Any:
        """Element ``idx``: a ``Func`` or the externref's object; None if ``idx`` is out
        of bounds. As in wasmtime-py, a null (or false) element comes back as a
        ``Val`` (which compares equal to its value, e.g. ``== None``)."""
        ti = self._table(store)
        if not 0 <= idx < len(ti.elems):
            return None
        return native_or_val(ti.type.elem, ti.elems[idx], self._st, truthy=True)

    def set(self, store: Any, idx: int, val: Any) -> None:
        """Set element ``idx``; WasmtimeError if out of bounds."""
        ti = self._table(store)
        value = to_wasm(ti.type.elem)(val, self._st)
        if not 0 <= idx < len(ti.elems):
            raise WasmtimeError("wasm trap: undefined element: out of bounds table access")
        ti.elems[idx] = value

    def __repr__(self) -> str:
        return f"<Table {self._ext.type.elem} size {self._ext.size}>"
