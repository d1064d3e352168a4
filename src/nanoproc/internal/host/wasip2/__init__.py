"""WASI 0.2 (the ``wasi:*@0.2.x`` interfaces) for components.

``define.add_wasip2(linker)`` puts the host functions and resource types into a
``nanoproc.component.Linker``. The state behind them is preview1's: a store's
:class:`~..wasi.ctx.WasiCtx` (arguments, environment, standard streams, preopened
directories, built from the store's ``WasiConfig``), and preview1's sandboxed
path resolution (:mod:`..wasi.fs`) for every path, so both ABIs enforce the same
capabilities. What is new here is the resource table (streams, descriptors,
pollables, errors as handles) in :mod:`.state`.
"""

from .define import add_wasi_http, add_wasip2

__all__ = ["add_wasip2", "add_wasi_http"]
