"""A validated module ready to be instantiated, plus what tiers attach to it."""

from __future__ import annotations

from typing import Any

from ..syntax.module import Module
from ..syntax.types import FuncType


class CompiledModule:
    """A decoded, validated module and its per-tier artifacts.

    ``types`` is the validator's result (canonical type identities and the types of
    every index space); ``artifacts`` maps a tier name to what that tier's
    ``prepare`` returned (for interp: translated Python code, filled lazily).
    """

    def __init__(self, module: Module, types: Any, name: str | None = None) -> None:
        self.module = module
        self.types = types
        self.name = name if name is not None else (module.names.module if module.names else None)
        self.artifacts: dict[str, Any] = {}
        self.binary: bytes | None = None
        """The module's binary when the API compiled it from bytes (tiers key caches by it)."""
        self.func_types: list[FuncType] = [module.functype(i) for i in module.func_typeidxs()]
        self.num_imported_funcs = module.num_imported_funcs
        self._unsupported: dict[frozenset[str], str | None] = {}

    def unsupported_feature(self, have: frozenset[str] = frozenset()) -> str | None:
        """The first feature the module needs that a tier running ``have`` lacks (see
        exec.features), scanned once per feature set (a tiered engine asks for both
        tiers)."""
        try:
            return self._unsupported[have]
        except KeyError:
            from .features import unsupported_feature

            found = self._unsupported[have] = unsupported_feature(self.module, have)
            return found

    def canon(self, typeidx: int) -> Any:
        """Canonical identity of a type index (equal across modules iff types match)."""
        return self.types.canon[typeidx]

    def func_name(self, funcidx: int) -> str | None:
        names = self.module.names
        if names is None:
            return None
        return names.funcs.get(funcidx)
