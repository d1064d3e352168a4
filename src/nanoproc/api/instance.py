"""``Instance``: an instantiated module, and its exports as a mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..internal.errors import LinkError, WasmtimeError
from ..internal.exec.instance import ModuleInstance, instantiate
from ..internal.exec.store import StoreState
from .argcheck import expect
from .externs import AsExtern, Entity, unwrap_extern, wrap_extern
from .module import Module
from .store import check_same_store, state_of


def instantiate_module(st: StoreState, module: Module, externs: list[Entity]) -> ModuleInstance:
    """Instantiate ``module`` in ``st`` with resolved imports; run its start function.

    Link errors pass through; anything escaping Wasm code (a trap, or an exception
    of a host function called by the start function) goes through the tier's
    ``convert_exception``, as at every entry from Python into Wasm.
    """
    module._check_open()
    engine = st.engine
    if module.engine is not engine and not engine._compatible(module.engine):
        raise WasmtimeError("cross-`Engine` instantiation is not currently supported")
    engine.check_can_run()
    try:
        return instantiate(st, module._compiled, externs, module.engine.backend)
    except LinkError:
        raise
    except BaseException as e:
        exc = engine.convert_exception(e)
    # Raised outside the handler: no chaining of the tier's internal exception, and
    # a host exception keeps its own cause and context.
    raise exc


class Instance:
    """An instance of a module in a store: ``Instance(store, module, imports)``, with
    ``imports`` the external values matching ``module.imports`` in order."""

    __slots__ = ("_inst", "_st", "_exports")

    def __init__(self, store: Any, module: Module, imports: Sequence[AsExtern]) -> None:
        st = state_of(store)
        externs = []
        for item in imports:
            ext, owner = unwrap_extern(item)
            if owner is not st:
                raise WasmtimeError("cross-`Store` instantiation is not currently supported")
            externs.append(ext)
        expect(module, Module, "a Module")
        self._inst = instantiate_module(st, module, externs)
        self._st = st
        self._exports: InstanceExports | None = None

    @staticmethod
    def _wrap(inst: ModuleInstance, st: StoreState) -> Instance:
        i = object.__new__(Instance)
        i._inst = inst
        i._st = st
        i._exports = None
        return i

    def exports(self, store: Any) -> InstanceExports:
        """The exports: by name (``["f"]``, ``.get``), by position (``.by_index``)."""
        ex = self._exports
        if ex is None:
            check_same_store(store, self._st)
            ex = self._exports = InstanceExports(self._inst, self._st)
        elif store._state is not self._st:
            check_same_store(store, self._st)
        return ex

    def __repr__(self) -> str:
        return f"<Instance of {self._inst.module.name or 'a module'}>"


class InstanceExports(Mapping[str, AsExtern]):
    """An instance's exports, in export order; wrappers are made on first access."""

    __slots__ = ("_inst", "_st", "_cache", "_by_index")

    def __init__(self, inst: ModuleInstance, st: StoreState) -> None:
        self._inst = inst
        self._st = st
        self._cache: dict[str, AsExtern] = {}
        self._by_index: tuple[AsExtern, ...] | None = None

    def __getitem__(self, key: str) -> AsExtern:
        item = self._cache.get(key)
        if item is not None:
            return item
        if isinstance(key, int):
            try:
                return self.by_index[key]
            except IndexError:
                raise KeyError(key) from None
        item = wrap_extern(self._inst.exports[key], self._st)
        self._cache[key] = item
        return item

    @property
    def by_index(self) -> Sequence[AsExtern]:
        """The exports as a tuple, in export order."""
        if self._by_index is None:
            self._by_index = tuple(self[name] for name, _ in self._inst.export_list)
        return self._by_index

    def __contains__(self, key: object) -> bool:
        return key in self._inst.exports

    def __iter__(self) -> Iterator[str]:
        return iter(self._inst.exports)

    def __len__(self) -> int:
        return len(self._inst.exports)

    def __repr__(self) -> str:
        return f"<InstanceExports {list(self._inst.exports)}>"
