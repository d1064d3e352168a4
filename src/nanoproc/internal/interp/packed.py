"""Translations as bytes: made in an earlier run (the translation cache, see
:mod:`.codecache`) and used here without translating again.

A translation is its code objects (``marshal``: what CPython itself caches
bytecode with) and the facts binding needs. Unpacking gives the code objects a
file name unique in this process (the trap-frame registry is keyed by it) and
registers them, as translating here would.
"""

from __future__ import annotations

import itertools
import marshal
from types import CodeType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifact import ModuleArtifact, Translated

FORMAT = 1
"""Changes whenever the tuple below does."""

_serial = itertools.count()


def pack(t: Translated, makes_tail_calls: bool) -> bytes | None:
    """``t`` as bytes, or None if it holds something marshal cannot write."""
    try:
        return marshal.dumps((FORMAT, t.funcidx, t.code, t.body_code, t.consts,
                              tuple(sorted(t.funcrefs)), tuple(sorted(t.tail_targets)),
                              tuple(sorted(t.cast_memories)), t.callees, t.line_pcs,
                              makes_tail_calls))  # fmt: skip
    except ValueError:
        return None


def unpack(data: bytes, art: ModuleArtifact, funcidx: int) -> Translated | None:
    """The translation packed in ``data``, registered with ``art``; None if ``data``
    is not a packed translation of ``funcidx`` (then the caller translates)."""
    from .artifact import Translated
    from .frames import register_code
    from .helpers import ensure_simd, names_simd_helpers

    try:
        (fmt, idx, code, body_code, consts, funcrefs, tail_targets, cast_memories, callees,
         line_pcs, tail_calls) = marshal.loads(data)  # fmt: skip
    except (ValueError, EOFError, TypeError):
        return None
    if fmt != FORMAT or idx != funcidx or not isinstance(code, CodeType) \
            or not (body_code is None or isinstance(body_code, CodeType)) \
            or not isinstance(consts, dict):
        return None
    label = f"<wasm {art.name or 'module'}!{art.func_name(funcidx) or funcidx} #p{next(_serial)}>"
    code = _renamed(code, label)
    if body_code is not None:
        body_code = _renamed(body_code, label)
    if names_simd_helpers(code) or (body_code is not None and names_simd_helpers(body_code)):
        ensure_simd()
    pcs: list[Any] = list(line_pcs)
    register_code(code, art, funcidx, pcs)
    if body_code is not None:
        register_code(body_code, art, funcidx, pcs)
    art.note_tail_calls(funcidx, bool(tail_calls))
    return Translated(funcidx, "", code, body_code, consts, frozenset(funcrefs),
                      frozenset(tail_targets), frozenset(cast_memories), tuple(callees),
                      tuple(line_pcs))


def _renamed(code: CodeType, filename: str) -> CodeType:
    """``code`` and the code objects nested in it with ``co_filename`` set."""
    consts = tuple(_renamed(c, filename) if isinstance(c, CodeType) else c
                   for c in code.co_consts)  # fmt: skip
    return code.replace(co_filename=filename, co_consts=consts)
