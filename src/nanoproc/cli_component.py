"""Components in the nanoproc commands.

``parse``, ``print`` and ``validate`` take a component as they take a module
(binary with the component layer field, or text starting ``(component``).
``run`` runs a command component (:func:`prepare_command`: its ``wasi:cli/run``
export, with WASI 0.2); ``compile`` does not take components yet: it calls
:func:`component_refusal` first and says what the file is, rather than the core
decoder's "unknown binary version".
"""

from __future__ import annotations

import re
import struct
from typing import Any

_TEXT = re.compile(rb"(?:\s+|;;[^\n]*\n?|\(;.*?;\))*\(\s*component\b", re.S)
"""WAT text whose first form is ``(component``: after spaces and comments."""


def component_refusal(data: bytes, command: str) -> str | None:
    """The error message if ``data`` is a component (binary or text) that ``nanoproc
    command`` cannot take yet; None for anything else."""
    if data[:4] == b"\0asm" and len(data) >= 8:
        version, layer = struct.unpack_from("<HH", data, 4)
        if layer == 0:
            return None
        what = f"binary version 0x{version:x}, layer {layer}"
    elif _TEXT.match(data[:4096]):
        what = "text"
    else:
        return None
    return (f"is a WebAssembly component ({what}), not a core module: components are not "
            f"supported by `nanoproc {command}` yet")  # fmt: skip


def prepare_command(engine: Any, data: bytes, wasi: bool, http: bool = False) -> Any:
    """Compile command component ``data`` and link it with WASI 0.2 (when ``wasi``;
    with ``wasi:http`` too when ``http``);
    a function ``command(store)`` that instantiates it and calls its
    ``wasi:cli/run`` ``run`` (any 0.2.x version of the interface)."""
    from .api.component import Component, Linker
    from .internal.errors import WasmtimeError

    component = Component(engine, data)
    exports = component._plan.info.type.exports
    names = [n for n in exports if n.startswith("wasi:cli/run@0.2.")]
    if not names:
        raise WasmtimeError("component does not export `wasi:cli/run@0.2.x`: not a WASI command")
    linker = Linker(engine)
    if wasi:
        linker.add_wasip2()
    if http:
        linker.add_wasi_http()

    def command(store: Any) -> Any:
        instance = linker.instantiate(store, component)
        index = instance.get_export_index(store, names[0])
        func = instance.get_func(store, instance.get_export_index(store, "run", index))
        if func is None:
            raise WasmtimeError(f"`{names[0]}` has no `run` function")
        return func(store)

    return command


def prepare_invoke(engine: Any, data: bytes, wasi: bool, http: bool, call: str) -> Any:
    """Compile component ``data``, link it (WASI 0.2 when ``wasi``, wasi:http when
    ``http``) and parse ``call`` (``f("x", 3)``, WAVE arguments, :mod:`.cli_wave`):
    a function ``invoke(store)`` that instantiates it, makes the call and returns
    the result as WAVE text (None for a function without one). ``f`` is a top-level
    export, ``INSTANCE#f`` one of an exported instance, or a name found in exactly
    one exported instance."""
    from .api.component import Component, Linker
    from .cli_run import RunError
    from .cli_wave import WaveError, parse_args, parse_call, show
    from .internal.errors import WasmtimeError
    from .internal.exec.component.shapes import func_shape

    component = Component(engine, data)
    try:
        name, arg_text = parse_call(call)
    except WaveError as e:
        raise RunError(f"--invoke {call}: {e}") from None
    path = _find_func(component._plan.info.type.exports, name)
    linker = Linker(engine)
    if wasi:
        linker.add_wasip2()
    if http:
        linker.add_wasi_http()

    def invoke(store: Any) -> str | None:
        instance = linker.instantiate(store, component)
        index = None
        for p in path:
            index = instance.get_export_index(store, p, index)
        func = None if index is None else instance.get_func(store, index)
        if func is None:
            raise WasmtimeError(f"`{name}` is not an exported function")
        (params, result), _ = func_shape(func._cf.ft)
        names = [n for n, _ in func._cf.ft.params]
        try:
            args = parse_args(arg_text, params, names)
        except WaveError as e:
            raise RunError(f"--invoke {call}: arguments: {e}") from None
        value = func(store, *args)
        return None if result is None else show(value, result)

    return invoke


