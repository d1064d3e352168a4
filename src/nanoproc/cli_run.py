"""``nanoproc run``: run a WASI program, or call one of its exports, like ``wasmtime run``.

The program's ``proc_exit`` status becomes the process exit status. A trap prints
its message and Wasm backtrace on stderr and exits with 134, as wasmtime does on
Unix (128 + SIGABRT). Anything wrong with the command line or the module prints
one ``error: ...`` line and exits with 1, never a traceback.

wasmtime's conventions (docs/run.md): ``FILE`` ``-`` reads the module from stdin,
``argv[0]`` is FILE's base name, an exported ``_initialize`` runs first, then the
export ``""`` or ``_start``; ``-W`` and ``-S`` take wasmtime's spellings
(:mod:`.cli_options`).

Hooked into ``nanoproc`` as a subcommand with :func:`add_run_parser`; also runs
standalone: ``python -m nanoproc.cli_run [OPTIONS] FILE [ARGS...]``.
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .cli_options import OptionError, WasiOptions, help_text, parse_wasi, parse_wasm
from .cli_stdio import ensure_standard_streams, flush_quietly, write_quietly
from .internal import threads

if TYPE_CHECKING:
    import socket
    from fractions import Fraction

EXIT_FAILED = 1
"""Bad command line, unreadable or invalid module, failed instantiation."""
EXIT_TRAP = 134
"""A trap, as ``wasmtime run`` on Unix (128 + SIGABRT)."""
EXIT_INTERNAL = 2
"""A bug in nanoproc."""
BACKTRACE_INNER = 20
"""Innermost frames of a long backtrace shown (wasmtime keeps 20)..."""
BACKTRACE_OUTER = 10
"""...and outermost ones (where the program started); the middle is elided."""

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
    p.add_argument("--argv0", metavar="NAME",
                   help="the program's argv[0] (default: FILE's base name)")
    p.add_argument("-W", "--wasm", dest="wasm", action=_OptionList, default=[],
                   metavar="KEY[=VAL][,...]",
                   help="fuel=N, timeout=DURATION (2s, 500ms), max-memory-size=BYTES, ...; "
                        "-W help lists them")
    p.add_argument("-S", "--wasi", dest="wasi", action=_OptionList, default=[],
                   metavar="KEY[=VAL][,...]",
                   help="WASI options as wasmtime spells them (inherit-env, inherit-stdin=n, "
                        "tcplisten=HOST:PORT, ...); -S help lists them")
    p.add_argument("--tcplisten", action="append", default=[], metavar="HOST:PORT",
                   help="listen on HOST:PORT and hand the socket to the program "
                        "(its fd follows the preopened directories)")
    p.add_argument("--verify-key", metavar="FILE",
                   help="load a .cwasm only if it was signed with the key in FILE "
                        "(`nanoproc compile --sign-key FILE`)")
    p.add_argument("--engine", choices=("interp", "llvm"), default=None,
                   help="execution tier (default: nanoproc's automatic choice)")
    p.add_argument("file", metavar="FILE.wasm|FILE.wat|FILE.cwasm|-",
                   help="the module (binary, text or artifact); - reads it from stdin")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="the program's arguments (or --invoke's parameters)")  # fmt: skip
    p.set_defaults(func=cmd_run)


class _OptionList(argparse._AppendAction):
    """``-W``/``-S``: collects the values; ``help`` prints the list and exits at once
    (no module needed), as wasmtime's ``-W help``."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:  # fmt: skip
        if values == "help":
            write_quietly(sys.stdout, help_text("-W" if self.dest == "wasm" else "-S"))
            parser.exit(0)
        super().__call__(parser, namespace, values, option_string)


# ---------------------------------------------------------------- option values
def parse_dir(spec: str) -> tuple[str, str, bool]:
    """``HOST[::GUEST[::readonly]]`` as (host, guest, read_only)."""
    parts = spec.split("::")
    if len(parts) > 3 or not parts[0]:
        raise RunError(f"--dir {shown(spec)}: expected HOST[::GUEST[::readonly]]")
    host = parts[0]
    guest = parts[1] if len(parts) > 1 and parts[1] else host
    read_only = False
    if len(parts) == 3:
        if parts[2] != "readonly":
            raise RunError(f"--dir {shown(spec)}: unknown option {shown(parts[2])!r} (only 'readonly')")
        read_only = True
    if not is_utf8(guest):
        raise RunError(f"--dir {shown(spec)}: the guest path {shown(guest)!r} is not valid UTF-8 "
                       "(WASI paths are UTF-8; HOST::GUEST gives it another name)")
    if not os.path.isdir(host):
        raise RunError(f"--dir {shown(spec)}: {shown(host)} is not a directory")
    return host, guest, read_only


