"""``Linker``: imports resolved by name, and ``InstancePre`` (pre-resolved imports).

A linker maps ``(module, name)`` to a *definition*. Most definitions belong to one
store (``define``, ``define_instance``); host functions from ``define_func``, trap
stubs, command-module exports and WASI are store-independent and materialise one
function per store when first used there, so a linker can serve many stores.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from typing import Any

from ..internal.errors import UnsupportedFeature, WasmtimeError
from ..internal.exec.entities import FuncInst
from ..internal.exec.instance import ModuleInstance
from ..internal.exec.store import StoreState
from ..internal.syntax import types as T
from ..internal.syntax.module import Import
from .argcheck import expect
from .engine import Engine
from .externs import AsExtern, Entity, extern_kind, unwrap_extern, wrap_extern
from .func import Func, host_func_inst
from .instance import Instance, instantiate_module
from .module import Module, _func_type
from .store import state_of
from .types import FuncType


class Definition:
    """What a linker name stands for; ``resolve(st)`` is the entity in store ``st``."""

    kind: str

    def resolve(self, st: StoreState) -> Entity:
        raise NotImplementedError


class _Bound(Definition):
    """An entity of one particular store."""

    def __init__(self, ext: Entity, st: StoreState) -> None:
        self.ext = ext
        self.st = st
        self.kind = extern_kind(ext)

    def resolve(self, st: StoreState) -> Entity:
        if st is not self.st:
            raise WasmtimeError("cross-`Store` instantiation is not currently supported")
        return self.ext


class _PerStoreFunc(Definition):
    """A store-independent function: one FuncInst per store, made on first use.

    The made FuncInst is held weakly: it refers to its store (a host function needs
    it for its Caller), so holding it strongly under a weak store key would keep
    every store alive. Instances that import it keep it alive; once none does, the
    next use makes a fresh one.
    """

    kind = "func"

    def __init__(self, make: Callable[[StoreState], FuncInst]) -> None:
        self.make = make
        self.made: weakref.WeakKeyDictionary[StoreState, weakref.ref[FuncInst]] = (
            weakref.WeakKeyDictionary()
        )

    def resolve(self, st: StoreState) -> Entity:
        ref = self.made.get(st)
        fi = ref() if ref is not None else None
        if fi is None:
            fi = self.make(st)
            self.made[st] = weakref.ref(fi)
        return fi


def _host(ty: FuncType, fn: Callable[..., Any], access_caller: bool = False) -> _PerStoreFunc:
    return _PerStoreFunc(lambda st: host_func_inst(ty, fn, access_caller, st))


def _default_value(t: T.ValType) -> Any:
    if isinstance(t, T.NumType):
        return 0.0 if t.name in ("f32", "f64") else 0
    if not t.nullable:
        raise WasmtimeError(f"no default value for non-nullable reference type {t}")
    return None


class Linker:
    """Defines names for imports and instantiates modules with them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = expect(engine, Engine, "an Engine")
        self._defs: dict[tuple[str, str], Definition] = {}
        self._allow_shadowing = False

    @property
    def allow_shadowing(self) -> bool:
        """Whether a definition may replace an earlier one of the same name."""
        return self._allow_shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, allow: bool) -> None:
        self._allow_shadowing = bool(allow)

    def _check_free(self, module: str, name: str) -> None:
        if not self._allow_shadowing and (module, name) in self._defs:
            raise WasmtimeError(f"import of `{module}::{name}` defined twice")

    def _insert(self, module: str, name: str, d: Definition) -> None:
        self._check_free(module, name)
        self._defs[(module, name)] = d

    # ------------------------------------------------------------ definitions
    def define(self, store: Any, module: str, name: str, item: AsExtern) -> None:
        """Name ``item`` (a Func, Table, Memory, Global or Tag of ``store``)."""
        ext, owner = unwrap_extern(item)
        expect(module, str, "a str module name")
        expect(name, str, "a str name")
        if state_of(store) is not owner:
            raise WasmtimeError("object used with the wrong store")
        self._insert(module, name, _Bound(ext, owner))

    def define_func(
        self,
        module: str,
        name: str,
        ty: FuncType,
        func: Callable[..., Any],
        access_caller: bool = False,
    ) -> None:
        """Define a host function usable from every store (one Func per store)."""
        expect(module, str, "a str module name")
        expect(name, str, "a str name")
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        self._insert(module, name, _host(ty, func, access_caller))

    def define_instance(self, store: Any, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` under module name ``name``."""
        if not isinstance(instance, Instance):
            raise TypeError("expected an `Instance`")
        expect(name, str, "a str module name")
        st = state_of(store)
        if st is not instance._st:
            raise WasmtimeError("object used with the wrong store")
        exports = instance._inst.export_list
        for export_name, _ in exports:
            self._check_free(name, export_name)
        for export_name, ext in exports:
            self._defs[(name, export_name)] = _Bound(ext, st)

    def define_module(self, store: Any, name: str, module: Module) -> None:
        """Define ``module``'s exports under ``name``, with wasmtime's semantics.

        A *command* (exports ``_start``) gets a fresh instance for every call of
        one of its exported functions. A *reactor* is instantiated now, in
        ``store``, its ``_initialize`` export (if any) run, and its exports defined.
        """
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        expect(name, str, "a str module name")
        st = state_of(store)
        exports = {e.name: e for e in module._compiled.module.exports}
        start = exports.get("_start")
        if start is not None and start.kind == "func":
            self._define_command(name, module)
            return
        inst = self.instantiate(store, module)
        init = inst._inst.exports.get("_initialize")
        if isinstance(init, FuncInst):
            Func._wrap(init, st)(store)
        self.define_instance(store, name, inst)

    _COMMAND_DATA_EXPORTS = {
        "memory": "memory", "__indirect_function_table": "table", "table": "table",
        "__data_end": "global", "__heap_base": "global",
    }  # fmt: skip
    """Non-function exports a command may have (as wasmtime allows); not defined."""

    def _define_command(self, name: str, module: Module) -> None:
        pre = self.instantiate_pre(module)
        defs: list[tuple[str, Definition]] = []
        cm = module._compiled
        typeidxs = cm.module.func_typeidxs()
        for e in cm.module.exports:
            if e.kind == "func":
                defs.append((e.name, _command_export(pre, e.name, _func_type(cm, typeidxs[e.index]))))
            elif self._COMMAND_DATA_EXPORTS.get(e.name) != e.kind:
                raise WasmtimeError(f"command export '{e.name}' is not a function")
        for export_name, _ in defs:
            self._check_free(name, export_name)
        for export_name, d in defs:
            self._defs[(name, export_name)] = d

    def define_wasi(self) -> None:
        """Define the WASI preview1 functions (``wasi_snapshot_preview1``).

        Each store gets its own functions, working on the settings given to
        ``Store.set_wasi``. The WASI host (``internal/host/wasi``) provides them as
        ``linker_functions() -> {(module, name): (FuncType, make)}`` where
        ``make(store_state)`` returns the function's ``call(caller_instance, *args)``
        in the internal calling convention.
        """
        try:
            host_wasi: Any = importlib.import_module("nanoproc.internal.host.wasi")
        except ImportError:
            host_wasi = None
        functions = getattr(host_wasi, "linker_functions", None)
        if functions is None:
            raise UnsupportedFeature("wasi", "the WASI host is not part of this build yet")
        defs = [(key, _PerStoreFunc(_wasi_maker(ty, make))) for key, (ty, make) in functions().items()]
        for (module, name), _ in defs:
            self._check_free(module, name)
        for key, d in defs:
            self._defs[key] = d

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define each undefined function import of ``module`` as a function that
        fails (WasmtimeError naming the import) when called."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        cm = module._compiled
        for imp in cm.module.imports:
            if imp.kind == "func" and (imp.module, imp.name) not in self._defs:
                assert isinstance(imp.desc, int)
                message = _unknown_import(imp)
                self._insert(imp.module, imp.name, _host(_func_type(cm, imp.desc), _failing(message)))

    def define_unknown_imports_as_default_values(self, store: Any, module: Module) -> None:
        """Define each undefined function import of ``module`` as a function that
        returns zeros and null references."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        state_of(store)
        cm = module._compiled
        for imp in cm.module.imports:
            if imp.kind == "func" and (imp.module, imp.name) not in self._defs:
                assert isinstance(imp.desc, int)
                ty = _func_type(cm, imp.desc)
                values = [_default_value(t) for t in ty._t.results]
                self._insert(imp.module, imp.name, _host(ty, _returning(values)))

    # ------------------------------------------------------------ instantiation
    def _resolve(self, module: Module) -> list[Definition]:
        out = []
        for imp in module._compiled.module.imports:
            d = self._defs.get((imp.module, imp.name))
            if d is None:
                raise WasmtimeError(_unknown_import(imp))
            if d.kind != imp.kind:
                raise WasmtimeError(
                    f"incompatible import type for `{imp.module}::{imp.name}`: "
                    f"expected {imp.kind}, but found {d.kind}"
                )
            out.append(d)
        return out

    def instantiate(self, store: Any, module: Module) -> Instance:
        """Instantiate ``module`` with this linker's definitions; raises WasmtimeError
        for an undefined or mismatched import, Trap if the start function traps."""
        st = state_of(store)
        expect(module, Module, "a Module")
        externs = [d.resolve(st) for d in self._resolve(module)]
        return Instance._wrap(instantiate_module(st, module, externs), st)

    def instantiate_pre(self, module: Module) -> InstancePre:
        """Resolve ``module``'s imports now; instantiate later, cheaply, in any store."""
        expect(module, Module, "a Module")
        return InstancePre(module, self._resolve(module))

    # ------------------------------------------------------------ lookup
    def get(self, store: Any, module: str, name: str) -> AsExtern:
        """The item defined as ``module::name``; WasmtimeError if there is none."""
        st = state_of(store)
        d = self._defs.get((module, name))
        if d is None:
            raise WasmtimeError("item not defined in linker")
        return wrap_extern(d.resolve(st), st)

    def get_default(self, store: Any, name: str) -> Func:
        """The default function of module ``name``: its ``""`` or ``_start`` export,
        or (like wasmtime) a function doing nothing if it has neither."""
        st = state_of(store)
        for field in ("", "_start"):
            d = self._defs.get((name, field))
            if d is not None:
                if d.kind != "func":
                    raise WasmtimeError(f"default export in '{name}' is not a function")
                fi = d.resolve(st)
                assert isinstance(fi, FuncInst)
                return Func._wrap(fi, st)
        return Func._wrap(host_func_inst(FuncType([], []), _returning([]), False, st), st)


class InstancePre:
    """A module whose imports a linker has resolved: ``instantiate(store)`` skips the
    name lookups, for making many instances of one module."""

    def __init__(self, module: Module, defs: list[Definition]) -> None:
        self._module = module
        self._defs = defs

    @property
    def module(self) -> Module:
        return self._module

    def _instantiate(self, st: StoreState) -> ModuleInstance:
        externs = [d.resolve(st) for d in self._defs]
        return instantiate_module(st, self._module, externs)

    def instantiate(self, store: Any) -> Instance:
        st = state_of(store)
        return Instance._wrap(self._instantiate(st), st)

    def close(self) -> None:
        """Nothing to release (wasmtime-py's InstancePre is closable)."""

    def __enter__(self) -> InstancePre:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _unknown_import(imp: Import) -> str:
    return f"unknown import: `{imp.module}::{imp.name}` has not been defined"


def _failing(message: str) -> Callable[..., Any]:
    def fail(*args: Any) -> Any:
        raise WasmtimeError(message)

    return fail


def _returning(values: list[Any]) -> Callable[..., Any]:
    result: Any = None if not values else values[0] if len(values) == 1 else list(values)

    def ret(*args: Any) -> Any:
        return result

    return ret


def _command_export(pre: InstancePre, export: str, ty: FuncType) -> Definition:
    """A function that instantiates the command afresh and calls its ``export``
    (arguments and results pass through in the internal representation)."""

    def make(st: StoreState) -> FuncInst:
        def call(*args: Any) -> Any:
            inst = pre._instantiate(st)
            fi = inst.exports[export]
            assert isinstance(fi, FuncInst)
            return fi.call(*args)

        return FuncInst(ty._t, ty._canon_id(), call, host=True)

    return _PerStoreFunc(make)


def _wasi_maker(
    ty: T.FuncType | FuncType, make: Callable[[StoreState], Callable[..., Any]]
) -> Callable[[StoreState], FuncInst]:
    """A FuncInst factory for one WASI function; it reaches memory through its caller."""
    ft = ty if isinstance(ty, FuncType) else FuncType._of(ty)

    def build(st: StoreState) -> FuncInst:
        return FuncInst(ft._t, ft._canon_id(), make(st), host=True, needs_caller=True)

    return build
