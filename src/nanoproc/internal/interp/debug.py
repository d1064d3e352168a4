"""Looking at generated code.

Set ``NANOPROC_INTERP_DUMP=<dir>`` to write every translated function's source to
``<dir>/<module>-<id>/<funcidx>.py`` as it is translated; tracebacks then show the
generated lines. :func:`source_of` returns the source of one function.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..exec.compiled import CompiledModule
    from .artifact import ModuleArtifact


def dump_source(directory: str, art: ModuleArtifact, funcidx: int, source: str) -> str:
    """Write ``source`` under ``directory``; returns the file name to compile with."""
    mod = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{art.name or 'module'}-{id(art):x}")
    folder = os.path.join(directory, mod)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{funcidx}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    return path


def source_of(module: CompiledModule, funcidx: int) -> str:
    """The Python source of defined function ``funcidx`` (translating it if needed)."""
    from .backend import InterpBackend

    art = InterpBackend().prepare(module)
    source = art.translated(funcidx).source
    if not source:  # taken from the translation cache, which keeps no source
        from .artifact import DEFAULT_OPTIONS
        from .translate import translate_function

        source = translate_function(art, funcidx, DEFAULT_OPTIONS).source
    return source