def parse_env(specs: list[str], inherit: bool = False) -> list[tuple[str, str]]:
    """``--env`` values (and with ``inherit``, this process's environment first,
    leaving out variables that are not UTF-8) as (name, value) pairs."""
    merged: dict[str, str] = {}
    if inherit:
        merged = {k: v for k, v in os.environ.items() if is_utf8(k) and is_utf8(v)}
    for spec in specs:
        name, eq, value = spec.partition("=")
        if not name:
            raise RunError(f"--env {shown(spec)}: expected NAME[=VALUE]")
        if not eq:
            if name not in os.environ:
                continue
            value = os.environ[name]
        if not is_utf8(name) or not is_utf8(value):
            raise RunError(f"--env {shown(name)}: not valid UTF-8 (WASI passes the environment "
                           "as UTF-8 strings)")  # fmt: skip
        merged.pop(name, None)
        merged[name] = value
    return list(merged.items())


def is_utf8(text: str) -> bool:
    """Whether ``text`` (from the command line or the environment) is valid UTF-8:
    Python keeps undecodable bytes as lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """``text`` for a message, undecodable bytes as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def program_argv(args: argparse.Namespace) -> list[str]:
    """``argv`` as wasmtime builds it: FILE's base name (no host path reaches the
    guest) or ``--argv0``, then ARGS; all must be UTF-8."""
    argv0 = args.argv0
    if argv0 is None:
        argv0 = os.path.basename(args.file.rstrip("/")) or args.file
    argv = [argv0, *args.args]
    for i, arg in enumerate(argv):
        if not is_utf8(arg):
            what = f"argument {i}" if i else "argument 0, the module's file name (--argv0 sets another)"
            raise RunError(f"cannot pass {what}, {shown(arg)!r}: not valid UTF-8 (WASI passes "
                           "arguments as UTF-8 strings)")  # fmt: skip
    return argv


def _listen(spec: str) -> socket.socket:
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise RunError(f"--tcplisten {shown(spec)}: expected HOST:PORT (a port from 0 to 65535)")
    try:
        import socket  # not at start-up: only --tcplisten needs it

        return socket.create_server((host.strip("[]") or "127.0.0.1", int(port)))
    except (OSError, UnicodeError) as e:
        raise RunError(f"--tcplisten {shown(spec)}: {getattr(e, 'strerror', None) or e}") from None


# ---------------------------------------------------------------- running
def cmd_run(args: argparse.Namespace) -> int:
    """Run ``args.file``; the exit status to use."""
    try:
        return _run(args)
    except RunError as e:
        _error(str(e))
    except OptionError as e:
        _error(str(e))
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - sorted below; never a traceback
        from .internal.errors import WasmtimeError

        if isinstance(e, WasmtimeError):
            _error(f"{shown(args.file)}: {_one_line(str(e))}")
        elif isinstance(e, OSError):
            _error(f"{shown(str(e.filename)) + ': ' if e.filename else ''}{e.strerror or e}")
        else:
            write_quietly(sys.stderr, f"internal error: {type(e).__name__}: {_one_line(str(e))}\n")
            return EXIT_INTERNAL
    return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    import nanoproc

    wasm_opts = parse_wasm(args.wasm)
    wasi_opts = parse_wasi(args.wasi)
    dirs = [parse_dir(d) for d in args.dir]
    env = parse_env(args.env, inherit=wasi_opts.inherit_env)
    argv = program_argv(args)
    data = _read_module(args.file)
    from .cli_component import is_component_input

    component = is_component_input(data)
    if not component and (wasi_opts.http or wasi_opts.http_hosts):
        raise RunError(f"{shown(args.file)}: -S http is not supported for a core module "
                       "(wasi:http is a WASI 0.2 interface, for components)")  # fmt: skip
    if component and args.invoke is not None and args.args:
        raise RunError("--invoke of a component export takes its arguments in the call: "
                       "--invoke 'f(\"x\", 3)' (WAVE values)")  # fmt: skip

    config = nanoproc.Config()
    if args.engine:
        config.strategy = args.engine
    if args.verify_key is not None:
        from .cli_compile import read_key_file

        try:
            config.artifact_key = read_key_file(args.verify_key, "--verify-key")
        except nanoproc.WasmtimeError as e:
            raise RunError(str(e)) from None
    config.consume_fuel = wasm_opts.fuel is not None
    config.epoch_interruption = wasm_opts.timeout is not None or wasm_opts.epoch_interruption
    if wasm_opts.max_wasm_stack is not None:
        config.max_wasm_stack = wasm_opts.max_wasm_stack
    engine = nanoproc.Engine(config)
    store = nanoproc.Store(engine)
    if wasm_opts.fuel is not None:
        store.set_fuel(wasm_opts.fuel)
    if wasm_opts.limits:
        store.set_limits(**wasm_opts.limits)

    sockets = [_listen(spec) for spec in [*args.tcplisten, *wasi_opts.tcplisten]]
    try:
        if wasi_opts.enabled:
            store.set_wasi(_wasi_config(nanoproc, argv, env, dirs, sockets, wasi_opts))
        if component and args.invoke is not None:
            from .cli_component import prepare_invoke

            command = prepare_invoke(engine, data, wasi_opts.enabled, wasi_opts.http, args.invoke)
        elif component:
            from .cli_component import prepare_command

            command = prepare_command(engine, data, wasi_opts.enabled, http=wasi_opts.http)
        else:
            module = _load_module(nanoproc, engine, data)
            linker = nanoproc.Linker(engine)
            if wasi_opts.enabled:
                linker.define_wasi()
            if wasm_opts.unknown_imports == "trap":
                linker.define_unknown_imports_as_traps(module)
            elif wasm_opts.unknown_imports == "default":
                linker.define_unknown_imports_as_default_values(store, module)
        deadline = None
        if wasm_opts.timeout is not None:
            store.set_epoch_deadline(1)
            deadline = Deadline(wasm_opts.timeout, engine.increment_epoch)
        try:
            if component:
                return _execute_component(nanoproc, store, command, args)
            return _execute(nanoproc, linker, store, module, args)
        finally:
            if deadline is not None:
                deadline.cancel()
    finally:
        for sock in sockets:
            sock.close()
        flush_quietly()


