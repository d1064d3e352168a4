"""``nanoproc run``: run a WASI program, or call one of its exports, like ``wasmtime run``.

The program's ``proc_exit`` status becomes the process exit status. A trap prints
its message and Wasm backtrace on stderr and exits with 134, as wasmtime does on
Unix (128 + SIGABRT). Anything wrong with the command line or the module prints
one ``error: ...`` line and exits with 1, never a traceback.

Hooked into ``nanoproc`` as a subcommand with :func:`add_run_parser`; also runs
standalone: ``python -m nanoproc.cli_run [OPTIONS] FILE [ARGS...]``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import socket
import struct
import sys
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

EXIT_FAILED = 1
"""Bad command line, unreadable or invalid module, failed instantiation."""
EXIT_TRAP = 134
"""A trap, as ``wasmtime run`` on Unix (128 + SIGABRT)."""
EXIT_INTERNAL = 2
"""A bug in nanoproc."""

DESCRIPTION = "run a WebAssembly module (WASI command, or --invoke an export)"


class RunError(Exception):
    """A problem with the command line or the module: one ``error:`` line."""


# ---------------------------------------------------------------- the parser
def add_run_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``run`` subcommand to ``nanoproc``'s subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run", help=DESCRIPTION, description=DESCRIPTION)  # fmt: skip
    _add_arguments(parser)
    return parser


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST[::readonly]]",
                   help="give the program host directory HOST, seen as GUEST "
                        "(default: HOST); readonly refuses every change to it")
    p.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="set an environment variable (NAME alone: this process's value)")
    p.add_argument("--invoke", metavar="FUNC",
                   help="call export FUNC with ARGS as its parameters and print its results")
    p.add_argument("--argv0", metavar="NAME", help="the program's argv[0] (default: FILE)")
    p.add_argument("-W", dest="wasm", action="append", default=[], metavar="OPT=VALUE",
                   help="fuel=N, timeout=DURATION (e.g. 2s, 500ms) or max-memory-size=BYTES")
    p.add_argument("--tcplisten", action="append", default=[], metavar="HOST:PORT",
                   help="listen on HOST:PORT and hand the socket to the program "
                        "(its fd follows the preopened directories)")
    p.add_argument("--verify-key", metavar="FILE",
                   help="load a .cwasm only if it was signed with the key in FILE "
                        "(`nanoproc compile --sign-key FILE`)")
    p.add_argument("--engine", choices=("interp", "llvm"), default=None,
                   help="execution tier (default: nanoproc's automatic choice)")
    p.add_argument("file", metavar="FILE.wasm|FILE.wat|FILE.cwasm")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="the program's arguments (or --invoke's parameters)")  # fmt: skip
    p.set_defaults(func=cmd_run)


# ---------------------------------------------------------------- option values
def parse_dir(spec: str) -> tuple[str, str, bool]:
    """``HOST[::GUEST[::readonly]]`` as (host, guest, read_only)."""
    parts = spec.split("::")
    if len(parts) > 3 or not parts[0]:
        raise RunError(f"--dir {spec}: expected HOST[::GUEST[::readonly]]")
    host = parts[0]
    guest = parts[1] if len(parts) > 1 and parts[1] else host
    read_only = False
    if len(parts) == 3:
        if parts[2] != "readonly":
            raise RunError(f"--dir {spec}: unknown option {parts[2]!r} (only 'readonly')")
        read_only = True
    if not os.path.isdir(host):
        raise RunError(f"--dir {spec}: {host} is not a directory")
    return host, guest, read_only


def parse_env(specs: list[str]) -> list[tuple[str, str]]:
    out = []
    for spec in specs:
        name, eq, value = spec.partition("=")
        if not name:
            raise RunError(f"--env {spec}: expected NAME[=VALUE]")
        if not eq:
            if name not in os.environ:
                continue
            value = os.environ[name]
        out.append((name, value))
    return out


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0,
          "h": 3600.0}  # fmt: skip


def parse_duration(text: str) -> float:
    """Seconds in ``2s``, ``500ms``, ``1.5m``, ``3`` (seconds)..."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([a-zµ]*)\s*", text)
    if not m or m.group(2) not in ("", *_UNITS):
        raise RunError(f"-W timeout={text}: expected a duration such as 2s or 500ms")
    return float(m.group(1)) * _UNITS.get(m.group(2) or "s", 1.0)


