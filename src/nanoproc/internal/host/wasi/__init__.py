"""WASI preview1 (``wasi_snapshot_preview1``) for nanoprocesses.

``bind.wasi_imports(store_state)`` gives the functions as host FuncInsts and
``bind.linker_functions()`` feeds ``Linker.define_wasi``; ``ctx.WasiCtx`` is a
program's state, built from the store's WasiConfig. The capability model (only
preopened directories, read-only preopens, rights) is enforced in ``fs`` and in
the ``calls_*`` modules.
"""

from .bind import linker_functions, wasi_imports
from .ctx import WasiCtx, context_for

__all__ = ["WasiCtx", "context_for", "linker_functions", "wasi_imports"]