def _wasi_config(np: Any, argv: list[str], env: list[tuple[str, str]],
                 dirs: list[tuple[str, str, bool]], sockets: list[socket.socket],
                 opts: WasiOptions) -> Any:  # fmt: skip
    wasi = np.WasiConfig()
    wasi.argv = argv
    wasi.env = env
    if opts.inherit_stdin:
        wasi.inherit_stdin()
    if opts.inherit_stdout:
        wasi.inherit_stdout()
    if opts.inherit_stderr:
        wasi.inherit_stderr()
    for host, guest, read_only in dirs:
        if read_only:
            wasi.preopen_dir(host, guest, np.DirPerms.READ_ONLY, np.FilePerms.READ_ONLY)
        else:
            wasi.preopen_dir(host, guest)
    for sock in sockets:
        wasi.preopen_socket(sock)
    for authority in opts.http_hosts:
        wasi.allow_http_host(authority)
    for proto, allow in (("tcp", wasi.allow_tcp), ("udp", wasi.allow_udp)):
        if not getattr(opts, proto):  # -S tcp=n / udp=n: that protocol stays denied
            continue
        if opts.inherit_network:
            allow("0.0.0.0/0")
            allow("::/0")
        for p, net, port in opts.net_rules:
            if p == proto:
                allow(net, port)
    if opts.ip_name_lookup:
        wasi.allow_ip_name_lookup()
    return wasi


class Deadline:
    """Calls ``action`` once ``seconds`` have passed, from a daemon thread, unless
    cancelled first. Any length works (``-W timeout=99999999999s`` simply never
    fires): the thread waits in bounded slices, which ``threading.Timer`` does not."""

    SLICE = 3600.0

    def __init__(self, seconds: Fraction | float, action: Callable[[], None]) -> None:
        self.end = time.monotonic() + float(seconds)
        self.action = action
        self.cancelled = threading.Event()
        self.thread = threads.start_daemon(self._wait, "nanoproc-timeout")

    def _wait(self) -> None:
        while True:
            left = self.end - time.monotonic()
            if left <= 0:
                self.action()
                return
            if self.cancelled.wait(min(left, self.SLICE)):
                return

    def cancel(self) -> None:
        self.cancelled.set()


def _load_module(np: Any, engine: Any, data: bytes) -> Any:
    """A module from Wasm or WAT, or from a ``nanoproc compile`` artifact (.cwasm)."""
    from .api.artifact import looks_like_artifact

    if looks_like_artifact(data):
        return np.Module.deserialize(engine, data)
    return np.Module(engine, data)


def _execute(np: Any, linker: Any, store: Any, module: Any, args: argparse.Namespace) -> int:
    """Instantiate, call ``_initialize`` if exported, then ``--invoke``'s export or the
    default one (``""``, else ``_start``), as wasmtime does."""
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        init = exports.get("_initialize")
        if isinstance(init, np.Func):
            _check_no_params(init, store, "_initialize")
            init(store)
        if args.invoke is not None:
            return _invoke(np, store, exports, args.invoke, args.args)
        main = exports.get("")
        if not isinstance(main, np.Func):
            main = exports.get("_start")
        if isinstance(main, np.Func):
            _check_no_params(main, store, "_start")
            main(store)
        return 0
    except np.ExitTrap as e:
        return int(e.code)
    except np.Trap as e:
        flush_quietly()
        _report_trap(args.file, e)
        return EXIT_TRAP


