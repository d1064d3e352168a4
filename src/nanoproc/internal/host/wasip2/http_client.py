"""``wasi:http/outgoing-handler``: the guest's outgoing HTTP requests, on the
standard library's ``http.client``.

A request goes out only to an authority the store's ``WasiConfig`` allows
(``allow_http_host``: ``host`` for any port, ``host:port``, or ``*``); any
other gets ``error-code.HTTP-request-denied`` at once, before a connection is
made. The scheme defaults to HTTPS when the guest sets none (as in wasmtime).

The request is sent from a worker thread once its body is finished (or at once
when the guest never takes the body), so ``future-incoming-response`` is a
real future: its pollable is ready when the response has arrived, and waiting
on it obeys the store's deadline. The response body is read whole (at most
:data:`MAX_RESPONSE_BODY` bytes) and then streamed to the guest from memory.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from typing import Any

from ...exec.component.values import Variant
from ...exec.trap import Trap
from ...threads import start_daemon
from .http import (
    FUTURE_INCOMING_RESPONSE,
    INCOMING_RESPONSE,
    Fields,
    IncomingBody,
    OutgoingRequest,
)
from .io import Pollable
from .state import P2State, state_for

MAX_RESPONSE_BODY = 64 << 20
"""Most bytes of a response body (more: ``HTTP-response-body-size``)."""
DEFAULT_TIMEOUT = 600.0
"""Seconds for connect / first byte / between bytes when the guest sets none."""
_SKIP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
                   "upgrade", "trailer"})  # fmt: skip


class IncomingResponse:
    def __init__(self, status: int, headers: list[tuple[str, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = Fields(headers, mutable=False)
        self.body: IncomingBody | None = IncomingBody(body)


class _Done(Pollable):
    def __init__(self, future: FutureResponse) -> None:
        self.future = future

    def ready(self) -> bool:
        return self.future.poll()

    def event(self) -> threading.Event | None:
        self.future.poll()
        return self.future.event if self.future.started else None


class FutureResponse:
    """The response to one outgoing request, arriving from a worker thread."""

    def __init__(self, request: OutgoingRequest, options: Any) -> None:
        self.request = request
        self.options = options
        self.event = threading.Event()
        self.result: Any = None  # IncomingResponse, or an error-code Variant
        self.started = False
        self.taken = False

    def poll(self) -> bool:
        """Start the request once its body is complete; whether it has finished."""
        body = self.request.body
        if not self.started and (body.finished or not self.request.body_taken):
            self.started = True
            start_daemon(self._send, "nanoproc-http")
        return self.event.is_set()

    def pollable(self) -> Pollable:
        return _Done(self)

    def get(self, p2: P2State) -> Any:
        """``option<result<result<incoming-response, error-code>>>``, in the Python
        forms the lowering takes: the option tagged, the results untagged."""
        if not self.poll():
            return Variant("none")
        if self.taken:
            return Variant("some", None)
        self.taken = True
        if isinstance(self.result, IncomingResponse):
            return Variant("some", p2.own(self.result, INCOMING_RESPONSE))
        return Variant("some", self.result)

    def _send(self) -> None:
        try:
            self.result = send(self.request, self.options)
        except BaseException as e:  # noqa: BLE001 - every failure is an error-code
            self.result = Variant("internal-error", f"{type(e).__name__}: {e}")
        finally:
            self.event.set()


def _timeout(options: Any, attr: str) -> float:
    ns = getattr(options, attr, None) if options is not None else None
    return DEFAULT_TIMEOUT if ns is None else max(ns / 1e9, 0.001)


def send(req: OutgoingRequest, options: Any) -> Any:
    """Perform ``req``: an IncomingResponse, or an error-code Variant."""
    host, port, tls = target(req)
    method = req.method.tag.upper() if req.method.tag != "other" else str(req.method.payload)
    headers: dict[str, list[bytes]] = {}
    for k, v in req.headers.entries:
        headers.setdefault(k, []).append(v)
    conn_cls = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=_timeout(options, "connect"))
    try:
        try:
            conn.connect()
        except socket.gaierror as e:
            return Variant("DNS-error", {"rcode": str(e.strerror or e), "info-code": None})
        except ConnectionRefusedError:
            return Variant("connection-refused")
        except TimeoutError:
            return Variant("connection-timeout")
        except ssl.SSLCertVerificationError:
            return Variant("TLS-certificate-error")
        except ssl.SSLError:
            return Variant("TLS-protocol-error")
        except OSError as e:
            return Variant("destination-unavailable" if e.errno else "internal-error",
                           None if e.errno else str(e))  # fmt: skip
        if conn.sock is not None:
            conn.sock.settimeout(_timeout(options, "first_byte"))
        conn.putrequest(method, req.path or "/", skip_host=True, skip_accept_encoding=True)
        conn.putheader("host", req.authority or host)
        for k, vs in headers.items():
            for v in vs:
                conn.putheader(k, v)
        body = req.body.data()
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("content-length", str(len(body)))
        conn.endheaders(body or None)
        try:
            resp = conn.getresponse()
            if conn.sock is not None:
                conn.sock.settimeout(_timeout(options, "between"))
            data = resp.read(MAX_RESPONSE_BODY + 1)
        except TimeoutError:
            return Variant("HTTP-response-timeout")
        except http.client.IncompleteRead:
            return Variant("HTTP-response-incomplete")
        except (http.client.HTTPException, ConnectionError):
            return Variant("HTTP-protocol-error")
        if len(data) > MAX_RESPONSE_BODY:
            return Variant("HTTP-response-body-size", MAX_RESPONSE_BODY)
        hdrs = [(k.lower(), v.encode("latin-1")) for k, v in resp.getheaders()
                if k.lower() not in _SKIP]  # fmt: skip
        return IncomingResponse(resp.status, hdrs, data)
    finally:
        conn.close()


def target(req: OutgoingRequest) -> tuple[str, int, bool]:
    """(host, port, TLS?) of the request; ValueError for an unusable URI."""
    scheme = req.scheme
    tag = scheme.tag if isinstance(scheme, Variant) else "HTTPS"
    if tag == "other":
        raise ValueError(f"unsupported scheme {scheme.payload!r}")
    tls = tag == "HTTPS"
    auth = req.authority
    if not auth:
        raise ValueError("no authority")
    host, port = split_authority(auth, 443 if tls else 80)
    return host, port, tls


def split_authority(auth: str, default_port: int) -> tuple[str, int]:
    if auth.startswith("["):
        host, _, rest = auth[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = auth.rpartition(":") if ":" in auth else (auth, "", "")
    if port_text and not port_text.isdigit():
        raise ValueError("bad port")
    port = int(port_text) if port_text else default_port
    if not host or port > 65535:
        raise ValueError("bad authority")
    return host.lower(), port


def allowed(allow: tuple[str, ...], host: str, port: int) -> bool:
    for entry in allow:
        if entry == "*":
            return True
        try:
            h, p = split_authority(entry, -1)
        except ValueError:
            continue
        if h == host and p in (-1, port):
            return True
    return False


def outgoing_handle(store: Any, request: Any, options: Any) -> Any:
    """``handle(request, options) -> result<future-incoming-response, error-code>``
    (untagged: the future's handle, or the error-code Variant)."""
    p2 = state_for(store)
    req = p2.get(request)
    if not isinstance(req, OutgoingRequest):
        raise Trap("expected an outgoing-request handle")
    p2.objects.pop(request.rep if hasattr(request, "rep") else request._rep, None)
    opts = None
    if options is not None:
        if isinstance(options, Variant):
            options = options.payload
        if options is not None:
            opts = p2.get(options)
            p2.objects.pop(options.rep if hasattr(options, "rep") else options._rep, None)
    try:
        host, port, _ = target(req)
    except ValueError:
        return Variant("HTTP-request-URI-invalid")
    settings = store._state.wasi
    allow: tuple[str, ...] = getattr(settings, "http_hosts", ()) if settings is not None else ()
    if not allowed(allow, host, port):
        return Variant("HTTP-request-denied")
    return p2.own(FutureResponse(req, opts), FUTURE_INCOMING_RESPONSE)
