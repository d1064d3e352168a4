"""``wasi:http`` incoming handlers: a fresh instance per request, limits per request,
failures answered with 500 while the server keeps serving, and a load test.

The load test runs ``NANOPROC_SERVE_LOAD`` requests (default 600, for CI) from 16
concurrent keep-alive clients; ``NANOPROC_SERVE_LOAD=10000`` is the full run.
"""

from __future__ import annotations

import gc
import io
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from serve_harness import HANDLER_WASM, get, load, make_handler, serving

TIERS = ["interp", "llvm"]


def _req(method: str, path: str, body: bytes = b"", headers: list[tuple[str, bytes]] = ()) -> object:  # type: ignore[assignment]
    from nanoproc.internal.host.wasip2.http import IncomingRequest

    return IncomingRequest(method, path, "http", "localhost", list(headers), body)


@pytest.mark.parametrize("tier", TIERS)
def test_each_request_gets_a_fresh_instance(tier: str) -> None:
    h = make_handler(tier, log=io.StringIO())
    for i in range(3):
        r = h.handle(_req("get", f"/x{i}?q=1"))
        assert r.status == 200
        assert r.headers == [("content-type", b"text/plain")]
        assert r.body == f"hello from a nanoprocess: GET /x{i}?q=1 (request 1 of this instance)\n".encode()
    assert h.live == 0 and h.served == 3
    gc.collect()
    assert len(h.stores) == 0  # nothing of a finished request stays alive


@pytest.mark.parametrize("tier", TIERS)
def test_failures_answer_500_and_serving_goes_on(tier: str) -> None:
    log = io.StringIO()
    h = make_handler(tier, fuel=5_000_000, log=log)
    for path in ("/trap", "/loop", "/trap"):
        r = h.handle(_req("get", path))
        assert r.status == 500 and r.body == b"internal server error\n"
        ok = h.handle(_req("get", "/after"))
        assert ok.status == 200 and b"(request 1 of this instance)" in ok.body
    text = log.getvalue()
    assert "wasm trap: wasm `unreachable` instruction executed" in text
    assert "all fuel consumed" in text
    gc.collect()
    assert h.live == 0 and len(h.stores) == 0


def test_timeout_per_request() -> None:
    h = make_handler("interp", timeout=0.5, log=io.StringIO())
    t = time.monotonic()
    assert h.handle(_req("get", "/loop")).status == 500
    assert time.monotonic() - t < 30
    assert h.handle(_req("get", "/")).status == 200  # the next request has its own time


@pytest.mark.parametrize("tier", TIERS)
def test_memory_limit_per_request(tier: str) -> None:
    h = make_handler(tier, memory_size=8 << 20, log=io.StringIO())
    r = h.handle(_req("get", "/grow"))
    assert (r.status, r.body) == (507, b"memory refused\n")
    unlimited = make_handler(tier, log=io.StringIO())
    assert unlimited.handle(_req("get", "/grow")).body == b"grew\n"


@pytest.mark.parametrize("tier", TIERS)
def test_echo_and_status(tier: str) -> None:
    h = make_handler(tier, log=io.StringIO())
    body = bytes(range(256)) * 1000
    r = h.handle(_req("post", "/echo", body))
    assert r.status == 200 and r.body == body
    r = h.handle(_req("get", "/status/404"))
    assert (r.status, r.body) == (404, b"")


def test_fields_rules() -> None:
    from nanoproc.internal.host.wasip2.http import Fields, HeaderError

    f = Fields()
    f.append("X-Thing", b"1")
    f.append("x-thing", b"2")
    assert f.get("X-THING") == [b"1", b"2"]
    for name, value, case in (("bad name", b"v", "invalid-syntax"), ("x", b"a\r\nb", "invalid-syntax"),
                              ("connection", b"close", "forbidden"), ("host", b"h", "forbidden")):  # fmt: skip
        with pytest.raises(HeaderError) as e:
            f.append(name, value)
        assert e.value.case == case
    frozen = f.copy(mutable=False)
    with pytest.raises(HeaderError) as e:
        frozen.delete("x-thing")
    assert e.value.case == "immutable"


def test_http_server_keep_alive_and_bad_requests() -> None:
    h = make_handler("interp", log=io.StringIO())
    with serving(h) as server:
        port = server.address[1]
        status, body, headers = get(port, "/a?b=c")
        assert status == 200 and body.endswith(b"GET /a?b=c (request 1 of this instance)\n")
        assert get(port, "/echo", "POST", b"x" * 70000)[1] == b"x" * 70000
        assert get(port, "/trap")[0] == 500
        assert get(port, "/status/204")[0] == 204
        for raw, want in ((b"NONSENSE\r\n\r\n", b" 400 "), (b"GET / HTTP/1.1\r\nbad\r\n\r\n", b" 400 "),
                          (b"GET / HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\n", b" 413 "),
                          (b"GET / HTTP/1.1\r\nx: " + b"y" * 70000 + b"\r\n\r\n", b" 431 ")):  # fmt: skip
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(raw)
                assert want in s.recv(4096).split(b"\r\n")[0] + b" "
        # two requests in one packet on one connection (pipelining)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /one HTTP/1.1\r\nhost: x\r\n\r\nGET /two HTTP/1.1\r\nconnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 2 and b"GET /two" in data
        assert get(port, "/")[0] == 200
    assert h.live == 0


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


