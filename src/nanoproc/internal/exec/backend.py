"""The engine interface every execution tier implements.

The runtime core (instances, memories, tables, globals, linking, instantiation)
knows nothing of how code runs; a tier only turns a module's functions into
callables. That keeps the tiers interchangeable behind one API and lets them share
every runtime object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .compiled import CompiledModule
    from .instance import ModuleInstance


class Backend(Protocol):
    """An execution tier."""

    name: str
    """``"interp"`` or ``"llvm"``."""

    def prepare(self, module: CompiledModule) -> Any:
        """Module-level work done once per module (may be lazy); the result is kept in
        ``module.artifacts[self.name]``."""
        ...

    def instantiate(self, inst: ModuleInstance) -> None:
        """Give every function defined by ``inst`` its ``FuncInst.call``.

        Called after the instance's memories, tables, globals and tags exist and
        before segments are applied and the start function runs. Imported
        functions are already ``FuncInst`` objects in ``inst.funcs``.
        """
        ...