def _find_func(exports: Any, name: str) -> list[str]:
    """The export path of function ``name`` (see :func:`prepare_invoke`)."""
    from .internal.errors import WasmtimeError

    it = exports.get(name)
    if it is not None and it.ty.kind == "func":
        return [name]
    if "#" in name:
        inst, _, fn = name.rpartition("#")
        it = exports.get(inst)
        if it is not None and it.ty.kind == "instance":
            sub = it.ty.a.data.exports.get(fn)
            if sub is not None and sub.ty.kind == "func":
                return [inst, fn]
    found = [[n, name] for n, it in exports.items() if it.ty.kind == "instance"
             and (sub := it.ty.a.data.exports.get(name)) is not None and sub.ty.kind == "func"]  # fmt: skip
    if len(found) == 1:
        return found[0]
    if found:
        raise WasmtimeError(f"`{name}` is exported by several instances ("
                            + ", ".join(f[0] for f in found) + "): write INSTANCE#" + name)
    funcs = [n for n, it in exports.items() if it.ty.kind == "func"]
    raise WasmtimeError(f"no exported function named `{name}`"
                        + (f" (functions: {', '.join(funcs)})" if funcs else ""))


def is_component_input(data: bytes) -> bool:
    """Whether the file's bytes hold a component, binary or text."""
    if data[:4] == b"\0asm":
        if data[6:8] == b"\0\0":
            return False  # a core module's layer: the component decoder (~60 classes) not loaded
        from .internal.binary.component_decode import is_component

        return is_component(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    from .internal.text.component_wat import is_component_text

    return is_component_text(text)


def load_component(data: bytes, path: str) -> Any:
    """A component tree from binary or text bytes (already known to be a component)."""
    from .internal.binary.component_decode import decode_component
    from .internal.text.component_wat import parse_component_text

    if data[:4] == b"\0asm":
        return decode_component(data)
    return parse_component_text(data.decode("utf-8"), filename=path)


def parse_to_binary(data: bytes, path: str) -> bytes:
    from .internal.binary.component_encode import encode_component

    return encode_component(load_component(data, path))


def print_text(data: bytes, path: str) -> str:
    from .internal.text.component_printer import print_component

    return print_component(load_component(data, path))


def validate(data: bytes, path: str) -> None:
    """Validate (the caller's error handler names the file)."""
    from .internal.valid.component import validate_component

    validate_component(load_component(data, path))


def wit_text(path: str, features: frozenset[str] = frozenset(), all_features: bool = False) -> str:
    """``nanoproc wit PATH``: the WIT of a component (binary or text), or of the WIT
    package in a directory or ``.wit`` file, resolved and printed."""
    from pathlib import Path

    from .internal.wit.printer import print_wit

    p = Path(path)
    if p.is_dir() or p.suffix == ".wit":
        from .internal.wit.resolve import load

        resolve, root, others = load(p, features=features, all_features=all_features)
        return print_wit(resolve, root, others)
    data = p.read_bytes()
    if not is_component_input(data):
        from .internal.errors import WasmtimeError

        raise WasmtimeError("expected a component (binary or text), a .wit file or a directory")
    from .internal.valid.component import validate_component
    from .internal.wit.decode import decode_component_wit

    info = validate_component(load_component(data, path))
    resolve, root, others = decode_component_wit(info)
    return print_wit(resolve, root, others)


def compose(socket: str, plugs: list[str]) -> bytes:
    """``nanoproc compose``: ``socket`` with its imports plugged by ``plugs``' exports."""
    from pathlib import Path

    from .internal.compose import plug

    def binary(path: str) -> bytes:
        data = Path(path).read_bytes()
        if not is_component_input(data):
            from .internal.errors import WasmtimeError

            raise WasmtimeError(f"{path}: not a component")
        if data[:4] == b"\0asm":
            return data
        from .internal.binary.component_encode import encode_component

        return encode_component(load_component(data, path))

    return plug(binary(socket), [binary(p) for p in plugs])
