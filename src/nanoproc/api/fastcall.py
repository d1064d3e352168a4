"""Generated call paths between Python and Wasm, one per function signature.

Calling an export from Python must cost little more than a Python call, so for each
signature we generate (once, with ``exec``) a ``__call__`` that converts each
argument inline with a type test and a mask, calls ``FuncInst.call`` directly, and
converts the results inline. Unusual arguments (``Val``, bool, wrong types) take
a slow converter from :mod:`.values`; exceptions are converted only in the
``except`` clause, so the normal path pays nothing for them.

The same is done in the other direction for host functions called by Wasm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..internal.errors import WasmtimeError
from ..internal.exec.store import StoreState
from ..internal.exec.trap import HostError
from ..internal.syntax import types as T
from .values import Val, f32_round, from_wasm, to_wasm

_SIGNED = {
    "i32": "{0} - (({0} & 0x80000000) << 1)",
    "i64": "{0} - (({0} & 0x8000000000000000) << 1)",
}
_MASK = {"i32": "0xFFFFFFFF", "i64": "0xFFFFFFFFFFFFFFFF"}


def _kind(t: T.ValType) -> str:
    """How generated code handles a type: by number type name, or ``ref``/``extern``."""
    if isinstance(t, T.NumType):
        return t.name
    if t == T.EXTERNREF:
        return "extern"
    return "ref"


def _arity_error(given: int, expected: int) -> WasmtimeError:
    which = "many" if given > expected else "few"
    return WasmtimeError(
        f"too {which} parameters provided: given {given}, expected {expected}"
    )


def _bad_store(store: Any) -> None:
    """Called when the store argument is not the function's own store."""
    from .store import state_of

    state_of(store)  # ValueError for a closed store or expired caller
    raise WasmtimeError("object used with the wrong store")


def _param_lines(i: int, t: T.ValType, src: str, dst: str) -> list[str]:
    """Statements converting Python value ``src`` into internal ``dst``."""
    k = _kind(t)
    if k in _MASK:
        return [
            f"if {src}.__class__ is int: {dst} &= {_MASK[k]}" if src == dst
            else f"if {src}.__class__ is int: {dst} = {src} & {_MASK[k]}",
            f"else: {dst} = _p{i}({src}, st)",
        ]
    if k == "f32":
        return [f"{dst} = _f32({src}) if {src}.__class__ is float else _p{i}({src}, st)"]
    if k == "f64":
        return [f"{dst} = {src} if {src}.__class__ is float else _p{i}({src}, st)"]
    return [f"{dst} = _p{i}({src}, st)"]


def _result_expr(i: int, t: T.ValType, src: str) -> str:
    """Expression converting internal ``src`` to its Python value."""
    k = _kind(t)
    if k in _SIGNED:
        return _SIGNED[k].format(src)
    if k in ("f32", "f64", "v128", "extern"):
        return src
    return f"_r{i}({src}, st)"


def _converters(ft: T.FuncType) -> dict[str, Any]:
    ns: dict[str, Any] = {}
    for i, t in enumerate(ft.params):
        ns[f"_p{i}"] = to_wasm(t)
        ns[f"_h{i}"] = from_wasm(t)
    for i, t in enumerate(ft.results):
        ns[f"_r{i}"] = from_wasm(t)
        ns[f"_q{i}"] = to_wasm(t)
    return ns


def _compile(src: str, name: str, ns: dict[str, Any]) -> Callable[..., Any]:
    code = compile(src, f"<nanoproc {name}>", "exec")
    exec(code, ns)
    return ns[name]  # type: ignore[no-any-return]


_MISSING = object()
"""Default of generated parameters: tells a missing argument from any value."""


def _arity_from(args: tuple[Any, ...], expected: int) -> WasmtimeError:
    """The arity error for generated parameters ``args`` (``_MISSING`` = not given)."""
    given = sum(1 for a in args if a is not _MISSING)
    return _arity_error(given, expected)


