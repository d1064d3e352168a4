"""Engine adapters for the benchmark harness.

Every engine answers the same few questions: can it run here (``setup``), how
long does ``run(n)`` take (``time_program``), and, for the micro-benchmarks,
how to compile, instantiate and call a module. Engines that cannot run raise
:class:`Unavailable` with a human-readable reason; the harness reports that as
"n/a" instead of crashing.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROGRAMS_DIR = BENCH_DIR / "programs"
NATIVE_DIR = BENCH_DIR / "native"
REPO_SRC = BENCH_DIR.parent / "src"

# Keep in sync with NATIVE_FLAGS in build.sh.
NATIVE_CFLAGS = ["-O2", "-ffp-contract=off"]

MASK32 = 0xFFFFFFFF

# Tiers decide which engines run by default at which size.
PYTHON = "pure-python"  # small n only
INTERPRETER = "interpreter"  # small n by default
COMPILER = "compiler"  # small and large n


class Unavailable(Exception):
    """The engine (or one operation of it) cannot run here; the message says why."""


def describe(exc: BaseException) -> str:
    """A one-line reason for an exception: ``Type: message``."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, Unavailable):
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def package_version(dist: str, module: Any = None) -> str:
    """The installed version of a distribution, or of a module's ``__version__``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(module, "__version__", "unknown"))


Call = tuple[Callable[..., Any], tuple[Any, ...]]
"""A callable plus the full argument tuple to pass it (what the micro-benchmarks time)."""


class WasmEngine:
    """Base class: an engine that loads Wasm modules into the current process."""

    name = "?"
    tier = COMPILER
    compiled = False  # has a separate compile step worth timing (micro c)

    def setup(self) -> None:
        """Import and configure the engine; raise Unavailable if it cannot run."""

    def version(self) -> str:
        """The engine's version string."""
        return "unknown"

    def compile(self, wasm: bytes) -> Any:
        """Decode/validate/compile a module; returns an engine-specific handle."""
        raise NotImplementedError

    def instantiate(self, module: Any) -> Any:
        """Create a fresh store and instance of a compiled module."""
        raise NotImplementedError

    def export_call(self, instance: Any, name: str, args: tuple[Any, ...]) -> Call:
        """The callable and full argument tuple that call export ``name`` with ``args``."""
        raise NotImplementedError

    def serialize(self, module: Any) -> bytes:
        """Serialize a compiled module (only for engines with a compiled cache)."""
        raise Unavailable(f"{self.name} has no serialized modules")

    def deserialize(self, blob: bytes) -> Any:
        """Load a module from :meth:`serialize` output."""
        raise Unavailable(f"{self.name} has no serialized modules")

    def prepare(self, wasm: bytes, program: str, n: int) -> Prepared:
        """Compile and instantiate once; the result times one ``run(n)`` per call."""
        gc.collect()  # here: collecting right before a call slows that call down
        instance = self.instantiate(self.compile(wasm))
        func, args = self.export_call(instance, "run", (n,))

        def once() -> tuple[int, float]:
            start = time.perf_counter()
            value = func(*args)
            elapsed = time.perf_counter() - start
            return to_checksum(value), elapsed

        return Prepared(once)

    def time_program(self, wasm: bytes, program: str, n: int, repeat: int) -> list[tuple[int, float]]:
        """``run(n)`` ``repeat`` times on one instance: [(checksum, seconds)]."""
        return self.prepare(wasm, program, n).repeat(repeat)


class Prepared:
    """A ready-to-time ``run(n)``: each call returns (checksum, seconds)."""

    def __init__(self, once: Callable[[], tuple[int, float]],
                 close: Callable[[], None] | None = None) -> None:
        self.once = once
        self._close = close

    def __call__(self) -> tuple[int, float]:
        return self.once()

    def repeat(self, count: int) -> list[tuple[int, float]]:
        """Time ``count`` calls, then release the instance (or process)."""
        try:
            return [self.once() for _ in range(count)]
        finally:
            self.close()

    def close(self) -> None:
        """Release resources (the native server process); idempotent."""
        if self._close is not None:
            self._close()
            self._close = None