def parse_wasm_options(specs: list[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq:
            raise RunError(f"-W {spec}: expected OPT=VALUE")
        if key == "fuel":
            opts["fuel"] = _non_negative(value, spec)
        elif key == "max-memory-size":
            opts["max_memory"] = _non_negative(value, spec)
        elif key == "timeout":
            opts["timeout"] = parse_duration(value)
        else:
            raise RunError(f"-W {spec}: unknown option (fuel, timeout, max-memory-size)")
    return opts


def _non_negative(text: str, spec: str) -> int:
    try:
        n = int(text.replace("_", ""), 0)
    except ValueError:
        raise RunError(f"-W {spec}: not a number") from None
    if n < 0:
        raise RunError(f"-W {spec}: must not be negative")
    return n


def _listen(spec: str) -> socket.socket:
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit():
        raise RunError(f"--tcplisten {spec}: expected HOST:PORT")
    try:
        return socket.create_server((host.strip("[]") or "127.0.0.1", int(port)))
    except OSError as e:
        raise RunError(f"--tcplisten {spec}: {e.strerror or e}") from None


# ---------------------------------------------------------------- running
def cmd_run(args: argparse.Namespace) -> int:
    """Run ``args.file``; the exit status to use."""
    try:
        return _run(args)
    except RunError as e:
        _error(str(e))
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - sorted below; never a traceback
        from .internal.errors import WasmtimeError

        if isinstance(e, WasmtimeError):
            _error(f"{args.file}: {_one_line(str(e))}")
        elif isinstance(e, OSError):
            _error(f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}")
        else:
            print(f"internal error: {type(e).__name__}: {_one_line(str(e))}", file=sys.stderr)
            return EXIT_INTERNAL
    return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    import nanoproc

    dirs = [parse_dir(d) for d in args.dir]
    env = parse_env(args.env)
    opts = parse_wasm_options(args.wasm)
    data = _read_module(args.file)

    config = nanoproc.Config()
    if args.engine:
        config.strategy = args.engine
    if args.verify_key is not None:
        from .cli_compile import read_key_file

        try:
            config.artifact_key = read_key_file(args.verify_key, "--verify-key")
        except nanoproc.WasmtimeError as e:
            raise RunError(str(e)) from None
    if "fuel" in opts:
        config.consume_fuel = True
    if "timeout" in opts:
        config.epoch_interruption = True
    engine = nanoproc.Engine(config)
    store = nanoproc.Store(engine)
    if "fuel" in opts:
        store.set_fuel(opts["fuel"])
    if "max_memory" in opts:
        store.set_limits(memory_size=opts["max_memory"])

    wasi = nanoproc.WasiConfig()
    wasi.argv = [args.argv0 if args.argv0 is not None else args.file, *args.args]
    wasi.env = env
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for host, guest, read_only in dirs:
        if read_only:
            wasi.preopen_dir(host, guest, nanoproc.DirPerms.READ_ONLY, nanoproc.FilePerms.READ_ONLY)
        else:
            wasi.preopen_dir(host, guest)
    sockets = [_listen(spec) for spec in args.tcplisten]
    for sock in sockets:
        wasi.preopen_socket(sock)
    store.set_wasi(wasi)

    module = _load_module(nanoproc, engine, data)
    linker = nanoproc.Linker(engine)
    linker.define_wasi()

    timer = None
    if "timeout" in opts:
        store.set_epoch_deadline(1)
        timer = threading.Timer(opts["timeout"], engine.increment_epoch)
        timer.daemon = True
        timer.start()
    try:
        return _execute(nanoproc, linker, store, module, args)
    finally:
        if timer is not None:
            timer.cancel()
        for sock in sockets:
            sock.close()
        _flush()


def _load_module(np: Any, engine: Any, data: bytes) -> Any:
    """A module from Wasm or WAT, or from a ``nanoproc compile`` artifact (.cwasm)."""
    from .api.artifact import looks_like_artifact

    if looks_like_artifact(data):
        return np.Module.deserialize(engine, data)
    return np.Module(engine, data)


def _execute(np: Any, linker: Any, store: Any, module: Any, args: argparse.Namespace) -> int:
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        if args.invoke is not None:
            init = exports.get("_initialize")
            if isinstance(init, np.Func):
                init(store)
            return _invoke(np, store, exports, args.invoke, args.args)
        start = exports.get("_start") or exports.get("")
        if isinstance(start, np.Func):
            if start.type(store).params:
                raise RunError("the module's `_start` takes parameters: use --invoke")
            start(store)
        return 0
    except np.ExitTrap as e:
        return int(e.code)
    except np.Trap as e:
        _flush()
        _report_trap(args.file, e)
        return EXIT_TRAP


def _invoke(np: Any, store: Any, exports: Any, name: str, raw: list[str]) -> int:
    func = exports.get(name)
    if not isinstance(func, np.Func):
        raise RunError(f"no exported function named `{name}`")
    ty = func.type(store)
    params = list(ty.params)
    if len(raw) != len(params):
        raise RunError(f"`{name}` takes {len(params)} argument(s), {len(raw)} given")
    values = [_parse_value(text, str(t)) for text, t in zip(raw, params)]
    results = func(store, *values)
    if results is None:
        results = []
    elif not isinstance(results, list):
        results = [results]
    _flush()
    for value, t in zip(results, ty.results):
        print(format_value(value, str(t)))
    return 0


def _parse_value(text: str, kind: str) -> Any:
    try:
        if kind in ("i32", "i64"):
            bits = 32 if kind == "i32" else 64
            n = int(text.replace("_", ""), 0)
            if not -(1 << (bits - 1)) <= n < (1 << bits):
                raise ValueError
            return n - (1 << bits) if n >= 1 << (bits - 1) else n
        if kind in ("f32", "f64"):
            return float(text)
    except ValueError:
        raise RunError(f"invalid {kind} argument: {text!r}") from None
    raise RunError(f"cannot pass a {kind} argument from the command line")


def format_value(value: Any, kind: str) -> str:
    """A result as ``wasmtime run --invoke`` prints it (floats without exponents,
    f32 in its shortest form)."""
    if kind in ("f32", "f64") and isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = _shortest_f32(value) if kind == "f32" else repr(value)
        out = format(Decimal(text), "f")
        return out[:-2] if out.endswith(".0") else out
    return str(value)


def _shortest_f32(value: float) -> str:
    target = struct.pack("<f", value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.pack("<f", float(text)) == target:
            return text
    return repr(value)


# ---------------------------------------------------------------- output
def _read_module(path: str) -> bytes:
    if os.path.isdir(path):
        raise RunError(f"{path}: is a directory, expected a .wasm or .wat file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise RunError(f"{path}: {e.strerror or e}") from None


def _report_trap(file: str, trap: Any) -> None:
    lines = [f"error: failed to run `{file}`", f"wasm trap: {trap.message}"]
    frames = list(getattr(trap, "frames", None) or [])
    if frames:
        lines.append("wasm backtrace:")
        lines += [f"  {i}: {frame}" for i, frame in enumerate(frames)]
    print("\n".join(lines), file=sys.stderr)


def _error(message: str) -> None:
    _flush()
    print(f"error: {message}", file=sys.stderr)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _one_line(text: str) -> str:
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


# ---------------------------------------------------------------- standalone
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nanoproc run", description=DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