def make_call_method(ft: T.FuncType, needs_caller: bool) -> Callable[..., Any]:
    """``__call__(self, store, *args)`` for Funcs of type ``ft``.

    ``self._ext`` is the FuncInst and ``self._st`` its StoreState. Parameters are
    spelled out with a sentinel default rather than taken as ``*args``: CPython
    calls such a ``__call__`` about twice as fast.
    """
    n = len(ft.params)
    args = [f"a{i}" for i in range(n)]
    if n:
        last = args[-1]
        lines = [
            f"def __call__(self, store, {', '.join(a + '=_M' for a in args)}, *rest):",
            "    st = self._st",
            f"    if store._state is not st or {last} is _M or rest:",
            "        if store._state is not st:",
            "            _bad_store(store)",
            f"        raise _arity_from(({', '.join(args)}, *rest), {n})",
        ]
    else:
        lines = [
            "def __call__(self, store, *rest):",
            "    st = self._st",
            "    if store._state is not st or rest:",
            "        if store._state is not st:",
            "            _bad_store(store)",
            "        raise _arity_error(len(rest), 0)",
        ]
    for i, t in enumerate(ft.params):
        lines += ["    " + s for s in _param_lines(i, t, f"a{i}", f"a{i}")]
    call_args = ", ".join((["None"] if needs_caller else []) + args)
    # The converted exception is raised after the handler, so Python does not chain
    # the tier's internal exception (e.g. the wrapper of a host error) as context.
    lines += [
        "    try:",
        f"        r = self._ext.call({call_args})",
        "    except BaseException as e:",
        "        exc = st.engine.convert_exception(e)",
        "    else:",
    ]
    results = ft.results
    if not results:
        lines.append("        return None")
    elif len(results) == 1:
        lines.append(f"        return {_result_expr(0, results[0], 'r')}")
    else:
        names = [f"r{i}" for i in range(len(results))]
        lines.append(f"        {', '.join(names)} = r")
        exprs = [_result_expr(i, t, names[i]) for i, t in enumerate(results)]
        lines.append(f"        return [{', '.join(exprs)}]")
    lines.append("    raise exc")
    ns = _converters(ft)
    ns.update(_bad_store=_bad_store, _arity_error=_arity_error, _arity_from=_arity_from,
              _f32=f32_round, _M=_MISSING)  # fmt: skip
    return _compile("\n".join(lines) + "\n", "__call__", ns)


def _host_arg(i: int, t: T.ValType) -> str:
    k = _kind(t)
    if k in _SIGNED:
        return _SIGNED[k].format(f"a{i}")
    if k in ("f32", "f64", "v128", "extern"):
        return f"a{i}"
    return f"_h{i}(a{i}, st)"


def _host_result_lines(i: int, t: T.ValType, src: str) -> str:
    """Expression converting a host function's Python result into an internal value."""
    k = _kind(t)
    if k in _MASK:
        return f"({src} & {_MASK[k]} if {src}.__class__ is int else _q{i}({src}, st))"
    if k == "f32":
        return f"(_f32({src}) if {src}.__class__ is float else _q{i}({src}, st))"
    if k == "f64":
        return f"({src} if {src}.__class__ is float else _q{i}({src}, st))"
    return f"_q{i}({src}, st)"


_HOST_FACTORIES: dict[tuple[T.FuncType, bool], Callable[..., Callable[..., Any]]] = {}


def make_host_call(
    ft: T.FuncType, fn: Callable[..., Any], access_caller: bool, st: StoreState
) -> Callable[..., Any]:
    """The ``FuncInst.call`` of a host function ``fn`` of type ``ft`` in store ``st``.

    With ``access_caller`` it is called as ``call(caller_instance, *args)`` and
    ``fn`` receives a :class:`Caller` first, invalidated when ``fn`` returns.
    The code is generated once per signature (as a factory of closures), so making
    a host function per store, as linkers do, is cheap.
    """
    key = (ft, access_caller)
    factory = _HOST_FACTORIES.get(key)
    if factory is None:
        factory = _HOST_FACTORIES[key] = _make_host_factory(ft, access_caller)
    return factory(fn, st)


def _make_host_factory(ft: T.FuncType, access_caller: bool) -> Callable[..., Any]:
    n = len(ft.params)
    args = [f"a{i}" for i in range(n)]
    py_args = [_host_arg(i, t) for i, t in enumerate(ft.params)]
    # The function's own RecursionError is wrapped as a host error, so the tiers
    # tell it from Python's stack running out in their own code (a trap).
    if access_caller:
        lines = [
            f"def host_call({', '.join(['cinst', *args])}):",
            "    caller = _Caller(cinst, st)",
            "    try:",
            f"        r = _fn({', '.join(['caller', *py_args])})",
            "    except RecursionError as e:",
            "        raise _HostError(e) from e",
            "    finally:",
            "        caller._invalidate()",
        ]
    else:
        lines = [
            f"def host_call({', '.join(args)}):",
            "    try:",
            f"        r = _fn({', '.join(py_args)})",
            "    except RecursionError as e:",
            "        raise _HostError(e) from e",
        ]
    results = ft.results
    if not results:
        lines += [
            "    if r is not None:",
            "        raise _Error(\"callback produced results when it shouldn't\")",
            "    return None",
        ]
    elif len(results) == 1:
        lines.append(f"    return {_host_result_lines(0, results[0], 'r')}")
    else:
        names = [f"r{i}" for i in range(len(results))]
        lines += [
            f"    if len(r) != {len(results)}:",
            "        raise _Error('callback produced wrong number of results')",
            f"    {', '.join(names)} = r",
            "    return (" + ", ".join(
                _host_result_lines(i, t, names[i]) for i, t in enumerate(results)
            ) + ",)",
        ]  # fmt: skip
    body = "\n".join("    " + line for line in lines)
    src = f"def factory(_fn, st):\n{body}\n    return host_call\n"
    from .func import Caller

    ns = _converters(ft)
    ns.update(_Caller=Caller, _Error=WasmtimeError, _HostError=HostError, _f32=f32_round,
              Val=Val)  # fmt: skip
    return _compile(src, "factory", ns)
