"""Running the WASI test programs, and checking what they did to the file system.

A *runner* runs one .wasm program with arguments, environment, preopens and stdin
and returns its stdout, stderr and exit status:

``wasmtime``  wasmtime-py, the reference (skipped where it is not installed)
``shim``      nanoproc's WASI host on wasmtime-py's engine (host logic alone)
``nanoproc``  nanoproc's public API end to end (``import nanoproc as wasmtime``)
``cli``       ``python -m nanoproc.cli_run`` in a subprocess, as a user runs it

Programs print lines; tests compare them with ``expected/<program>.out``. Where
wasmtime deliberately differs (see WASMTIME_DIFFERS) the wasmtime runner is held
to its own documented answer, so "agree with wasmtime" stays an exact check.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
WASM = HERE / "wasm"
EXPECTED = HERE / "expected"
SRC = HERE / "src"

HAVE_WASMTIME = importlib.util.find_spec("wasmtime") is not None
RUNNERS = ["wasmtime", "shim", "nanoproc", "cli"]
NANOPROC_RUNNERS = ["nanoproc", "cli"]

CLI_TIMEOUT = 300


@dataclass(frozen=True)
class Dir:
    host: Path
    guest: str
    read_only: bool = False


@dataclass
class Result:
    stdout: bytes
    stderr: bytes
    code: int
    """Exit status: proc_exit's code, 0 when _start returned, 134 for a trap."""
    trap: str | None = None

    @property
    def lines(self) -> list[str]:
        return self.stdout.decode("utf-8", "replace").splitlines()


@dataclass
class Program:
    name: str
    args: list[str] = field(default_factory=list)
    dirs: list[Dir] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    stdin: bytes = b""


def wasm_path(name: str) -> Path:
    return WASM / f"{name}.wasm"


def run(runner: str, prog: Program) -> Result:
    """Run ``prog`` with ``runner`` (see the module docstring)."""
    if runner == "wasmtime" and not HAVE_WASMTIME:
        pytest.skip("wasmtime-py is not installed: no reference run")
    return {"wasmtime": _run_wasmtime, "shim": _run_shim, "nanoproc": _run_nanoproc,
            "cli": _run_cli}[runner](prog)  # fmt: skip


# ---------------------------------------------------------------- runners
_MODULES: dict[tuple[str, str], Any] = {}


def _module(api: Any, engine: Any, name: str) -> Any:
    key = (api.__name__, name)
    if key not in _MODULES:
        _MODULES[key] = api.Module.from_file(engine, str(wasm_path(name)))
    return _MODULES[key]


_ENGINES: dict[str, Any] = {}


def _engine(api: Any) -> Any:
    if api.__name__ not in _ENGINES:
        _ENGINES[api.__name__] = api.Engine()
    return _ENGINES[api.__name__]


def _call_start(api: Any, exit_trap: type, store: Any, instance: Any) -> tuple[int, str | None]:
    try:
        instance.exports(store)["_start"](store)
    except exit_trap as e:
        return int(e.code), None  # type: ignore[attr-defined]
    except api.Trap as e:
        return 134, e.message
    except api.WasmtimeError as e:  # wasmtime reports some host-call failures this way
        return 134, str(e)
    return 0, None


def _run_wasmtime(prog: Program) -> Result:
    """wasmtime-py, with stdio through temporary files: its custom-output callbacks
    can panic a runtime thread at interpreter exit (wasmtime-py 50)."""
    import wasmtime

    with tempfile.TemporaryDirectory() as tmp:
        stdin, stdout, stderr = (os.path.join(tmp, n) for n in ("in", "out", "err"))
        Path(stdin).write_bytes(prog.stdin)
        config = wasmtime.WasiConfig()
        config.argv = [prog.name, *prog.args]
        config.env = prog.env
        config.stdin_file = stdin
        config.stdout_file = stdout
        config.stderr_file = stderr
        for d in prog.dirs:
            config.preopen_dir(str(d.host), d.guest, not d.read_only)
        engine = _engine(wasmtime)
        store = wasmtime.Store(engine)
        store.set_wasi(config)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, _module(wasmtime, engine, prog.name))
        code, trap = _call_start(wasmtime, wasmtime.ExitTrap, store, instance)
        del instance, linker, store
        return Result(Path(stdout).read_bytes(), Path(stderr).read_bytes(), code, trap)


def nanoproc_config(prog: Program, out: bytearray, err: bytearray) -> Any:
    import nanoproc

    config = nanoproc.WasiConfig()
    config.argv = [prog.name, *prog.args]
    config.env = prog.env
    config.stdout_buffer = out
    config.stderr_buffer = err
    config.stdin_bytes = prog.stdin
    for d in prog.dirs:
        if d.read_only:
            config.preopen_dir(str(d.host), d.guest, nanoproc.DirPerms.READ_ONLY,
                               nanoproc.FilePerms.READ_ONLY)  # fmt: skip
        else:
            config.preopen_dir(str(d.host), d.guest)
    return config


