"""``nanoproc.component``: the component model API (wasmtime-py's ``wasmtime.component``).

Everything is defined in :mod:`nanoproc.api.component`; this module is its public name.
"""

from .api.component import *  # noqa: F403
from .api.component import __all__ as __all__
