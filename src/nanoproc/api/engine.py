"""``Engine``: a consumed ``Config`` plus the execution tier it selected.

Creating an engine is cheap (the tier's backend object is made on first use),
because wasmtime-py's ``Store()`` makes a fresh engine every time.

The tiers read these attributes of the engine (``StoreState.engine`` is this object):
``epoch`` (bumped by :meth:`increment_epoch`), ``consume_fuel``,
``epoch_interruption``, ``max_wasm_stack``, ``features`` and ``tier``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..internal.errors import UnsupportedFeature
from .config import Config, EngineSettings
from .managed import Closable
from .tiers import create_backend, execution_blocker, pick_tier

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
        """The execution tier in use: ``"interp"``, ``"llvm"`` or ``"tiered"`` (both:
        interp code at once, native code once compiled)."""
        self.consume_fuel = settings.consume_fuel
        self.epoch_interruption = settings.epoch_interruption
        self.max_wasm_stack = settings.max_wasm_stack
        self.features = settings.features
        self.epoch = 0
        """The current epoch; code in a store past its deadline traps with INTERRUPT."""
        self._backend: Backend | None = None
        self._blocker: str | None = None
        self._code_key = (self.tier, *settings.code_key()[1:])

    def increment_epoch(self) -> None:
        """Advance the epoch (safe to call from another thread or a signal handler)."""
        self.epoch += 1
        # A compiling tier keeps the epoch where running native code reads it.
        notify = getattr(self._backend, "epoch_changed", None)
        if notify is not None:
            notify(self.epoch)

    def is_pulley(self) -> bool:
        """Whether code runs on wasmtime's Pulley interpreter: never here."""
        return False

    @property
    def backend(self) -> Backend:
        """The execution tier's backend object (created on first use)."""
        b = self._backend
        if b is None:
            b = self._backend = create_backend(self.tier, self)
            self._blocker = execution_blocker(b, self)
        return b

    def check_can_run(self) -> None:
        """Raise UnsupportedFeature if this engine's settings need what its tier
        lacks (fuel metering, epoch checks): code must not run ignoring them."""
        if self._backend is None:
            self.backend  # noqa: B018 - creating the backend computes the blocker
        if self._blocker is not None:
            raise UnsupportedFeature(self._blocker)

    def convert_exception(self, exc: BaseException) -> BaseException:
        """What the caller sees for ``exc`` escaping Wasm code: the tier turns it into
        a Trap with a Wasm backtrace, or a host exception with ``wasm_trap``."""
        return self.backend.convert_exception(exc)  # type: ignore[attr-defined,no-any-return]

    def _compatible(self, other: Engine) -> bool:
        """Whether modules compiled by ``other`` can run in stores of this engine."""
        return other is self or other._code_key == self._code_key
