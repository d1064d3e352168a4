"""Argument checks that fail the way wasmtime-py fails.

wasmtime-py often rejects a wrong argument by touching an attribute it lacks
(``AttributeError``), sometimes by an explicit ``TypeError``; its own tests assert
the one that happens. The error raised here is both, so code catching either works.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


class ArgumentTypeError(TypeError, AttributeError):
    """An argument of the wrong type (catchable as TypeError or AttributeError)."""


def expect(value: Any, cls: type[T], what: str) -> T:
    """``value`` if it is a ``cls``, else ArgumentTypeError("expected <what>")."""
    if not isinstance(value, cls):
        raise ArgumentTypeError(f"expected {what}, got {type(value).__name__}")
    return value
