"""Tier 1: pure Python. Each Wasm function becomes one Python function (see backend)."""

from .backend import InterpBackend
from .helpers import HostError

__all__ = ["HostError", "InterpBackend"]