def _execute_component(np: Any, store: Any, command: Any, args: argparse.Namespace) -> int:
    """Instantiate a command component and call its ``wasi:cli/run`` export: status
    0 when it returns ``ok``, 1 for ``err``, the ``exit`` status when it exits, 134
    for a trap (in instantiation too), as ``wasmtime run``."""
    try:
        result = command(store)
        if args.invoke is not None:
            if result is not None:
                write_quietly(sys.stdout, result + "\n")
            return 0
        return 0 if result is None or getattr(result, "tag", None) == "ok" else 1
    except np.ExitTrap as e:
        return int(e.code)
    except np.Trap as e:
        flush_quietly()
        _report_trap(args.file, e)
        return EXIT_TRAP


def _check_no_params(func: Any, store: Any, name: str) -> None:
    ty = func.type(store)
    if ty.params:
        raise RunError(f"the module's `{name}` takes parameters: use --invoke")
    if ty.results and name == "_initialize":
        raise RunError("the module's `_initialize` returns results: it must take and return nothing")


def _invoke(np: Any, store: Any, exports: Any, name: str, raw: list[str]) -> int:
    func = exports.get(name)
    if not isinstance(func, np.Func):
        raise RunError(f"no exported function named `{name}`")
    ty = func.type(store)
    params = list(ty.params)
    if len(raw) < len(params):
        raise RunError(f"`{name}` takes {len(params)} argument(s), {len(raw)} given")
    # As wasmtime: the first arguments are the parameters; all of them are also the
    # program's argv (a reactor such as CPython-for-WASI reads its own from there).
    values = [_parse_value(text, str(t)) for text, t in zip(raw, params)]
    results = func(store, *values)
    if results is None:
        results = []
    elif not isinstance(results, list):
        results = [results]
    flush_quietly()
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
        if kind == "v128":  # an unsigned 128-bit integer, as wasmtime reads it
            n = int(text.replace("_", ""), 0)
            if not 0 <= n < (1 << 128):
                raise ValueError
            return n
    except ValueError:
        raise RunError(f"invalid {kind} argument: {text!r}") from None
    raise RunError(f"cannot pass a {kind} argument from the command line")


def format_value(value: Any, kind: str) -> str:
    """A result as ``wasmtime run --invoke`` prints it (floats without exponents,
    f32 in its shortest form, v128 as an unsigned 128-bit decimal)."""
    if kind in ("f32", "f64") and isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = _shortest_f32(value) if kind == "f32" else repr(value)
        from decimal import Decimal  # not at start-up: only --invoke prints floats

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
    """The module's bytes: from the file, or from stdin for ``-`` (as wasmtime)."""
    if path == "-":
        try:
            data = sys.stdin.buffer.read()
        except (OSError, ValueError, AttributeError) as e:
            raise RunError(f"-: cannot read the module from stdin: {e}") from None
        if not data:
            raise RunError("-: no module on stdin (it was empty)")
        return data
    if os.path.isdir(path):
        raise RunError(f"{shown(path)}: is a directory, expected a .wasm or .wat file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise RunError(f"{shown(path)}: {e.strerror or e}") from None


def backtrace_lines(frames: list[Any]) -> list[str]:
    """The backtrace as printed: every frame of a short one; of a long one (a stack
    overflow has thousands), the innermost and outermost with the middle elided."""
    shown_frames: list[tuple[int, Any] | None] = list(enumerate(frames))
    if len(frames) > BACKTRACE_INNER + BACKTRACE_OUTER + 1:
        shown_frames = [*shown_frames[:BACKTRACE_INNER], None, *shown_frames[-BACKTRACE_OUTER:]]
    elided = len(frames) - BACKTRACE_INNER - BACKTRACE_OUTER
    return [f"  {item[0]}: {item[1]}" if item is not None else f"  ... {elided} frames elided ..."
            for item in shown_frames]  # fmt: skip


def _report_trap(file: str, trap: Any) -> None:
    """The trap on stderr. If stderr cannot take it (closed, or its reader gone),
    the message is dropped and the exit status stays 134."""
    lines = [f"error: failed to run `{shown(file)}`", f"wasm trap: {trap.message}"]
    frames = list(getattr(trap, "frames", None) or [])
    if frames:
        lines.append("wasm backtrace:")
        lines += backtrace_lines(frames)
    write_quietly(sys.stderr, "\n".join(lines) + "\n")


def _error(message: str) -> None:
    flush_quietly()
    write_quietly(sys.stderr, f"error: {message}\n")


def _one_line(text: str) -> str:
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


# ---------------------------------------------------------------- standalone
def main(argv: Sequence[str] | None = None) -> int:
    ensure_standard_streams()
    parser = argparse.ArgumentParser(prog="nanoproc run", description=DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    code = cmd_run(args)
    flush_quietly()
    return code


if __name__ == "__main__":
    sys.exit(main())
