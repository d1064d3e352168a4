"""``python -m nanoproc``: the same as the ``nanoproc`` command."""

import sys

from .cli import main

sys.exit(main())
