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


def is_component_input(data: bytes) -> bool:
    """Whether the file's bytes hold a component, binary or text."""
    from .internal.binary.component_decode import is_component
    from .internal.text.component_wat import is_component_text

    if data[:4] == b"\0asm":
        return is_component(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
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
