"""The ``close()``/``with`` protocol wasmtime-py gives its objects.

wasmtime-py frees native resources in ``close()``; nanoproc has none to free, but
code written for wasmtime-py calls ``close()`` and uses ``with`` blocks, and expects
a closed object to refuse further use with ``ValueError``.
"""

from __future__ import annotations

from typing import Any


class Closable:
    """Gives ``close()``, ``__enter__``/``__exit__`` and a closed check."""

    _closed: bool

    def close(self) -> None:
        """Release this object; using it afterwards raises ``ValueError``."""
        self._closed = True

    def _check_open(self) -> None:
        if getattr(self, "_closed", False):
            raise ValueError("already closed")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def setter_property(fset: Any) -> property:
    """A write-only property, as wasmtime-py's configuration setters are."""
    prop = property(fset=fset)
    if fset.__doc__:
        prop.__doc__ = fset.__doc__ + "\n\nThis property can only be set, not read."
    return prop