def _run_shim(prog: Program) -> Result:
    if not HAVE_WASMTIME:
        pytest.skip("wasmtime-py is not installed: the shim runs on its engine")
    import wasmtime
    from wasi_shim import define_wasi

    import nanoproc
    from nanoproc.internal.host.wasi.ctx import WasiCtx

    out, err = bytearray(), bytearray()
    ctx = WasiCtx.from_settings(nanoproc_config(prog, out, err)._consume())
    try:
        engine = _engine(wasmtime)
        store = wasmtime.Store(engine)
        linker = wasmtime.Linker(engine)
        define_wasi(linker, ctx)
        instance = linker.instantiate(store, _module(wasmtime, engine, prog.name))
        code, trap = _call_start(wasmtime, nanoproc.ExitTrap, store, instance)
    finally:
        ctx.close()
    return Result(bytes(out), bytes(err), code, trap)


def _run_nanoproc(prog: Program) -> Result:
    import nanoproc

    out, err = bytearray(), bytearray()
    config = nanoproc_config(prog, out, err)
    engine = _engine(nanoproc)
    store = nanoproc.Store(engine)
    store.set_wasi(config)
    linker = nanoproc.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, _module(nanoproc, engine, prog.name))
    code, trap = _call_start(nanoproc, nanoproc.ExitTrap, store, instance)
    store.close()
    return Result(bytes(out), bytes(err), code, trap)


def cli_command(prog: Program, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "nanoproc.cli_run", "--argv0", prog.name, *extra]
    for d in prog.dirs:
        cmd += ["--dir", f"{d.host}::{d.guest}" + ("::readonly" if d.read_only else "")]
    for name, value in prog.env:
        cmd += ["--env", f"{name}={value}"]
    return [*cmd, str(wasm_path(prog.name)), *prog.args]


def _run_cli(prog: Program) -> Result:
    p = subprocess.run(cli_command(prog), input=prog.stdin, capture_output=True,
                       timeout=CLI_TIMEOUT, env=cli_env())  # fmt: skip
    trap = None
    if p.returncode == 134:
        lines = [ln for ln in p.stderr.decode().splitlines() if ln.startswith("wasm trap: ")]
        trap = lines[0][len("wasm trap: "):] if lines else "?"
    return Result(p.stdout, p.stderr, p.returncode, trap)


def cli_env() -> dict[str, str]:
    """The environment for CLI subprocesses: this checkout's nanoproc first."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---------------------------------------------------------------- expectations
def expected_lines(name: str) -> list[str]:
    return (EXPECTED / f"{name}.out").read_text().splitlines()


WASMTIME_DIFFERS: dict[str, dict[str, str]] = {}
"""program -> {label: wasmtime's value}: lines ``label: value`` where wasmtime 50
answers differently from the preview1 spec, which nanoproc follows. Filled by
the test modules, each entry with its reason next to it."""


def expected_for(runner: str, name: str) -> list[str]:
    """The lines ``runner`` must print for program ``name``."""
    lines = expected_lines(name)
    if runner != "wasmtime":
        return lines
    differs = WASMTIME_DIFFERS.get(name, {})
    out = []
    for line in lines:
        label, sep, _ = line.partition(": ")
        out.append(f"{label}: {differs[label]}" if sep and label in differs else line)
    return out


# ---------------------------------------------------------------- file-system snapshots
OLD_ATIME_SECONDS = 100_000
"""Sentinel atimes are set this far before their mtimes: on relatime (and strict
atime) mounts any read or listing then moves them, so a read is visible."""


def make_tree(root: Path, spec: dict[str, Any]) -> None:
    """Create files (str/bytes values), directories (dict values) and symlinks
    (``("link", target)`` values) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, value in spec.items():
        path = root / name
        if isinstance(value, dict):
            make_tree(path, value)
        elif isinstance(value, tuple):
            os.symlink(value[1], path)
        else:
            path.write_bytes(value.encode() if isinstance(value, str) else value)


def age_atimes(root: Path) -> None:
    """Set every atime under ``root`` (not following links) well before its mtime."""
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        if not stat.S_ISLNK(st.st_mode):
            os.utime(path, ns=(st.st_mtime_ns - OLD_ATIME_SECONDS * 10**9, st.st_mtime_ns),
                     follow_symlinks=False)  # fmt: skip


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[Any, ...]]:
    """Everything about the tree under ``root`` except atimes: types, modes,
    sizes, mtimes, link counts, link targets and file contents (read without
    touching atimes where the OS allows)."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip]
        for name in [*dirnames, *filenames, "."] if rel_dir == "." else [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in skip:
                continue
            st = os.lstat(path)
            extra: Any = None
            if stat.S_ISLNK(st.st_mode):
                extra = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                extra = _read_noatime(path)
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size,
                        st.st_mtime_ns, st.st_nlink, st.st_ino, extra)  # fmt: skip
    return out


def atimes(root: Path, paths: list[str]) -> dict[str, int | None]:
    """The atimes of ``paths`` (relative to ``root``), by lstat alone; None for a
    path that is gone."""
    out: dict[str, int | None] = {}
    for rel in paths:
        try:
            st = os.lstat(root / rel)
        except FileNotFoundError:
            out[rel] = None
            continue
        if not stat.S_ISLNK(st.st_mode):
            out[rel] = st.st_atime_ns
    return out


def _read_noatime(path: str) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