def to_checksum(value: Any) -> int:
    """Normalise an engine's i32 result (signed int, or a one-element list) to unsigned."""
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int):
        raise TypeError(f"run() returned {value!r}, expected an i32")
    return value & MASK32


class WasmtimeShaped(WasmEngine):
    """Any engine with the wasmtime-py API: wasmtime itself and nanoproc's tiers."""

    def __init__(self, name: str, module_name: str, dist: str, tier: str,
                 strategy: str | None = None, compiled: bool = True,
                 from_repo: bool = False) -> None:
        self.name = name
        self.module_name = module_name
        self.dist = dist
        self.tier = tier
        self.strategy = strategy
        self.compiled = compiled
        self.from_repo = from_repo
        self.api: Any = None
        self.engine: Any = None

    def setup(self) -> None:
        if self.from_repo and (REPO_SRC / self.module_name).is_dir():
            src = str(REPO_SRC)
            if src not in sys.path:
                sys.path.insert(0, src)
        try:
            self.api = importlib.import_module(self.module_name)
        except Exception as exc:
            raise Unavailable(f"cannot import {self.module_name}: {describe(exc)}") from exc
        try:
            config = self.api.Config()
            if self.strategy is not None:
                config.strategy = self.strategy
            self.engine = self.api.Engine(config)
        except Exception as exc:
            what = f"strategy {self.strategy!r}" if self.strategy else "Engine()"
            raise Unavailable(f"{what}: {describe(exc)}") from exc

    def version(self) -> str:
        return package_version(self.dist, self.api)

    def compile(self, wasm: bytes) -> Any:
        return self.api.Module(self.engine, wasm)

    def instantiate(self, module: Any) -> Any:
        store = self.api.Store(self.engine)
        return store, self.api.Instance(store, module, [])

    def export_call(self, instance: Any, name: str, args: tuple[Any, ...]) -> Call:
        store, inst = instance
        return inst.exports(store)[name], (store, *args)

    def serialize(self, module: Any) -> bytes:
        return bytes(module.serialize())

    def deserialize(self, blob: bytes) -> Any:
        return self.api.Module.deserialize(self.engine, blob)


class Pywasm(WasmEngine):
    """pywasm 2.x, the pure-Python peer (``pywasm.core.Runtime``)."""

    name = "pywasm"
    tier = PYTHON
    compiled = False

    def setup(self) -> None:
        try:
            self.api: Any = importlib.import_module("pywasm")
        except Exception as exc:
            raise Unavailable(f"cannot import pywasm: {describe(exc)}") from exc

    def version(self) -> str:
        return package_version("pywasm", self.api)

    def compile(self, wasm: bytes) -> Any:
        return self.api.core.ModuleDesc.from_reader(io.BytesIO(wasm))

    def instantiate(self, module: Any) -> Any:
        runtime = self.api.core.Runtime()
        return runtime, runtime.instance(module)

    def export_call(self, instance: Any, name: str, args: tuple[Any, ...]) -> Call:
        runtime, inst = instance
        return runtime.invocate, (inst, name, list(args))


class Pywasm3(WasmEngine):
    """pywasm3, the Python binding of the wasm3 interpreter (written in C)."""

    name = "pywasm3"
    tier = INTERPRETER
    compiled = False
    stack_bytes = 1 << 20

    def setup(self) -> None:
        try:
            self.api: Any = importlib.import_module("wasm3")
        except Exception as exc:
            raise Unavailable(f"cannot import wasm3: {describe(exc)}") from exc
        self.env = self.api.Environment()

    def version(self) -> str:
        return package_version("pywasm3", self.api)

    def compile(self, wasm: bytes) -> Any:
        # A parsed wasm3 module can be loaded into one runtime only, so parsing
        # is part of instantiation; validate early by parsing once here.
        self.env.parse_module(wasm)
        return wasm

    def instantiate(self, module: Any) -> Any:
        runtime = self.env.new_runtime(self.stack_bytes)
        runtime.load(self.env.parse_module(module))
        return runtime

    def export_call(self, instance: Any, name: str, args: tuple[Any, ...]) -> Call:
        return instance.find_function(name), args


