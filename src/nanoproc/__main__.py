"""``python -m nanoproc``: the same as the ``nanoproc`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn re-imports this module
    sys.exit(main())
