"""A served handler component for the ``serve`` tests and benchmarks/serve.py: the
template (:class:`Handler`) and a :class:`Server` on a loopback port in a thread."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HANDLER_WASM = HERE / "wasm" / "p2handler.wasm"


def make_handler(strategy: str, fuel: int | None = None, timeout: float | None = None,
                 memory_size: int | None = None, log: Any = None,
                 http_hosts: tuple[str, ...] = ()) -> Any:  # fmt: skip
    import nanoproc
    from nanoproc.component import Component
    from nanoproc.internal.host.wasip2.serve import Handler, Limits

    cfg = nanoproc.Config()
    cfg.strategy = strategy
    cfg.consume_fuel = fuel is not None
    cfg.epoch_interruption = timeout is not None
    engine = nanoproc.Engine(cfg)
    component = Component(engine, HANDLER_WASM.read_bytes())
    wasi = nanoproc.WasiConfig()
    for authority in http_hosts:
        wasi.allow_http_host(authority)
    return Handler(engine, component, wasi, Limits(fuel, timeout, memory_size), log=log)


@contextmanager
def serving(handler: Any, max_connections: int = 64) -> Iterator[Any]:
    """A Server for ``handler`` on 127.0.0.1 (a free port), stopped afterwards."""
    from nanoproc.internal.host.wasip2.server import Server

    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    server = Server(sock, handler.handle, max_connections)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield server
    finally:
        server.stop()
        t.join(10)
        server.close()


def get(port: int, path: str, method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read(), r.headers
    finally:
        conn.close()


def load(port: int, requests: int, clients: int) -> tuple[int, list[str]]:
    """``requests`` GETs from ``clients`` keep-alive connections at once; the count
    of correct answers and the failures seen."""
    errors: list[str] = []
    done = [0]
    lock = threading.Lock()
    per = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]

    def client(n: int, i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ok = 0
        try:
            for k in range(n):
                path = f"/load/{i}/{k}"
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                want = f"hello from a nanoprocess: GET {path} (request 1 of this instance)\n"
                if r.status != 200 or body != want.encode():
                    with lock:
                        errors.append(f"{path}: {r.status} {body[:80]!r}")
                else:
                    ok += 1
        except Exception as e:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(f"client {i}: {type(e).__name__}: {e}")
        finally:
            conn.close()
            with lock:
                done[0] += ok

    threads = [threading.Thread(target=client, args=(n, i)) for i, n in enumerate(per)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], errors
