"""The rule both format pipelines of the spec suite (core modules, components) hold
nanoproc to: a step may fail only with a WasmtimeError; anything else escaping is a bug."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from nanoproc.internal.errors import WasmtimeError

T = TypeVar("T")


class Escaped(Exception):
    """A non-WasmtimeError came out of nanoproc: always a failure."""


def guarded(step: str, fn: Callable[[], T]) -> T:
    """Run one pipeline step; WasmtimeErrors propagate, anything else is Escaped."""
    try:
        return fn()
    except WasmtimeError:
        raise
    except Exception as e:  # noqa: BLE001
        raise Escaped(f"{step}: {type(e).__name__}: {e}") from e
