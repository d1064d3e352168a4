"""``wasi:http/outgoing-handler``: requests leave only for allowed authorities.

The handler component's ``/fetch/AUTHORITY/PATH`` route sends ``GET
http://AUTHORITY/PATH`` and answers ``upstream STATUS: BODY``, or 502 ``error N``
with the error-code's case number (6 connection-refused, 15 HTTP-request-denied).
The upstream is a standard-library HTTP server on loopback.
"""

from __future__ import annotations

import http.server
import io
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from serve_harness import HANDLER_WASM, get, make_handler

DENIED, REFUSED = b"error 15\n", b"error 6\n"


@contextmanager
def upstream() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            body = f"hi from upstream {self.path} host={self.headers['host']}".encode()
            self.send_response(203)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def _req(path: str) -> object:
    from nanoproc.internal.host.wasip2.http import IncomingRequest

    return IncomingRequest("get", path, "http", "localhost", [], b"")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("tier", ["interp", "llvm"])
def test_allowed_request_goes_out(tier: str) -> None:
    with upstream() as (port, seen):
        h = make_handler(tier, log=io.StringIO(), http_hosts=(f"127.0.0.1:{port}",))
        for _ in range(2):  # and again: nothing of the first request is left over
            r = h.handle(_req(f"/fetch/127.0.0.1:{port}/a/b?c=d"))
            assert r.status == 200, r.body
            assert r.body == f"upstream 203: hi from upstream /a/b?c=d host=127.0.0.1:{port}".encode()
        assert seen == ["/a/b?c=d"] * 2


@pytest.mark.parametrize("allow", [(), ("127.0.0.2",), ("localhost",), ("127.0.0.1:1",)])
def test_denied_unless_allowed(allow: tuple[str, ...]) -> None:
    with upstream() as (port, seen):
        h = make_handler("interp", log=io.StringIO(), http_hosts=allow)
        r = h.handle(_req(f"/fetch/127.0.0.1:{port}/secret"))
        assert (r.status, r.body) == (502, DENIED)
        assert seen == []  # no connection was made


def test_host_without_port_and_wildcard() -> None:
    with upstream() as (port, seen):
        for allow in ("127.0.0.1", "*"):
            h = make_handler("interp", log=io.StringIO(), http_hosts=(allow,))
            assert h.handle(_req(f"/fetch/127.0.0.1:{port}/x")).status == 200
        assert seen == ["/x", "/x"]


def test_connection_refused_is_an_error_code() -> None:
    port = _free_port()
    h = make_handler("interp", log=io.StringIO(), http_hosts=(f"127.0.0.1:{port}",))
    r = h.handle(_req(f"/fetch/127.0.0.1:{port}/x"))
    assert (r.status, r.body) == (502, REFUSED)


def test_allow_list_rules() -> None:
    from nanoproc.internal.host.wasip2.http_client import allowed, split_authority

    assert split_authority("[::1]:8080", 80) == ("::1", 8080)
    assert split_authority("Example.COM", 443) == ("example.com", 443)
    assert allowed(("example.com",), "example.com", 8443)
    assert not allowed(("example.com:80",), "example.com", 8443)
    assert not allowed(("example.com",), "evil.example.com", 80)
    assert not allowed((), "example.com", 80)
    with pytest.raises(ValueError):
        split_authority("host:port", 80)


def test_serve_cli_allow_http_host() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    with upstream() as (port, seen):
        p = subprocess.Popen([sys.executable, "-m", "nanoproc", "serve", "--addr", "127.0.0.1:0",
                              "--engine", "interp", "-S", f"allow-http-host=127.0.0.1:{port}",
                              str(HANDLER_WASM)], stderr=subprocess.PIPE, env=env)  # fmt: skip
        try:
            assert p.stderr is not None
            line = p.stderr.readline().decode()
            sport = int(line.rsplit(":", 1)[1].strip("/\n"))
            status, body, _ = get(sport, f"/fetch/127.0.0.1:{port}/via-cli")
            assert status == 200 and body.startswith(b"upstream 203: hi from upstream /via-cli")
            assert get(sport, "/fetch/127.0.0.1:1/x")[1] == DENIED
        finally:
            p.send_signal(2)
            p.communicate(timeout=60)
        assert seen == ["/via-cli"]
