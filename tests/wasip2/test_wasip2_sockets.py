"""``wasi:sockets``: denied unless allowed, by address and port; TCP (connect,
listen/accept), UDP, name lookup from a component (src/p2sockets.c).

With no network rule, the component's output is wasmtime-py 51's (which gives
a component no network): every socket is ``access-denied``, lookups
``permanent-resolver-failure``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from wasip2_harness import HAVE_WASMTIME, RUN_EXPORT, WASM, api_for

DENIED_ALL = """lookup localhost: error permanent-resolver-failure
tcp connect 127.0.0.1:echo: error access-denied
tcp listen 127.0.0.1:0: error access-denied
udp 127.0.0.1: error access-denied
tcp connect 10.255.255.1:9: error access-denied
misuse: error access-denied
"""


@contextmanager
def echo_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 answering each message with "pong:" + it."""
    srv = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(100)
                seen.append(data)
                conn.sendall(b"pong:" + data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1], seen
    finally:
        srv.close()


def run(runner: str, args: list[str], configure: Callable[[Any], None] = lambda w: None) -> str:
    api, comp, engine = api_for(runner)
    out = bytearray()
    component = comp.Component.from_file(engine, str(WASM / "p2sockets.wasm"))
    linker = comp.Linker(engine)
    linker.add_wasip2()
    store = api.Store(engine)
    w = api.WasiConfig()
    w.argv = ["p2sockets", *args]
    w.stdout_custom = lambda b: out.extend(b)
    configure(w)
    store.set_wasi(w)
    inst = linker.instantiate(store, component)
    idx = inst.get_export_index(store, RUN_EXPORT)
    inst.get_func(store, inst.get_export_index(store, "run", idx))(store)
    return out.decode()


@pytest.mark.parametrize("tier", ["interp", "llvm"])
def test_denied_unless_allowed(tier: str) -> None:
    with echo_server() as (port, seen):
        assert run(tier, [str(port)]) == DENIED_ALL
        assert seen == []


@pytest.mark.skipif(not HAVE_WASMTIME, reason="wasmtime-py is not installed")
def test_denied_output_is_wasmtimes() -> None:
    # in a child process: wasmtime-py's runtime may abort at interpreter exit
    here = str(Path(__file__).parent)
    code = (f"import sys; sys.path.insert(0, {here!r}); import test_wasip2_sockets as t; "
            "sys.stdout.write(t.run('wasmtime', ['1'])); sys.stdout.flush()")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src")))  # fmt: skip
    assert r.stdout.decode() == DENIED_ALL


@pytest.mark.parametrize("tier", ["interp", "llvm"])
def test_loopback_allowed(tier: str) -> None:
    def allow(w: Any) -> None:
        w.allow_tcp("127.0.0.1")
        w.allow_udp("127.0.0.0/8")
        w.allow_ip_name_lookup()

    with echo_server() as (port, seen):
        lines = run(tier, [str(port)], allow).splitlines()
    assert lines[0].startswith("lookup localhost: 127.0.0.1 among ")
    assert lines[1] == "tcp connect 127.0.0.1:echo: reply pong:ping"
    assert lines[2] == ("tcp listen 127.0.0.1:0: listening on a port, connect to it: accepted the "
                        "right peer, server got hello server, client got hello client, shutdown, "
                        "server sees the end")  # fmt: skip
    assert lines[3] == "udp 127.0.0.1: sent 1, received 1: datagram from the sender"
    assert lines[4] == "tcp connect 10.255.255.1:9: error access-denied"
    assert lines[5] == ("misuse: finish-bind first: error not-in-progress, listen unbound: error "
                        "invalid-state, accept unbound: error invalid-state")  # fmt: skip
    assert seen == [b"ping"]


def test_allow_list_by_port() -> None:
    with echo_server() as (port, seen):
        out = run("interp", [str(port)], lambda w: w.allow_tcp("127.0.0.1", port)).splitlines()
        assert out[1] == "tcp connect 127.0.0.1:echo: reply pong:ping"
        assert out[2] == "tcp listen 127.0.0.1:0: error access-denied"  # port 0 is not allowed
        assert out[3] == "udp 127.0.0.1: error access-denied"  # no UDP rule
        other = run("interp", [str(port)], lambda w: w.allow_tcp("127.0.0.1", port + 1)).splitlines()
        assert other[1] == "tcp connect 127.0.0.1:echo: error access-denied"
        assert seen == [b"ping"]


def test_name_lookup_without_network() -> None:
    out = run("interp", ["1", "127.0.0.1"], lambda w: w.allow_ip_name_lookup()).splitlines()
    assert out[0] == "lookup 127.0.0.1: 127.0.0.1 among 1 addresses"
    out = run("interp", ["1", "bad name!"], lambda w: w.allow_ip_name_lookup()).splitlines()
    assert out[0] == "lookup bad name!: error invalid-argument"


def test_cli_flags() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    with echo_server() as (port, seen):
        base = [sys.executable, "-m", "nanoproc", "run", "--engine", "interp"]
        r = subprocess.run([*base, str(WASM / "p2sockets.wasm"), str(port)], capture_output=True,
                           env=env, timeout=300)  # fmt: skip
        assert r.stdout.decode() == DENIED_ALL, r.stderr
        r = subprocess.run([*base, "-W", "timeout=30s", "-S", "inherit-network,allow-ip-name-lookup",
                            str(WASM / "p2sockets.wasm"), str(port)], capture_output=True, env=env,
                           timeout=300)  # fmt: skip
        lines = r.stdout.decode().splitlines()
        assert lines[1] == "tcp connect 127.0.0.1:echo: reply pong:ping", r.stderr
        assert lines[3].startswith("udp 127.0.0.1: sent 1")
        r = subprocess.run([*base, "-S", f"allow-tcp=127.0.0.1:{port}", str(WASM / "p2sockets.wasm"),
                            str(port)], capture_output=True, env=env, timeout=300)  # fmt: skip
        lines = r.stdout.decode().splitlines()
        assert lines[1] == "tcp connect 127.0.0.1:echo: reply pong:ping", r.stderr
        assert lines[2] == "tcp listen 127.0.0.1:0: error access-denied"
    assert seen == [b"ping", b"ping"]


def test_config_refuses_bad_rules() -> None:
    import nanoproc

    w = nanoproc.WasiConfig()
    for bad in (lambda: w.allow_tcp("not an ip"), lambda: w.allow_udp("1.2.3.4", 70000),
                lambda: w.allow_tcp("*")):  # fmt: skip
        with pytest.raises(nanoproc.WasmtimeError):
            bad()