class Native:
    """gcc -O2 builds of the C sources, timed by programs/native_main.c."""

    name = "native"
    tier = COMPILER
    compiled = False

    def __init__(self) -> None:
        self.cc = os.environ.get("CC", "gcc")

    def setup(self) -> None:
        if shutil.which(self.cc) is None:
            raise Unavailable(f"no C compiler ({self.cc}) on PATH")

    def version(self) -> str:
        try:
            out = subprocess.run([self.cc, "--version"], capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return "unknown"
        return out.stdout.splitlines()[0] if out.stdout else "unknown"

    def binary(self, program: str) -> Path:
        """Build (if stale) and return the native binary of ``program``."""
        sources = [PROGRAMS_DIR / f"{program}.c", PROGRAMS_DIR / "native_main.c"]
        target = NATIVE_DIR / program
        newest = max(p.stat().st_mtime for p in sources)
        if not target.exists() or target.stat().st_mtime < newest:
            NATIVE_DIR.mkdir(exist_ok=True)
            cmd = [self.cc, *NATIVE_CFLAGS, "-o", str(target), *map(str, sources), "-lm"]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise Unavailable(f"{' '.join(cmd)} failed: {done.stderr.strip()[:200]}")
        return target

    def prepare(self, wasm: bytes, program: str, n: int) -> Prepared:
        """Start ``native/<program> --serve``; each call times one ``run(n)`` in it."""
        proc = subprocess.Popen([str(self.binary(program)), "--serve"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def once() -> tuple[int, float]:
            stdin.write(f"{n}\n")
            stdin.flush()
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"native {program} exited with status {proc.wait()}")
            fields = dict(item.split("=", 1) for item in line.split())
            return int(fields["checksum"]) & MASK32, int(fields["ns"]) / 1e9

        def close() -> None:
            stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            stdout.close()

        return Prepared(once, close)

    def time_program(self, wasm: bytes, program: str, n: int, repeat: int) -> list[tuple[int, float]]:
        """``run(n)`` ``repeat`` times in one native process: [(checksum, seconds)]."""
        return self.prepare(wasm, program, n).repeat(repeat)


Engine = WasmEngine | Native


def all_engines() -> dict[str, Engine]:
    """Every engine the harness knows, in display order."""
    engines: list[Engine] = [
        WasmtimeShaped("nanoproc-interp", "nanoproc", "nanoproc", PYTHON,
                       strategy="interp", compiled=False, from_repo=True),
        Pywasm(),
        Pywasm3(),
        WasmtimeShaped("nanoproc-llvm", "nanoproc", "nanoproc", COMPILER,
                       strategy="llvm", compiled=True, from_repo=True),
        WasmtimeShaped("wasmtime-py", "wasmtime", "wasmtime", COMPILER),
        Native(),
    ]
    return {e.name: e for e in engines}


# ---------------------------------------------------------------- side-by-side API scripts
# (instantiate.py, components.py: the same engines set up in one process, timed in turn)
def side_by_side_args(ap: Any, default_engines: str, repeat: int = 5) -> tuple[Any, Callable[[], float]]:
    """Add ``--repeat``, ``--engines`` and ``--clock`` to argparse parser ``ap``, parse
    the command line, and return (the arguments, the chosen clock: CPU time by
    default, which a loaded machine disturbs far less than wall time)."""
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--engines", default=default_engines)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    args = ap.parse_args()
    return args, time.process_time if args.clock == "cpu" else time.perf_counter


def api_engine(name: str) -> tuple[Any, Any]:
    """(the API module, an Engine) for ``wasmtime-py`` or ``nanoproc-<strategy>``."""
    if name == "wasmtime-py":
        import wasmtime

        return wasmtime, wasmtime.Engine()
    import nanoproc

    cfg = nanoproc.Config()
    cfg.strategy = name.split("-", 1)[1]
    return nanoproc, nanoproc.Engine(cfg)


def set_up_each(names: str, setup: Callable[[str], Any]) -> dict[str, Any]:
    """{name: setup(name)} for the comma-separated engine ``names``; one that fails
    is shown as n/a and left out, and the run goes on."""
    out = {}
    for name in names.split(","):
        try:
            out[name] = setup(name)
        except Exception as e:  # noqa: BLE001 - shown as n/a
            print(f"{name}: n/a ({type(e).__name__}: {e})")
    return out
