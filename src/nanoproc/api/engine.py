"""``Engine``: a consumed ``Config`` plus the execution tier it selected.

Creating an engine is cheap (the tier's backend object is made on first use),
because wasmtime-py's ``Store()`` makes a fresh engine every time.

The tiers read these attributes of the engine (``StoreState.engine`` is this object):
``epoch`` (bumped by :meth:`increment_epoch`), ``consume_fuel``,
``epoch_interruption``, ``max_wasm_stack``, ``features`` and ``tier``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import Config, EngineSettings
from .managed import Closable
from .tiers import create_backend, exception_converter, pick_tier

if TYPE_CHECKING:
    from ..internal.exec.backend import Backend

_DEFAULT_SETTINGS = EngineSettings()


class Engine(Closable):
    """Compilation and execution settings shared by modules and stores."""

    def __init__(self, config: Config | None = None) -> None:
        if config is None:
            settings = _DEFAULT_SETTINGS
        elif not isinstance(config, Config):
            raise TypeError("expected Config")
        else:
            settings = config._consume()
        self._closed = False
        self._settings = settings
        self.tier: str = pick_tier(settings.strategy)
        """The execution tier in use: ``"interp"`` or ``"llvm"``."""
        self.consume_fuel = settings.consume_fuel
        self.epoch_interruption = settings.epoch_interruption
        self.max_wasm_stack = settings.max_wasm_stack
        self.features = settings.features
        self.epoch = 0
        """The current epoch; code in a store past its deadline traps with INTERRUPT."""
        self._backend: Backend | None = None
        self._code_key = (self.tier, *settings.code_key()[1:])

    def increment_epoch(self) -> None:
        """Advance the epoch (safe to call from another thread or a signal handler)."""
        self.epoch += 1

    def is_pulley(self) -> bool:
        """Whether code runs on wasmtime's Pulley interpreter: never here."""
        return False

    @property
    def backend(self) -> Backend:
        """The execution tier's backend object (created on first use)."""
        b = self._backend
        if b is None:
            b = self._backend = create_backend(self.tier, self)
        return b

    @property
    def convert_exception(self) -> Callable[[BaseException], BaseException]:
        """The tier's converter for exceptions escaping Wasm code."""
        return exception_converter(self.tier)

    def _compatible(self, other: Engine) -> bool:
        """Whether modules compiled by ``other`` can run in stores of this engine."""
        return other is self or other._code_key == self._code_key
