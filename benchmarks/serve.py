#!/usr/bin/env python3
"""``nanoproc serve`` against the same handler under wasmtime-py, side by side.

    python benchmarks/serve.py                      # 3 rounds of 3000 requests, 16 clients
    python benchmarks/serve.py --requests 10000 --repeat 5 --engine interp

Both servers run the handler component of tests/wasip2 (``wasm/p2handler.wasm``,
source ``src/p2handler.c``) with a fresh instance per request, in their own
process, on loopback:

* ``nanoproc``: ``python -m nanoproc serve`` (its HTTP/1.1 server, a thread per
  connection, a new store and instance per request from the pre-linked template);
* ``wasmtime-py``: a minimal Python HTTP server (``http.server.ThreadingHTTPServer``
  with keep-alive) that, per request, makes a new ``wasmtime.Store``, instantiates
  the component with wasmtime-py's component ``Linker`` and calls its
  ``wasi:http/incoming-handler`` ``handle``; the ``wasi:http/types`` functions the
  handler imports are Python host functions (wasmtime-py gives Python no way to
  create an ``incoming-request`` for its own ``add_wasi_http``).

One client process drives both the same way: ``--clients`` threads on keep-alive
connections send ``GET /bench/...`` and check every answer's status and body.
Rounds alternate between the servers so that load on the (shared) machine hits
both alike; the table shows the median requests per second and the ratio
``nanoproc / wasmtime-py`` (> 1: nanoproc serves more). Issue 15's target: >= 2x.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HANDLER = ROOT / "tests" / "wasip2" / "wasm" / "p2handler.wasm"


# ---------------------------------------------------------------- the baseline server
def baseline_server() -> None:
    """wasmtime-py + http.server: prints ``port N`` and serves until killed."""
    import http.server
    from dataclasses import dataclass, field

    import wasmtime
    from wasmtime.component import Component, Linker, ResourceHost, ResourceType, Variant

    engine = wasmtime.Engine()
    component = Component.from_file(engine, str(HANDLER))
    T = 0x4854_0000
    FIELDS, REQ, BODY_IN, TRAILERS, RESP, BODY_OUT, OUTPARAM = (T + i for i in range(7))
    IN_STREAM, OUT_STREAM, ERROR = T + 7, T + 8, T + 9
    local = threading.local()

    @dataclass
    class Req:
        method: str
        path: str
        body: bytes
        consumed: bool = False

    @dataclass
    class Resp:  # the outgoing-response, and its outgoing-body
        status: int = 200
        headers: list[tuple[str, bytes]] = field(default_factory=list)
        chunks: list[bytes] = field(default_factory=list)
        finished: bool = False

    def objs() -> dict[int, Any]:
        return local.objs  # type: ignore[no-any-return]

    def own(obj: Any, ty: int) -> ResourceHost:
        local.next += 1
        objs()[local.next] = obj
        return ResourceHost.own(local.next, ty)

    def rep(ctx: Any, h: Any) -> int:
        return int(h.rep if isinstance(h, ResourceHost) else h.to_host(ctx).rep)

    def get(ctx: Any, h: Any) -> Any:
        return objs()[rep(ctx, h)]

    def take(ctx: Any, h: Any) -> Any:
        return objs().pop(rep(ctx, h))

    def dtor(ctx: Any, rep: int) -> None:
        objs().pop(rep, None)

    def fields_append(ctx: Any, f: Any, name: str, value: bytes) -> None:
        get(ctx, f).append((name.lower(), bytes(value)))

    def read(ctx: Any, s: Any, n: int) -> Any:
        st = get(ctx, s)
        if st[1] >= len(st[0]):
            return Variant("err", Variant("closed"))
        chunk = st[0][st[1]:st[1] + n]
        st[1] += len(chunk)
        return Variant("ok", chunk)

    def write(ctx: Any, s: Any, data: bytes) -> Any:
        get(ctx, s).chunks.append(bytes(data))
        return Variant("ok")

    def ibody_stream(ctx: Any, b: Any) -> Any:
        return own([get(ctx, b), 0], IN_STREAM)

    def ibody_finish(ctx: Any, b: Any) -> Any:
        take(ctx, b)
        return own(None, TRAILERS)

    def consume(ctx: Any, r: Any) -> Any:
        req = get(ctx, r)
        req.consumed = True
        return own(req.body, BODY_IN)

    def resp_new(ctx: Any, headers: Any) -> Any:
        return own(Resp(headers=take(ctx, headers)), RESP)

    def set_status(ctx: Any, r: Any, code: int) -> Any:
        get(ctx, r).status = code
        return Variant("ok")

    def outparam_set(ctx: Any, param: Any, response: Any) -> None:
        take(ctx, param)
        local.response = None if isinstance(response, Variant) else take(ctx, response)

    funcs = {
        "wasi:http/types@0.2.12": {
            "[constructor]fields": lambda ctx: own([], FIELDS),
            "[method]fields.append": fields_append,
            "[method]incoming-request.method": lambda ctx, r: Variant(get(ctx, r).method),
            "[method]incoming-request.path-with-query": lambda ctx, r: get(ctx, r).path,
            "[method]incoming-request.consume": consume,
            "[method]incoming-body.stream": ibody_stream,
            "[static]incoming-body.finish": ibody_finish,
            "[constructor]outgoing-response": resp_new,
            "[method]outgoing-response.set-status-code": set_status,
            "[method]outgoing-response.body": lambda ctx, r: own(get(ctx, r), BODY_OUT),
            "[method]outgoing-body.write": lambda ctx, r: own(get(ctx, r), OUT_STREAM),
            "[static]outgoing-body.finish": lambda ctx, b, t: setattr(take(ctx, b), "finished", True),
            "[static]response-outparam.set": outparam_set,
        },
        "wasi:io/streams@0.2.12": {
            "[method]input-stream.blocking-read": read,
            "[method]output-stream.blocking-write-and-flush": write,
        },
        "wasi:io/error@0.2.12": {},
    }
    resources = {
        "wasi:http/types@0.2.12": {"fields": FIELDS, "headers": FIELDS, "incoming-request": REQ,
                                   "incoming-body": BODY_IN, "future-trailers": TRAILERS,
                                   "outgoing-response": RESP, "outgoing-body": BODY_OUT,
                                   "response-outparam": OUTPARAM, "input-stream": IN_STREAM,
                                   "output-stream": OUT_STREAM},
        "wasi:io/streams@0.2.12": {"input-stream": IN_STREAM, "output-stream": OUT_STREAM,
                                   "error": ERROR},
        "wasi:io/error@0.2.12": {"error": ERROR},
    }  # fmt: skip
    resources["wasi:io/poll@0.2.12"] = {"pollable": T + 10}
    resources["wasi:http/types@0.2.12"].update(
        {"outgoing-request": T + 11, "future-incoming-response": T + 12,
         "incoming-response": T + 13, "request-options": T + 14, "pollable": T + 10})
    resources["wasi:http/outgoing-handler@0.2.12"] = {
        "outgoing-request": T + 11, "future-incoming-response": T + 12, "request-options": T + 14}
    linker = Linker(engine)
    with linker.root() as root:
        for iface, res in resources.items():
            with root.add_instance(iface) as inst:
                for rname, rid in res.items():
                    inst.add_resource(rname, ResourceType.host(rid), dtor)
                for name, fn in funcs.get(iface, {}).items():
                    inst.add_func(name, fn)
    # the handler's other routes (/fetch: outgoing requests) are never called here
    linker.define_unknown_imports_as_traps(component)

    def run(method: str, path: str, body: bytes) -> tuple[int, list[tuple[str, bytes]], bytes]:
        local.objs = {}
        local.next = 0
        local.response = None
        store = wasmtime.Store(engine)
        try:
            instance = linker.instantiate(store, component)
            idx = instance.get_export_index(store, "wasi:http/incoming-handler@0.2.12")
            func = instance.get_func(store, instance.get_export_index(store, "handle", idx))
            func(store, own(Req(method, path, body), REQ), own(None, OUTPARAM))
            r = local.response
            if r is None or not r.finished:
                return 500, [], b"internal server error\n"
            return r.status, r.headers, b"".join(r.chunks)
        except Exception as e:  # noqa: BLE001 - a failing request is a 500
            if os.environ.get("SERVE_BENCH_DEBUG"):
                print(f"request failed: {e}", file=sys.stderr)
            return 500, [], b"internal server error\n"

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            n = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(n) if n else b""
            status, headers, out = run(self.command.lower(), self.path, body)
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v.decode("latin-1"))
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = _serve  # noqa: N815

    http.server.ThreadingHTTPServer.request_queue_size = 1024
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------- servers and the client
def start(which: str, engine: str | None) -> tuple[subprocess.Popen[bytes], int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if which == "nanoproc":
        cmd = [sys.executable, "-m", "nanoproc", "serve", "--addr", "127.0.0.1:0", str(HANDLER)]
        if engine:
            cmd[4:4] = ["--engine", engine]
        p = subprocess.Popen(cmd, stderr=subprocess.PIPE, env=env)
        assert p.stderr is not None
        line = p.stderr.readline().decode()
        if not line.startswith("Serving HTTP on"):
            raise SystemExit(f"nanoproc serve did not start: {line}")
        threading.Thread(target=_drain, args=(p.stderr,), daemon=True).start()
        return p, int(line.rsplit(":", 1)[1].strip("/\n"))
    p = subprocess.Popen([sys.executable, __file__, "--baseline-server"], stdout=subprocess.PIPE,
                         env=env)  # fmt: skip
    assert p.stdout is not None
    line = p.stdout.readline().decode()
    if not line.startswith("port "):
        raise SystemExit(f"the wasmtime-py server did not start: {line!r}")
    return p, int(line.split()[1])


SERVER_LOG: list[str] = []
"""What nanoproc serve printed after starting (a failing request's reason)."""


def _drain(stream: Any) -> None:
    for raw in stream:
        SERVER_LOG.append(raw.decode(errors="replace").rstrip())


def _client(port: int, n: int, ident: int, errors: list[str]) -> None:
    """``n`` keep-alive GETs on one raw socket, each answer checked."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        for k in range(n):
            path = f"/bench/{ident}/{k}"
            s.sendall(f"GET {path} HTTP/1.1\r\nhost: bench\r\n\r\n".encode())
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buf) < length:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed in a body")
                buf += chunk
            body, buf = buf[:length], buf[length:]
            want = f"hello from a nanoprocess: GET {path} (request 1 of this instance)\n"
            if not head.startswith(b"HTTP/1.1 200") or body != want.encode():
                errors.append(f"{path}: {head[:40]!r} {body[:60]!r}")
    except OSError as e:
        errors.append(f"client {ident}: {e}")
    finally:
        s.close()


def drive(port: int, requests: int, clients: int) -> tuple[float, list[str]]:
    """Requests per second for ``requests`` GETs from ``clients`` connections."""
    errors: list[str] = []
    per = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=_client, args=(port, n, i, errors)) for i, n in enumerate(per)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return requests / (time.perf_counter() - t), errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engine", choices=("interp", "llvm"), default=None,
                    help="nanoproc's tier (default: its automatic choice)")
    ap.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_server:
        baseline_server()
        return 0
    servers = {name: start(name, args.engine) for name in ("nanoproc", "wasmtime-py")}
    rates: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for _p, port in servers.values():  # warm-up
            drive(port, min(400, args.requests), args.clients)
        for _ in range(args.repeat):
            for name, (_, port) in servers.items():
                rate, errors = drive(port, args.requests, args.clients)
                if errors:
                    raise SystemExit(f"{name}: {len(errors)} bad answers, e.g. {errors[:3]}; "
                                     f"server said: {SERVER_LOG[-3:]}")  # fmt: skip
                rates[name].append(rate)
    finally:
        for p, _ in servers.values():
            p.kill()
            p.wait()
    med = {name: statistics.median(r) for name, r in rates.items()}
    print(f"{args.requests} requests x {args.repeat} rounds, {args.clients} clients, "
          f"nanoproc engine: {args.engine or 'default'} (machine: {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"{'server':<14}{'median req/s':>14}   rounds")
    for name, r in rates.items():
        print(f"{name:<14}{med[name]:>14.0f}   {' '.join(f'{x:.0f}' for x in r)}")
    print(f"ratio nanoproc / wasmtime-py: {med['nanoproc'] / med['wasmtime-py']:.2f}x (target >= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
