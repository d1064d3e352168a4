"""``Instance``: an instantiated component and its exports."""

from __future__ import annotations

from typing import Any

from ...internal.errors import WasmtimeError
from ...internal.exec.component.instantiate import CFunc
from ...internal.exec.component.runtime import ComponentInstance
from ...internal.exec.store import StoreState
from ..store import check_same_store
from .component import ExportIndex
from .func import Func


class Instance:
    """An instance of a component; its exports are found by name or ExportIndex."""

    __slots__ = ("_inst", "_st", "__weakref__")

    _inst: ComponentInstance
    _st: StoreState

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct an `Instance`")

    @classmethod
    def _wrap(cls, inst: ComponentInstance, st: StoreState) -> Instance:
        i = object.__new__(cls)
        i._inst = inst
        i._st = st
        return i

    def get_export_index(self, store: Any, name: str,
                         instance: ExportIndex | None = None) -> ExportIndex | None:  # fmt: skip
        """The index of export ``name`` (inside the exported instance ``instance``)."""
        check_same_store(store, self._st)
        exports: Any = self._inst.exports
        path: tuple[str, ...] = ()
        if instance is not None:
            for p in instance._path:
                exports = exports.get(p) if isinstance(exports, dict) else None
                if not isinstance(exports, dict):
                    return None
            path = instance._path
        if name not in exports:
            return None
        value = exports[name]
        kind = "func" if isinstance(value, CFunc) else "instance" if isinstance(value, dict) \
            else "other"  # fmt: skip
        return ExportIndex._of((*path, name), kind)

    def _lookup(self, index: ExportIndex) -> Any:
        value: Any = self._inst.exports
        for p in index._path:
            if not isinstance(value, dict) or p not in value:
                return None
            value = value[p]
        return value

    def get_func(self, store: Any, index: ExportIndex | str) -> Func | None:
        """The exported function at ``index`` (an ExportIndex or a top-level name),
        or None if there is no function there."""
        check_same_store(store, self._st)
        if isinstance(index, str):
            value = self._inst.exports.get(index)
        else:
            value = self._lookup(index)
        if not isinstance(value, CFunc):
            return None
        f = Func._wrap(value, self._st)
        f._cf.name = f._cf.name or (index if isinstance(index, str) else "/".join(index._path))
        return f

    def __repr__(self) -> str:
        return f"<component Instance {', '.join(self._inst.exports)}>"
