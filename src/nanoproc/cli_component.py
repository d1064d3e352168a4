"""Components given to commands that take core modules (``run``, ``validate``, ``print``,
``compile``).

A component model binary starts like a module (``\\0asm``) but with another version
and layer (version 0xd, layer 1 today), so the core decoder would only say
"unknown binary version". Until these commands run components, they call
:func:`component_refusal` first and say what the file is. Component support
replaces this one function.
"""

from __future__ import annotations

import re
import struct

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
