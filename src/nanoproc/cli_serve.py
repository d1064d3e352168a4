"""``nanoproc serve``: serve a ``wasi:http/incoming-handler`` component over HTTP,
as ``wasmtime serve`` does.

Every request runs in a fresh instance of the component (a nanoprocess per
request) under the limits given with ``-W`` (fuel, timeout and memory size count
per request); a failing request answers 500 and the server keeps serving.
``--addr`` defaults to wasmtime's ``0.0.0.0:8080``. Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from .cli_options import OptionError, parse_wasi, parse_wasm
from .cli_stdio import flush_quietly, write_quietly

DESCRIPTION = "serve HTTP with a wasi:http/incoming-handler component (a fresh instance per request)"


class ServeError(Exception):
    """A problem with the command line or the component: one ``error:`` line."""


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    from .cli_run import _OptionList

    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help=DESCRIPTION, description=DESCRIPTION)  # fmt: skip
    p.add_argument("--addr", default="0.0.0.0:8080", metavar="HOST:PORT",
                   help="the address to listen on (default 0.0.0.0:8080, as wasmtime; "
                        "port 0 picks a free one)")
    p.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST[::readonly]]",
                   help="give every request's instance host directory HOST")
    p.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="set an environment variable for the handler")
    p.add_argument("-W", "--wasm", dest="wasm", action=_OptionList, default=[],
                   metavar="KEY[=VAL][,...]",
                   help="fuel=N, timeout=DURATION, max-memory-size=BYTES: limits of each request")
    p.add_argument("-S", "--wasi", dest="wasi", action=_OptionList, default=[],
                   metavar="KEY[=VAL][,...]", help="WASI options, as for run")
    p.add_argument("--max-connections", type=int, default=128, metavar="N",
                   help="connections served at once (more wait to be accepted)")
    p.add_argument("--engine", choices=("interp", "llvm"), default=None,
                   help="execution tier (default: nanoproc's automatic choice)")
    p.add_argument("file", metavar="FILE.wasm", help="the handler component")
    p.set_defaults(func=cmd_serve)  # fmt: skip
    return p


def parse_addr(spec: str) -> tuple[str, int]:
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ServeError(f"--addr {spec}: expected HOST:PORT (a port from 0 to 65535)")
    return host.strip("[]") or "0.0.0.0", int(port)


def build(args: argparse.Namespace, log: Any = None) -> tuple[Any, Any]:
    """The listening server and the handler template for ``args`` (no serving yet)."""
    import nanoproc
    from nanoproc.component import Component

    from .cli_run import _read_module, _wasi_config, parse_dir, parse_env, shown
    from .internal.errors import WasmtimeError
    from .internal.host.wasip2.serve import Handler, Limits
    from .internal.host.wasip2.server import Server

    wasm_opts = parse_wasm(args.wasm)
    wasi_opts = parse_wasi(args.wasi)
    if args.max_connections < 1:
        raise ServeError("--max-connections must be at least 1")
    dirs = [parse_dir(d) for d in args.dir]
    env = parse_env(args.env, inherit=wasi_opts.inherit_env)
    host, port = parse_addr(args.addr)
    data = _read_module(args.file)
    from .cli_component import is_component_input

    if not is_component_input(data):
        raise ServeError(f"{shown(args.file)}: `nanoproc serve` takes a component exporting "
                         "wasi:http/incoming-handler; this is a core module")  # fmt: skip
    config = nanoproc.Config()
    if args.engine:
        config.strategy = args.engine
    config.consume_fuel = wasm_opts.fuel is not None
    config.epoch_interruption = wasm_opts.timeout is not None or wasm_opts.epoch_interruption
    if wasm_opts.max_wasm_stack is not None:
        config.max_wasm_stack = wasm_opts.max_wasm_stack
    engine = nanoproc.Engine(config)
    try:
        component = Component(engine, data)
    except WasmtimeError as e:
        raise ServeError(f"{shown(args.file)}: {str(e).splitlines()[0]}") from None
    wasi = _wasi_config(nanoproc, [args.file.rsplit("/", 1)[-1]], env, dirs, [], wasi_opts)
    limits = Limits(fuel=wasm_opts.fuel,
                    timeout=float(wasm_opts.timeout) if wasm_opts.timeout is not None else None,
                    memory_size=wasm_opts.limits.get("memory_size"))  # fmt: skip
    try:
        handler = Handler(engine, component, wasi, limits, log=log)
    except WasmtimeError as e:
        raise ServeError(f"{shown(args.file)}: {e}") from None
    except Exception as e:  # noqa: BLE001 - e.g. a linking failure: one line, no traceback
        raise ServeError(f"{shown(args.file)}: {str(e).splitlines()[0] if str(e) else e}") from None
    try:
        import socket  # not at start-up: the CLI builds this parser for every command

        sock = socket.create_server((host, port), backlog=1024)
    except (OSError, UnicodeError, OverflowError) as e:
        raise ServeError(f"--addr {args.addr}: {getattr(e, 'strerror', None) or e}") from None
    return Server(sock, handler.handle, args.max_connections), handler


def cmd_serve(args: argparse.Namespace) -> int:
    from .cli_run import RunError

    try:
        server, _ = build(args)
    except (ServeError, OptionError, RunError) as e:
        write_quietly(sys.stderr, f"error: {e}\n")
        return 1
    except OSError as e:
        write_quietly(sys.stderr, f"error: {e.filename + ': ' if e.filename else ''}"
                                  f"{e.strerror or e}\n")  # fmt: skip
        return 1
    # The template (compiled code, modules, linker) lives as long as the process:
    # moved out of the collector's sight, it is not rescanned with every request's
    # garbage (a third of a small request's cost on interp).
    import gc

    gc.collect()
    gc.freeze()
    host, port = server.address
    write_quietly(sys.stderr, f"Serving HTTP on http://{host}:{port}/\n")
    flush_quietly()
    # Ctrl-C: the C-level handler writes to the server's wake pair, which ends the
    # accept loop with KeyboardInterrupt; the Python-level handler does nothing (a
    # KeyboardInterrupt raised at an arbitrary point of the main thread could be lost).
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    previous_fd = signal.set_wakeup_fd(server.wakeup_fd, warn_on_full_buffer=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
        return 130
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        server.close()
    return 0
