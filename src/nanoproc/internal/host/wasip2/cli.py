"""``wasi:cli``, ``wasi:clocks`` and ``wasi:random``: the small interfaces."""

from __future__ import annotations

import os
import random as _random
import time
from collections.abc import Callable
from typing import Any

from ...exec.trap import ExitTrap, Trap
from ..wasi.calls_env import EXIT_LIMIT
from ..wasi.fdtable import StreamEntry
from .io import StdinStream, StdoutStream, Timer
from .state import (
    INPUT_STREAM,
    OUTPUT_STREAM,
    POLLABLE,
    TERMINAL_INPUT,
    TERMINAL_OUTPUT,
    P2State,
)

MAX_RANDOM = 1 << 26
"""Most random bytes one call returns (a larger request traps, not the host)."""


def _stdio(p2: P2State, fd: int) -> Any:
    """preview1's stream object for standard descriptor ``fd`` (0-2); the guest's
    own fd_renumber/close of it under preview1 does not matter here."""
    entry = p2.ctx.table.entries.get(fd)
    if not isinstance(entry, StreamEntry):
        raise Trap(f"standard stream {fd} is not available")
    return entry.stream


def define(p2_of: Callable[[Any], P2State], cli: dict[str, Any], clocks: dict[str, Any],
           rnd: dict[str, Any]) -> None:  # fmt: skip
    def arguments(store: Any) -> list[str]:
        return [a.decode("utf-8") for a in p2_of(store).ctx.args]

    def environment(store: Any) -> list[tuple[str, str]]:
        out = []
        for kv in p2_of(store).ctx.env:
            k, _, v = kv.decode("utf-8").partition("=")
            out.append((k, v))
        return out

    cli["environment"] = {"get-environment": environment, "get-arguments": arguments,
                          "initial-cwd": lambda store: None}  # fmt: skip

    def exit_(store: Any, status: Any) -> None:
        raise ExitTrap(0 if getattr(status, "tag", "ok") == "ok" and not _is_err(status) else 1)

    def exit_with_code(store: Any, code: int) -> None:
        if code >= EXIT_LIMIT:
            raise Trap("exit with invalid exit status outside of [0..126)")
        raise ExitTrap(code)

    cli["exit"] = {"exit": exit_, "exit-with-code": exit_with_code}
    cli["stdin"] = {"get-stdin": lambda store: _own(p2_of(store), StdinStream(_stdio(p2_of(store), 0)), INPUT_STREAM)}
    cli["stdout"] = {"get-stdout": lambda store: _own(p2_of(store), StdoutStream(_stdio(p2_of(store), 1)), OUTPUT_STREAM)}
    cli["stderr"] = {"get-stderr": lambda store: _own(p2_of(store), StdoutStream(_stdio(p2_of(store), 2)), OUTPUT_STREAM)}

    def terminal(fd: int, ty: int) -> Callable[[Any], Any]:
        def get(store: Any) -> Any:
            p2 = p2_of(store)
            return _own(p2, object(), ty) if _stdio(p2, fd).isatty() else None

        return get

    cli["terminal-input"] = {}
    cli["terminal-output"] = {}
    cli["terminal-stdin"] = {"get-terminal-stdin": terminal(0, TERMINAL_INPUT)}
    cli["terminal-stdout"] = {"get-terminal-stdout": terminal(1, TERMINAL_OUTPUT)}
    cli["terminal-stderr"] = {"get-terminal-stderr": terminal(2, TERMINAL_OUTPUT)}

    res_mono = max(1, round(time.get_clock_info("monotonic").resolution * 1e9))
    res_wall = max(1, round(time.get_clock_info("time").resolution * 1e9))

    def subscribe_instant(store: Any, when: int) -> Any:
        return _own(p2_of(store), Timer(when), POLLABLE)

    def subscribe_duration(store: Any, d: int) -> Any:
        return _own(p2_of(store), Timer(time.monotonic_ns() + d), POLLABLE)

    clocks["monotonic-clock"] = {"now": lambda store: time.monotonic_ns(),
                                 "resolution": lambda store: res_mono,
                                 "subscribe-instant": subscribe_instant,
                                 "subscribe-duration": subscribe_duration}  # fmt: skip

    def wall_now(store: Any) -> dict[str, int]:
        ns = time.time_ns()
        return {"seconds": ns // 1_000_000_000, "nanoseconds": ns % 1_000_000_000}

    clocks["wall-clock"] = {"now": wall_now, "resolution": lambda store: {
        "seconds": res_wall // 1_000_000_000, "nanoseconds": res_wall % 1_000_000_000}}

    def random_bytes(store: Any, n: int) -> bytes:
        if n > MAX_RANDOM:
            raise Trap(f"random: {n} bytes asked for, at most {MAX_RANDOM} at once")
        return os.urandom(n)

    def random_u64(store: Any) -> int:
        return int.from_bytes(os.urandom(8), "little")

    insecure = _random.Random(os.urandom(16))

    def insecure_bytes(store: Any, n: int) -> bytes:
        if n > MAX_RANDOM:
            raise Trap(f"random: {n} bytes asked for, at most {MAX_RANDOM} at once")
        return insecure.randbytes(n)

    rnd["random"] = {"get-random-bytes": random_bytes, "get-random-u64": random_u64}
    rnd["insecure"] = {"get-insecure-random-bytes": insecure_bytes,
                       "get-insecure-random-u64": lambda store: insecure.getrandbits(64)}
    seed = (insecure.getrandbits(64), insecure.getrandbits(64))
    rnd["insecure-seed"] = {"insecure-seed": lambda store: seed}


def _is_err(status: Any) -> bool:
    return getattr(status, "tag", None) == "err"


def _own(p2: P2State, obj: Any, ty: int) -> Any:
    return p2.own(obj, ty)


RESOURCES = {
    "stdin": {"input-stream": INPUT_STREAM}, "stdout": {"output-stream": OUTPUT_STREAM},
    "stderr": {"output-stream": OUTPUT_STREAM},
    "terminal-input": {"terminal-input": TERMINAL_INPUT},
    "terminal-output": {"terminal-output": TERMINAL_OUTPUT},
    "terminal-stdin": {"terminal-input": TERMINAL_INPUT},
    "terminal-stdout": {"terminal-output": TERMINAL_OUTPUT},
    "terminal-stderr": {"terminal-output": TERMINAL_OUTPUT},
    "monotonic-clock": {"pollable": POLLABLE},
}  # fmt: skip
