#!/usr/bin/env python3
"""The held-out compatibility check: wasmtime-py's own test suite, run against
``import nanoproc as wasmtime`` (outside CI; nothing of it is committed).

    python benchmarks/compat_wasmtime_py.py            # the installed wasmtime-py's version
    python benchmarks/compat_wasmtime_py.py --version 51.0.0

Downloads the wasmtime-py sdist from PyPI into a temporary directory, makes
``wasmtime`` an alias of ``nanoproc`` through a conftest, and runs its ``tests/``
from the sdist's root (some tests preopen the ``wasmtime`` directory found there).
The component-model tests and ``test_slab.py`` (wasmtime-py's private helpers) are
left out. Prints pytest's summary.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CONFTEST = "import sys\nimport nanoproc\nsys.modules['wasmtime'] = nanoproc\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    try:
        installed = metadata.version("wasmtime")
    except metadata.PackageNotFoundError:
        installed = None
    ap.add_argument("--version", default=installed, help="wasmtime-py version whose tests run")
    args = ap.parse_args()
    if not args.version:
        ap.error("wasmtime-py is not installed: give --version")
    work = Path(tempfile.mkdtemp(prefix="wasmtime-py-suite-"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                    "--quiet", "-d", str(work), f"wasmtime=={args.version}"], check=True)  # fmt: skip
    (sdist,) = work.glob("wasmtime-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(work, filter="data")
    root = next(p for p in work.iterdir() if p.is_dir())
    (root / "conftest.py").write_text(CONFTEST)
    env_path = str(SRC)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null",
           "--rootdir", str(root), "tests", "--ignore=tests/component",
           "--ignore=tests/test_slab.py"]  # fmt: skip
    import os

    env = dict(os.environ, PYTHONPATH=env_path)
    return subprocess.run(cmd, cwd=root, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
