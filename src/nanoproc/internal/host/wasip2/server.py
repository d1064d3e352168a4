"""A small HTTP/1.1 server for ``nanoproc serve``: a thread per connection.

It parses requests itself (request line, headers, a body by ``content-length``
or ``chunked``, keep-alive) so that a request costs little besides the guest's
own run, and bounds everything a client controls: header size, body size, the
number of connections served at once (more wait in the listen backlog), idle
time. A malformed request gets 400 (or 413/431/501) and the connection is closed;
nothing a client sends can stop the server.
"""

from __future__ import annotations

import selectors
import signal
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from ...threads import start_daemon
from .http import IncomingRequest

MAX_HEAD = 64 << 10
"""Most bytes of request line plus headers."""
MAX_REQUEST_BODY = 16 << 20
"""Most bytes of a request body."""
IDLE_TIMEOUT = 30.0
"""Seconds a keep-alive connection may sit idle (or a request trickle in)."""

_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length",
                  "proxy-connection", "te", "upgrade", "trailer"})  # fmt: skip
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class BadRequest(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class Server:
    """Serves ``handle(IncomingRequest) -> Response`` on a listening socket."""

    def __init__(self, sock: socket.socket, handle: Callable[[IncomingRequest], Any],
                 max_connections: int = 128) -> None:  # fmt: skip
        self.sock = sock
        self.handle = handle
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stopping = False
        self.connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        # The accept loop waits on the listening socket and on this pair: stop() writes
        # to it, and so does the C-level signal handler once it is the wakeup fd.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    @property
    def wakeup_fd(self) -> int:
        """For ``signal.set_wakeup_fd``: a signal then wakes the accept loop, and a
        SIGINT stops it with KeyboardInterrupt. The wake does not depend on the Python
        handler running in time (CPython 3.11 can leave a main thread blocked in a
        call after a signal whose handler it has not run yet), so serve loops on it."""
        return self._wake_w.fileno()

    def serve_forever(self) -> None:
        """Accept connections until :meth:`stop` (returns) or a SIGINT arriving through
        :attr:`wakeup_fd` (raises KeyboardInterrupt); each connection runs in its own
        thread."""
        self.sock.setblocking(False)  # readiness can be stale: accept must not block
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._woken():
                if not self.slots.acquire(timeout=0.25):
                    continue  # every connection slot busy: look at the wake pair again
                try:
                    ready = {key.fileobj for key, _ in sel.select()}
                    conn = self.sock.accept()[0] if self.sock in ready else None
                except OSError:  # stale readiness, or the socket closed by stop()
                    conn = None
                if conn is None:
                    self.slots.release()
                    continue
                with self._lock:
                    self.connections.add(conn)
                start_daemon(self._connection, "nanoproc-serve", conn)

    def _woken(self) -> bool:
        """Whether to leave the accept loop (after a stop), reading the wake pair."""
        try:
            data = self._wake_r.recv(512)
        except (BlockingIOError, InterruptedError):
            data = b""
        except OSError:
            return True
        if signal.SIGINT in data:
            raise KeyboardInterrupt
        return self.stopping

    def stop(self) -> None:
        self.stopping = True
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # full (already woken) or closed
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self._lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Release the wake pair, once the accept loop has ended and the pair is no
        longer the signal wakeup fd (a signal must never write to a reused fd)."""
        self._wake_r.close()
        self._wake_w.close()

    def _connection(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(IDLE_TIMEOUT)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = _Reader(conn)
            while not self.stopping:
                try:
                    parsed = read_request(reader)
                except BadRequest as e:
                    _send(conn, e.status, [("content-type", b"text/plain")],
                          f"{e}\n".encode(), close=True)  # fmt: skip
                    return
                if parsed is None:
                    return
                request, keep = parsed
                try:
                    resp = self.handle(request)
                except Exception as e:  # noqa: BLE001 - a bug must not kill the connection silently
                    _log(f"error: request failed in the server: {type(e).__name__}: {e}")
                    _send(conn, 500, [("content-type", b"text/plain")],
                          b"internal server error\n", close=True)  # fmt: skip
                    return
                head_only = request.method == "head"
                _send(conn, resp.status, resp.headers, resp.body, close=not keep,
                      head_only=head_only)  # fmt: skip
                if not keep:
                    return
        except OSError:
            pass
        finally:
            with self._lock:
                self.connections.discard(conn)
            try:
                conn.close()
            finally:
                self.slots.release()


class _Reader:
    """Buffered reads from a socket."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buf = bytearray()

    def fill(self) -> bool:
        data = self.conn.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def until(self, sep: bytes, limit: int, status: int) -> bytes | None:
        """Bytes up to and including ``sep``; None at a clean end of stream."""
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i > limit:
                raise BadRequest(status, "request header too large")
            if i >= 0:
                out = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > limit:
                raise BadRequest(status, "request header too large")
            start = max(0, len(self.buf) - len(sep) + 1)
            if not self.fill():
                if self.buf:
                    raise BadRequest(400, "connection closed in the middle of a request")
                return None

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self.fill():
                raise BadRequest(400, "connection closed in the middle of a request body")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def read_request(r: _Reader) -> tuple[IncomingRequest, bool] | None:
    """The next request on the connection and whether to keep it open after."""
    head = r.until(b"\r\n\r\n", MAX_HEAD, 431)
    if head is None:
        return None
    lines = head[:-4].split(b"\r\n")
    while lines and not lines[0]:  # tolerate empty lines before a request
        lines.pop(0)
    if not lines:
        raise BadRequest(400, "empty request")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise BadRequest(400, "malformed request line")
    try:
        method = parts[0].decode("ascii")
        target = parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest(400, "request line is not ASCII") from None
    if not method.isalpha() or not target or not target.isprintable():
        raise BadRequest(400, "malformed request line")
    headers: list[tuple[str, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, "malformed header line")
        try:
            key = name.decode("ascii").lower()
        except UnicodeDecodeError:
            raise BadRequest(400, "header name is not ASCII") from None
        headers.append((key, value.strip(b" \t")))
    fields = dict(headers)
    version = parts[2]
    conn = fields.get("connection", b"").lower()
    keep = b"close" not in conn if version == b"HTTP/1.1" else b"keep-alive" in conn
    te = fields.get("transfer-encoding")
    if te is not None:
        if te.lower() != b"chunked":
            raise BadRequest(501, "transfer-encoding other than chunked")
        body = _chunked(r)
    else:
        length = fields.get("content-length", b"0")
        if not length.isdigit():
            raise BadRequest(400, "bad content-length")
        n = int(length)
        if n > MAX_REQUEST_BODY:
            raise BadRequest(413, "request body too large")
        body = r.exactly(n)
    path = target
    authority = fields.get("host", b"").decode("latin-1") or None
    if "://" in target:  # absolute-form
        rest = target.split("://", 1)[1]
        auth, slash, p = rest.partition("/")
        authority, path = auth, slash + p or "/"
    kept = [(k, v) for k, v in headers if k not in _HOP]
    return IncomingRequest(method.lower(), path, "http", authority, kept, body), keep


def _chunked(r: _Reader) -> bytes:
    out = bytearray()
    while True:
        line = r.until(b"\r\n", 4096, 400)
        if line is None:
            raise BadRequest(400, "connection closed in a chunked body")
        size_text = line[:-2].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequest(400, "bad chunk size") from None
        if size == 0:
            while True:  # trailers, up to the empty line
                t = r.until(b"\r\n", MAX_HEAD, 431)
                if t is None or t == b"\r\n":
                    return bytes(out)
        if len(out) + size > MAX_REQUEST_BODY:
            raise BadRequest(413, "request body too large")
        out += r.exactly(size)
        if r.exactly(2) != b"\r\n":
            raise BadRequest(400, "bad chunk")


def _log(line: str) -> None:
    import sys

    try:
        sys.stderr.write(line.replace("\n", " ") + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def _send(conn: socket.socket, status: int, headers: list[tuple[str, bytes]], body: bytes,
          close: bool, head_only: bool = False) -> None:  # fmt: skip
    out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode("ascii")]
    for k, v in headers:
        if k not in _HOP:
            out.append(k.encode("ascii") + b": " + v + b"\r\n")
    out.append(b"content-length: %d\r\n" % len(body))
    if close:
        out.append(b"connection: close\r\n")
    out.append(b"\r\n")
    if not head_only:
        out.append(body)
    conn.sendall(b"".join(out))
