"""The validator: Wasm 3.0 typing rules, subtyping and type canonicalisation.

``validate_module(module)`` checks a module tree and returns its :class:`ModuleTypes`
(the canonical identity of every type, the function types of the function index
space, ...). Canonical ids are process-wide: :func:`is_subtype_canon` and the
``match_*`` functions compare types of different modules (import matching at link
time, ``call_indirect``/``ref.cast``/``ref.test`` at run time).
"""

from .canon import definition, is_subtype_canon
from .canon import kind as canon_kind
from .moduletypes import ModuleTypes
from .subtyping import (
    match_comptype,
    match_globaltype,
    match_heap,
    match_results,
    match_valtype,
    top_heap,
)
from .validate import validate_module

__all__ = [
    "ModuleTypes",
    "canon_kind",
    "definition",
    "is_subtype_canon",
    "match_comptype",
    "match_globaltype",
    "match_heap",
    "match_results",
    "match_valtype",
    "top_heap",
    "validate_module",
]