@pytest.mark.parametrize("tier", TIERS)
def test_load(tier: str) -> None:
    """No error, no instance left behind, memory bounded under concurrent load."""
    total = int(os.environ.get("NANOPROC_SERVE_LOAD", "600"))
    h = make_handler(tier, log=io.StringIO())
    with serving(h) as server:
        port = server.address[1]
        load(port, 200, 16)  # warm-up: caches, thread stacks, allocator pools
        before = _rss_kib()
        good, errors = load(port, total, 16)
        grown = _rss_kib() - before
    assert errors == []
    assert good == total
    assert h.live == 0
    gc.collect()
    assert len(h.stores) == 0
    assert grown < 64 * 1024, f"RSS grew by {grown} KiB over {total} requests"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 << 20  # KiB: < 2 GiB


def test_the_wakeup_byte_alone_stops_the_accept_loop() -> None:
    """A SIGINT's byte on the wakeup fd (what the C-level handler writes) ends
    serve_forever with KeyboardInterrupt even if no Python handler ever runs: CPython
    3.11 could leave `nanoproc serve` blocked in accept() after a Ctrl-C."""
    from nanoproc.internal.host.wasip2.server import Server

    def fail(request: object) -> None:
        raise RuntimeError("no handler here")

    server = Server(socket.create_server(("127.0.0.1", 0)), fail)
    seen: list[str] = []

    def run() -> None:
        try:
            server.serve_forever()
            seen.append("returned")
        except KeyboardInterrupt:
            seen.append("interrupted")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert get(server.address[1], "/x")[0] == 500  # serving (the handler fails)
    os.write(server.wakeup_fd, bytes([signal.SIGINT]))
    t.join(10)
    assert seen == ["interrupted"]
    server.stop()
    server.close()


def test_stop_wakes_the_accept_loop() -> None:
    from nanoproc.internal.host.wasip2.server import Server

    server = Server(socket.create_server(("127.0.0.1", 0)), lambda request: None)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    time.sleep(0.05)
    server.stop()
    t.join(10)
    assert not t.is_alive()
    server.close()


def test_serve_cli() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    p = subprocess.Popen([sys.executable, "-m", "nanoproc", "serve", "--addr", "127.0.0.1:0",
                          "--engine", "interp", "-W", "fuel=10000000", str(HANDLER_WASM)],
                         stderr=subprocess.PIPE, env=env)  # fmt: skip
    try:
        assert p.stderr is not None
        line = p.stderr.readline().decode()
        assert line.startswith("Serving HTTP on http://127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1].strip("/\n"))
        assert get(port, "/hi")[1] == b"hello from a nanoprocess: GET /hi (request 1 of this instance)\n"
        assert get(port, "/loop")[0] == 500
        assert get(port, "/hi")[0] == 200
    finally:
        p.send_signal(2)
        out = p.communicate(timeout=60)[1]
    assert p.returncode == 130
    assert b"all fuel consumed" in out and b"Traceback" not in out


def test_serve_cli_refusals(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    core = tmp_path / "m.wat"
    core.write_text("(module)")
    cmd = Path(__file__).resolve().parent / "wasm" / "p2command.wasm"
    for args, want in (([str(core)], b"this is a core module"),
                       ([str(cmd)], b"not an HTTP handler"),
                       (["--addr", "nope", str(HANDLER_WASM)], b"expected HOST:PORT"),
                       ([str(tmp_path / "missing.wasm")], b"No such file")):  # fmt: skip
        r = subprocess.run([sys.executable, "-m", "nanoproc", "serve", *args], capture_output=True,
                           env=env, timeout=300)  # fmt: skip
        assert r.returncode == 1, r.stderr
        assert want in r.stderr and b"Traceback" not in r.stderr


def test_a_failing_handler_answers_500(capfd: pytest.CaptureFixture[str]) -> None:
    """A bug in the host's handler (not the guest) still gets an answer."""

    class Broken:
        def handle(self, request: object) -> object:
            raise RuntimeError("boom")

    with serving(Broken()) as server:  # type: ignore[arg-type]
        port = server.address[1]
        assert get(port, "/")[0] == 500
        assert get(port, "/")[0] == 500  # and the server goes on
    assert "request failed in the server: RuntimeError: boom" in capfd.readouterr().err
