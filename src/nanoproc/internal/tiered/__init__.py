"""Tiered execution: the interp tier at once, the llvm tier's native code when it is
compiled (see :mod:`.backend`)."""

from .backend import TieredBackend

__all__ = ["TieredBackend"]
