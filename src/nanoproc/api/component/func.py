"""``Func``: a component function exported by an instance, called with Python values."""

from __future__ import annotations

from typing import Any

from ...internal.errors import WasmtimeError
from ...internal.exec.component.instantiate import CFunc
from ...internal.exec.store import StoreState
from ..store import check_same_store
from .types import FuncType, TypeView


class Func:
    """A component function. ``func(store, *args)`` calls it with Python values and
    returns its result (None when it has none); post-return runs automatically."""

    __slots__ = ("_cf", "_st", "_call", "_host", "_enter", "_arity", "__weakref__")

    _cf: CFunc
    _st: StoreState
    _call: Any
    _host: Any
    _enter: tuple[Any, ...]
    _arity: int

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct a `Func`")

    @classmethod
    def _wrap(cls, cf: CFunc, st: StoreState) -> Func:
        f = object.__new__(cls)
        f._cf = cf
        f._st = st
        f._call = None
        f._host = None
        f._arity = len(cf.ft.params)
        f._enter = cf.inst.ancestry if cf.inst is not None else ()
        return f

    def __call__(self, store: Any, *params: Any) -> Any:
        st = self._st
        if store._state is not st:
            check_same_store(store, st)
        if len(params) != self._arity:
            raise TypeError(f"wrong number of parameters provided: given {len(params)}, "
                            f"expected {self._arity}")  # fmt: skip
        call = self._call
        if call is None:
            call = self._bind()
        try:
            host = self._host
            if host is not None:
                return host(store, *params)
            return call(self._enter, None, *params)
        except BaseException as e:
            exc = st.engine.convert_exception(e)
        raise exc

    def _bind(self) -> Any:
        cf = self._cf
        if cf.kind == "lifted":
            self._st.engine.check_can_run()
            call = cf.lifted("host")
        else:
            call = self._host = cf.host  # called with the caller's store
        self._call = call
        return call

    def post_return(self, store: Any) -> None:
        """Nothing to do: post-return runs as part of every call (as in wasmtime-py
        since wasmtime 40)."""
        check_same_store(store, self._st)

    def type(self, store: Any) -> FuncType:
        check_same_store(store, self._st)
        cf = self._cf
        from ...internal.exec.component.shapes import func_shape

        _, rids = func_shape(cf.ft)
        return TypeView(dict(zip(rids, cf.rts, strict=True))).func(cf.ft)

    def __repr__(self) -> str:
        return f"<component Func {self._cf.name}>"

