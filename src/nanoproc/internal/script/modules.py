"""Script modules as bytes for the API, and where a rejected module failed.

``parse_wast`` hands text modules over already parsed, so they reach the API as
binaries made by nanoproc's encoder; ``module quote`` text is parsed here, when the
command runs, so a malformed quote fails as part of its own command. These and the
malformed-or-invalid check are the runner's only uses of nanoproc internals: the
public API rejects both kinds alike, with a ``WasmtimeError``.
"""

from __future__ import annotations

from ..errors import WasmtimeError as InternalError
from ..text.wast import ModuleCommand


class TextRejected(Exception):
    """nanoproc's text parser rejected a ``module quote`` (the module is malformed)."""

    def __init__(self, error: InternalError) -> None:
        super().__init__(str(error))
        self.error = error


def module_bytes(cmd: ModuleCommand) -> bytes:
    """The binary for a script module. Raises TextRejected for a malformed quote."""
    if cmd.component:
        return component_bytes(cmd)
    from ..binary.encode import encode_module

    if cmd.kind == "binary":
        assert cmd.binary is not None
        return cmd.binary
    if cmd.kind == "text":
        assert cmd.module is not None
        return encode_module(cmd.module)
    from ..text.wat import parse_wat

    assert cmd.quote is not None
    try:
        module = parse_wat(cmd.quote)
    except InternalError as e:
        raise TextRejected(e) from None
    return encode_module(module)


def component_bytes(cmd: ModuleCommand) -> bytes:
    """The binary for a script component (``(component quote ...)`` text is parsed here)."""
    from ..binary.component_encode import encode_component
    from ..text.component_wat import parse_component_text

    if cmd.kind == "binary":
        assert cmd.binary is not None
        return cmd.binary
    if cmd.kind == "text":
        return encode_component(cmd.module)  # type: ignore[arg-type]
    assert cmd.quote is not None
    try:
        component = parse_component_text(f"(component {cmd.quote})")
    except InternalError as e:
        raise TextRejected(e) from None
    return encode_component(component)


def decode_error(data: bytes) -> str | None:
    """nanoproc's decoder's complaint about ``data``, or None if it is well-formed."""
    from ..binary.component_decode import decode_component, is_component
    from ..binary.decode import decode_module

    try:
        if is_component(data):
            decode_component(data)  # core function bodies: see the validator
        else:
            decode_module(data, lazy=False)
    except InternalError as e:
        return str(e)
    return None
