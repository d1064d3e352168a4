"""``wat2wasm`` and the text-or-binary rule of ``Module(engine, wasm)``."""

from __future__ import annotations

from typing import Any

from ..internal.errors import WasmtimeError


def wat2wasm(wat: str | bytes | bytearray) -> bytearray:
    """Translate the WebAssembly text format to the binary format.

    Text starting ``(component`` is a component. Raises WasmtimeError (a
    ``ParseError``, with line and column) on malformed text.
    """
    if isinstance(wat, (bytes, bytearray)):
        try:
            wat = bytes(wat).decode("utf-8")
        except UnicodeDecodeError as e:
            raise WasmtimeError(f"input is not valid UTF-8: {e}") from None
    if not isinstance(wat, str):
        raise TypeError("expected a str or bytes")
    from ..internal.binary.encode import encode_module  # type: ignore[import-not-found,unused-ignore]
    from ..internal.text.component_wat import is_component_text
    from ..internal.text.wat import parse_wat

    if is_component_text(wat):  # as wasmtime's wat2wasm, components too
        from ..internal.binary.component_encode import encode_component
        from ..internal.text.component_wat import parse_component_text

        return bytearray(encode_component(parse_component_text(wat)))
    return bytearray(encode_module(parse_wat(wat)))


def to_wasm_bytes(wasm: Any) -> bytes:
    """The binary module for ``Module``'s ``wasm`` argument.

    As in wasmtime-py, a ``str``, or ``bytes`` whose first byte is not NUL, is text
    and is translated (binary modules start with ``\\0asm``); a ``bytearray`` or
    ``memoryview`` is always a binary module.
    """
    if isinstance(wasm, str):
        if wasm and wasm[0] != "\0":
            return bytes(wat2wasm(wasm))
    elif isinstance(wasm, bytes):
        if wasm and wasm[0] != 0:
            return bytes(wat2wasm(wasm))
        return wasm
    elif isinstance(wasm, (bytearray, memoryview)):
        return bytes(wasm)
    raise TypeError("expected wasm bytes")
