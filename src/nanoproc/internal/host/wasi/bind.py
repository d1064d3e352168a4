"""WASI functions as host functions a module can import.

Each import is a ``FuncInst(host=True, needs_caller=True)``: called as
``call(caller_instance, *args)`` with internal values, it finds the store's
WasiCtx and the caller's exported ``memory``, runs the implementation, and
returns its errno (0 on success). ``WasiError`` and host ``OSError``s become
errnos; traps (``proc_exit``'s ExitTrap among them) pass through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...exec.entities import FuncInst
from ...exec.memory import MemoryInst
from ...exec.trap import Trap
from ...syntax import types as T
from ...valid.canon import canonicalize_group
from . import calls_dir, calls_env, calls_fd, calls_path, poll, sockets  # noqa: F401 (register)
from .abi import MODULE
from .ctx import WasiCtx, context_for
from .errno import WasiError, from_oserror
from .guestmem import GuestMemory
from .registry import FUNCTIONS
from .signatures import SIGNATURES

_VALTYPES = {"i": T.I32, "I": T.I64}

assert set(FUNCTIONS) == set(SIGNATURES), set(FUNCTIONS) ^ set(SIGNATURES)


def functype(name: str) -> T.FuncType:
    """The core Wasm type of WASI function ``name``."""
    params, results = SIGNATURES[name]
    return T.FuncType(tuple(_VALTYPES[c] for c in params), tuple(_VALTYPES[c] for c in results))


def _canon(ft: T.FuncType) -> int:
    """Canonical type id (a final function type in a group of its own)."""
    return canonicalize_group(T.RecType((T.SubType(ft, True, ()),)), 0, ())[0]


class MissingMemory:
    """Stands for the memory of a caller that exports none: any use traps, with
    wasmtime's message, while calls that touch no memory still work."""

    def __getattr__(self, name: str) -> Any:
        raise Trap("missing required memory export")


def _memory(caller: Any) -> GuestMemory | MissingMemory:
    exports = getattr(caller, "exports", None)
    mem = exports.get("memory") if exports is not None else None
    if isinstance(mem, MemoryInst):
        return GuestMemory(mem.view)
    return MissingMemory()


def make_call(
    name: str, context: Callable[[], WasiCtx]
) -> Callable[..., int | None]:
    """The ``call(caller_instance, *args)`` of WASI function ``name``; ``context()``
    gives the WasiCtx (looked up at each call: ``Store.set_wasi`` may replace it)."""
    impl = FUNCTIONS[name]

    def call(caller: Any, *args: int) -> int:
        ctx = context()
        try:
            impl(ctx, _memory(caller), *args)
        except WasiError as e:
            return e.errno.value
        except OSError as e:
            return from_oserror(e).value
        return 0

    call.__name__ = call.__qualname__ = name
    return call


def wasi_imports(store_state: Any, ctx: WasiCtx | None = None) -> dict[str, FuncInst]:
    """Every ``wasi_snapshot_preview1`` function as a FuncInst of ``store_state``.

    With ``ctx``, calls use it; without, they use the store's own context, built
    from its WasiConfig (``Store.set_wasi``) on the first call.
    """
    if ctx is not None:
        fixed = ctx

        def context() -> WasiCtx:
            return fixed
    else:

        def context() -> WasiCtx:
            return context_for(store_state)

    out = {}
    for name in SIGNATURES:
        ft = functype(name)
        out[name] = FuncInst(ft, _canon(ft), make_call(name, context), host=True, needs_caller=True)
    return out


def linker_functions() -> dict[tuple[str, str], tuple[T.FuncType, Callable[[Any], Callable[..., Any]]]]:
    """For ``Linker.define_wasi``: ``(module, name) -> (type, make)``, where
    ``make(store_state)`` is the function's ``call(caller_instance, *args)``.

    The FuncInst built around it must have ``needs_caller=True``.
    """
    return {(MODULE, name): (functype(name), _maker(name)) for name in SIGNATURES}


def _maker(name: str) -> Callable[[Any], Callable[..., Any]]:
    def make(st: Any) -> Callable[..., Any]:
        return make_call(name, lambda: context_for(st))

    return make
