"""``wasi:http/types`` (WASI 0.2): requests, responses, fields and bodies.

The host objects behind the resources of ``wasi:http/types@0.2.x``. Bodies are
buffered: an incoming body is the request's bytes (read by the server before
the handler runs, bounded), an outgoing body collects what the guest writes (up
to :data:`MAX_BODY`); the server sends it when the handler has returned, so a
response is all or nothing (a trap after ``response-outparam.set`` still gives
500, never half a body with status 200).

Field names are validated as HTTP tokens and stored lower-case (as wasmtime's
header map does); values must not contain CR, LF or NUL. The headers a host
forbids a guest to set (hop-by-hop ones, ``host``) are refused with
``header-error.forbidden`` as in wasmtime's default hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...exec.component.values import Variant
from ...exec.trap import Trap
from .io import Closed, InStream, OutStream, Pollable
from .state import ERROR, INPUT_STREAM, OUTPUT_STREAM, POLLABLE, IoError, P2State, err, ok

FIELDS, INCOMING_REQUEST, OUTGOING_REQUEST = 0x5732_0011, 0x5732_0012, 0x5732_0013
REQUEST_OPTIONS, RESPONSE_OUTPARAM, INCOMING_RESPONSE = 0x5732_0014, 0x5732_0015, 0x5732_0016
INCOMING_BODY, FUTURE_TRAILERS, OUTGOING_RESPONSE = 0x5732_0017, 0x5732_0018, 0x5732_0019
OUTGOING_BODY, FUTURE_INCOMING_RESPONSE = 0x5732_001A, 0x5732_001B

MAX_BODY = 64 << 20
"""Most bytes a guest may write to one outgoing body (more: the write fails)."""
MAX_FIELDS = 1 << 12
"""Most entries one fields resource holds (more: ``invalid-syntax``)."""

FORBIDDEN = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                       "proxy-connection", "te", "transfer-encoding", "upgrade", "host",
                       "http2-settings"})  # fmt: skip
"""Headers a guest may not set (wasmtime's default forbidden headers)."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
METHODS = ("get", "head", "post", "put", "delete", "connect", "options", "trace", "patch")
_BAD_VALUE = re.compile(rb"[\r\n\0]")


class HeaderError(Exception):
    def __init__(self, case: str) -> None:
        self.case = case


class Fields:
    """A header (or trailer) map: ordered (lower-case name, value) entries."""

    def __init__(self, entries: list[tuple[str, bytes]] | None = None, mutable: bool = True) -> None:
        self.entries: list[tuple[str, bytes]] = entries if entries is not None else []
        self.mutable = mutable

    def check_change(self, name: str) -> str:
        if not self.mutable:
            raise HeaderError("immutable")
        key = valid_name(name)
        if key in FORBIDDEN:
            raise HeaderError("forbidden")
        return key

    def get(self, name: str) -> list[bytes]:
        key = name.lower()
        return [v for k, v in self.entries if k == key]

    def set(self, name: str, values: list[bytes]) -> None:
        key = self.check_change(name)
        vals = [valid_value(v) for v in values]
        self.entries = [(k, v) for k, v in self.entries if k != key]
        self._add([(key, v) for v in vals])

    def append(self, name: str, value: bytes) -> None:
        key = self.check_change(name)
        self._add([(key, valid_value(value))])

    def delete(self, name: str) -> None:
        key = self.check_change(name)
        self.entries = [(k, v) for k, v in self.entries if k != key]

    def _add(self, new: list[tuple[str, bytes]]) -> None:
        if len(self.entries) + len(new) > MAX_FIELDS:
            raise HeaderError("invalid-syntax")
        self.entries.extend(new)

    def copy(self, mutable: bool = True) -> Fields:
        return Fields(list(self.entries), mutable)


def valid_name(name: str) -> str:
    if not _TOKEN.match(name):
        raise HeaderError("invalid-syntax")
    return name.lower()


def valid_value(value: Any) -> bytes:
    data = bytes(value)
    if _BAD_VALUE.search(data) or data[:1] in (b" ", b"\t") or data[-1:] in (b" ", b"\t"):
        raise HeaderError("invalid-syntax")
    return data


class BytesInStream(InStream):
    """An input stream over a buffered body."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def read(self, n: int) -> bytes:
        if self.pos >= len(self.data):
            if n:
                raise Closed
            return b""
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += len(chunk)
        return chunk


class IncomingBody:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.streamed = False


class IncomingRequest:
    """What the server parsed; ``method`` lower-case, ``headers`` immutable."""

    def __init__(self, method: str, path: str | None, scheme: str | None, authority: str | None,
                 headers: list[tuple[str, bytes]], body: bytes) -> None:  # fmt: skip
        self.method = method
        self.path = path
        self.scheme = scheme
        self.authority = authority
        self.headers = Fields(headers, mutable=False)
        self.body: IncomingBody | None = IncomingBody(body)


class OutgoingBody:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.stream_taken = False
        self.finished = False
        self.trailers: Fields | None = None

    def data(self) -> bytes:
        return b"".join(self.chunks)


class BodyOutStream(OutStream):
    """The output stream of an outgoing body: appends to it, up to MAX_BODY."""

    def __init__(self, body: OutgoingBody) -> None:
        self.body = body

    def write(self, data: bytes) -> None:
        body = self.body
        if body.finished:
            raise Closed
        if body.size + len(data) > MAX_BODY:
            from ..wasi.errno import Errno, WasiError

            raise WasiError(Errno.FBIG)
        body.chunks.append(data)
        body.size += len(data)


class OutgoingResponse:
    def __init__(self, headers: Fields) -> None:
        self.status = 200
        self.headers = headers
        headers.mutable = False
        self.body = OutgoingBody()
        self.body_taken = False


class ResponseOutparam:
    """Where ``response-outparam.set`` puts the guest's answer: an
    OutgoingResponse, or the error-code Variant."""

    def __init__(self) -> None:
        self.response: OutgoingResponse | None = None
        self.error: Any = None
        self.set = False


class FutureTrailers:
    def __init__(self) -> None:
        self.taken = False


class OutgoingRequest:
    def __init__(self, headers: Fields) -> None:
        self.method: Any = Variant("get")
        self.path: str | None = None
        self.scheme: Any = None
        self.authority: str | None = None
        self.headers = headers
        headers.mutable = False
        self.body = OutgoingBody()
        self.body_taken = False


class RequestOptions:
    def __init__(self) -> None:
        self.connect: int | None = None
        self.first_byte: int | None = None
        self.between: int | None = None


def method_of(v: Any) -> tuple[str, str | None]:
    """A ``method`` (or ``scheme``) argument as (tag, payload of ``other``)."""
    if isinstance(v, Variant):
        return v.tag, v.payload
    return str(v), None


def method_variant(name: str) -> Variant:
    low = name.lower()
    return Variant(low) if low in METHODS else Variant("other", name)


def scheme_variant(name: str) -> Variant:
    up = name.upper()
    return Variant(up) if up in ("HTTP", "HTTPS") else Variant("other", name)


def define(p2_of: Callable[[Any], P2State], http: dict[str, Any],
           outgoing: Callable[[Any, Any, Any], Any] | None = None) -> None:  # fmt: skip
    """Fill ``http["types"]``; ``outgoing(store, request, options)`` is the
    outgoing-handler's ``handle`` (see :mod:`.http_client`)."""

    def take(p2: P2State, handle: Any, cls: type) -> Any:
        """An owned handle the guest passed to the host: it leaves the table."""
        obj = p2.get(handle)
        if not isinstance(obj, cls):
            raise Trap(f"expected a {cls.__name__} handle")
        p2.objects.pop(handle.rep if hasattr(handle, "rep") else handle._rep, None)
        return obj

    def guarded(fn: Callable[..., Any]) -> Callable[..., Variant | None]:
        def method(store: Any, self: Any, *args: Any) -> Variant | None:
            f = p2_of(store).get(self)
            try:
                fn(f, *args)
            except HeaderError as e:
                return Variant(e.case)  # result<_, header-error>: the error alone
            return None

        return method

    def fields_new(store: Any) -> Any:
        return p2_of(store).own(Fields(), FIELDS)

    def fields_from_list(store: Any, entries: list[tuple[str, bytes]]) -> Any:
        f = Fields()
        try:
            for name, value in entries:
                key = valid_name(name)
                if key in FORBIDDEN:
                    raise HeaderError("forbidden")
                f._add([(key, valid_value(value))])
        except HeaderError as e:
            return Variant(e.case)  # result<fields, header-error> is untagged
        return p2_of(store).own(f, FIELDS)

    def fields_get(store: Any, self: Any, name: str) -> list[bytes]:
        return p2_of(store).get(self).get(name)

    def fields_has(store: Any, self: Any, name: str) -> bool:
        return bool(p2_of(store).get(self).get(name))

    def fields_entries(store: Any, self: Any) -> list[tuple[str, bytes]]:
        return list(p2_of(store).get(self).entries)

    def fields_clone(store: Any, self: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(p2.get(self).copy(), FIELDS)

    # --- incoming-request
    def req(store: Any, self: Any) -> IncomingRequest:
        obj = p2_of(store).get(self)
        if not isinstance(obj, IncomingRequest):
            raise Trap("expected an incoming-request handle")
        return obj

    def req_method(store: Any, self: Any) -> Variant:
        return method_variant(req(store, self).method)

    def req_path(store: Any, self: Any) -> Any:
        return req(store, self).path

    def req_scheme(store: Any, self: Any) -> Any:
        s = req(store, self).scheme
        return None if s is None else scheme_variant(s)

    def req_authority(store: Any, self: Any) -> Any:
        return req(store, self).authority

    def req_headers(store: Any, self: Any) -> Any:
        return p2_of(store).own(req(store, self).headers.copy(mutable=False), FIELDS)

    def req_consume(store: Any, self: Any) -> Variant:
        r = req(store, self)
        if r.body is None:
            return err()
        body, r.body = r.body, None
        return ok(p2_of(store).own(body, INCOMING_BODY))

    # --- incoming-body, future-trailers
    def ibody_stream(store: Any, self: Any) -> Variant:
        p2 = p2_of(store)
        body = p2.get(self)
        if body.streamed:
            return err()
        body.streamed = True
        return ok(p2.own(BytesInStream(body.data), INPUT_STREAM))

    def ibody_finish(store: Any, this: Any) -> Any:
        p2 = p2_of(store)
        take(p2, this, IncomingBody)
        return p2.own(FutureTrailers(), FUTURE_TRAILERS)

    def trailers_subscribe(store: Any, self: Any) -> Any:
        p2 = p2_of(store)
        p2.get(self)
        return p2.own(Pollable(), POLLABLE)

    def trailers_get(store: Any, self: Any) -> Any:
        t = p2_of(store).get(self)
        # option<result<result<option<trailers>, error-code>>>: the option and the
        # inner result are untagged, the outer result (both cases None) tagged
        if t.taken:
            return err()
        t.taken = True
        return ok(None)

    # --- outgoing-response, outgoing-body
    def resp_new(store: Any, headers: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(OutgoingResponse(take(p2, headers, Fields)), OUTGOING_RESPONSE)

    def resp_status(store: Any, self: Any) -> int:
        return int(p2_of(store).get(self).status)

    def resp_set_status(store: Any, self: Any, code: int) -> Variant:
        r = p2_of(store).get(self)
        if not 100 <= code <= 999:
            return err()
        r.status = code
        return ok()

    def resp_headers(store: Any, self: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(p2.get(self).headers.copy(mutable=False), FIELDS)

    def resp_body(store: Any, self: Any) -> Variant:
        p2 = p2_of(store)
        r = p2.get(self)
        if r.body_taken:
            return err()
        r.body_taken = True
        return ok(p2.own(r.body, OUTGOING_BODY))

    def obody_write(store: Any, self: Any) -> Variant:
        p2 = p2_of(store)
        body = p2.get(self)
        if body.stream_taken:
            return err()
        body.stream_taken = True
        return ok(p2.own(BodyOutStream(body), OUTPUT_STREAM))

    def obody_finish(store: Any, this: Any, trailers: Any) -> Variant | None:
        p2 = p2_of(store)
        body = take(p2, this, OutgoingBody)
        if trailers is not None:
            if isinstance(trailers, Variant):
                trailers = trailers.payload
            body.trailers = take(p2, trailers, Fields)
        body.finished = True
        return None  # result<_, error-code>: ok is None (the cases' classes differ)

    def outparam_set(store: Any, param: Any, response: Any) -> None:
        p2 = p2_of(store)
        out = take(p2, param, ResponseOutparam)
        # result<outgoing-response, error-code> arrives untagged: the handle, or
        # the error-code Variant
        if isinstance(response, Variant) and response.tag in ("ok", "err"):
            response = response.payload
        if isinstance(response, Variant):
            out.error = response
        else:
            out.response = take(p2, response, OutgoingResponse)
        out.set = True

    def http_error_code(store: Any, e: Any) -> Any:
        obj = p2_of(store).get(e)
        code = getattr(obj, "http_error", None)
        return code

    # --- outgoing-request, request-options
    def oreq(store: Any, self: Any) -> OutgoingRequest:
        obj = p2_of(store).get(self)
        if not isinstance(obj, OutgoingRequest):
            raise Trap("expected an outgoing-request handle")
        return obj

    def oreq_new(store: Any, headers: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(OutgoingRequest(take(p2, headers, Fields)), OUTGOING_REQUEST)

    def oreq_body(store: Any, self: Any) -> Variant:
        r = oreq(store, self)
        if r.body_taken:
            return err()
        r.body_taken = True
        return ok(p2_of(store).own(r.body, OUTGOING_BODY))

    def oreq_set_method(store: Any, self: Any, m: Any) -> Variant:
        tag, payload = method_of(m)
        if tag == "other" and not _TOKEN.match(payload or ""):
            return err()
        oreq(store, self).method = Variant(tag) if payload is None else Variant(tag, payload)
        return ok()

    def oreq_set_path(store: Any, self: Any, path: Any) -> Variant:
        if path is not None and (not path.isprintable() or " " in path):
            return err()
        oreq(store, self).path = path
        return ok()

    def oreq_set_scheme(store: Any, self: Any, scheme: Any) -> Variant:
        if isinstance(scheme, Variant) and scheme.tag in ("none", "some"):
            scheme = scheme.payload
        if scheme is not None:
            tag, payload = method_of(scheme)
            if tag == "other" and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", payload or ""):
                return err()
        oreq(store, self).scheme = scheme
        return ok()

    def oreq_set_authority(store: Any, self: Any, auth: Any) -> Variant:
        if auth is not None and (not auth.isprintable() or any(c in auth for c in " /?#@")):
            return err()
        oreq(store, self).authority = auth
        return ok()

    def oreq_scheme(store: Any, self: Any) -> Any:
        return oreq(store, self).scheme

    def oreq_headers(store: Any, self: Any) -> Any:
        return p2_of(store).own(oreq(store, self).headers.copy(mutable=False), FIELDS)

    def opts_new(store: Any) -> Any:
        return p2_of(store).own(RequestOptions(), REQUEST_OPTIONS)

    def opt_get(attr: str) -> Callable[[Any, Any], Any]:
        def get(store: Any, self: Any) -> Any:
            return getattr(p2_of(store).get(self), attr)

        return get

    def opt_set(attr: str) -> Callable[[Any, Any, Any], Variant]:
        def set_(store: Any, self: Any, value: Any) -> Variant:
            if isinstance(value, Variant):
                value = value.payload
            setattr(p2_of(store).get(self), attr, value)
            return ok()

        return set_

    # --- incoming-response, future-incoming-response (filled by the client)
    def iresp_status(store: Any, self: Any) -> int:
        return int(p2_of(store).get(self).status)

    def iresp_headers(store: Any, self: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(p2.get(self).headers.copy(mutable=False), FIELDS)

    def iresp_consume(store: Any, self: Any) -> Variant:
        p2 = p2_of(store)
        r = p2.get(self)
        if r.body is None:
            return err()
        body, r.body = r.body, None
        return ok(p2.own(body, INCOMING_BODY))

    def future_subscribe(store: Any, self: Any) -> Any:
        p2 = p2_of(store)
        return p2.own(p2.get(self).pollable(), POLLABLE)

    def future_get(store: Any, self: Any) -> Any:
        return p2_of(store).get(self).get(p2_of(store))

    m = "[method]"
    http["types"] = {
        "http-error-code": http_error_code,
        "[constructor]fields": fields_new, "[static]fields.from-list": fields_from_list,
        m + "fields.get": fields_get, m + "fields.has": fields_has,
        m + "fields.set": guarded(Fields.set), m + "fields.delete": guarded(Fields.delete),
        m + "fields.append": guarded(Fields.append), m + "fields.entries": fields_entries,
        m + "fields.clone": fields_clone,
        m + "incoming-request.method": req_method,
        m + "incoming-request.path-with-query": req_path,
        m + "incoming-request.scheme": req_scheme,
        m + "incoming-request.authority": req_authority,
        m + "incoming-request.headers": req_headers,
        m + "incoming-request.consume": req_consume,
        "[constructor]outgoing-request": oreq_new, m + "outgoing-request.body": oreq_body,
        m + "outgoing-request.method": lambda store, self: oreq(store, self).method,
        m + "outgoing-request.set-method": oreq_set_method,
        m + "outgoing-request.path-with-query": lambda store, self: oreq(store, self).path,
        m + "outgoing-request.set-path-with-query": oreq_set_path,
        m + "outgoing-request.scheme": oreq_scheme,
        m + "outgoing-request.set-scheme": oreq_set_scheme,
        m + "outgoing-request.authority": lambda store, self: oreq(store, self).authority,
        m + "outgoing-request.set-authority": oreq_set_authority,
        m + "outgoing-request.headers": oreq_headers,
        "[constructor]request-options": opts_new,
        m + "request-options.connect-timeout": opt_get("connect"),
        m + "request-options.set-connect-timeout": opt_set("connect"),
        m + "request-options.first-byte-timeout": opt_get("first_byte"),
        m + "request-options.set-first-byte-timeout": opt_set("first_byte"),
        m + "request-options.between-bytes-timeout": opt_get("between"),
        m + "request-options.set-between-bytes-timeout": opt_set("between"),
        "[static]response-outparam.set": outparam_set,
        m + "incoming-response.status": iresp_status,
        m + "incoming-response.headers": iresp_headers,
        m + "incoming-response.consume": iresp_consume,
        m + "incoming-body.stream": ibody_stream, "[static]incoming-body.finish": ibody_finish,
        m + "future-trailers.subscribe": trailers_subscribe, m + "future-trailers.get": trailers_get,
        "[constructor]outgoing-response": resp_new,
        m + "outgoing-response.status-code": resp_status,
        m + "outgoing-response.set-status-code": resp_set_status,
        m + "outgoing-response.headers": resp_headers,
        m + "outgoing-response.body": resp_body,
        m + "outgoing-body.write": obody_write, "[static]outgoing-body.finish": obody_finish,
        m + "future-incoming-response.subscribe": future_subscribe,
        m + "future-incoming-response.get": future_get,
    }  # fmt: skip
    if outgoing is not None:
        http["outgoing-handler"] = {"handle": outgoing}


RESOURCES = {
    "types": {"fields": FIELDS, "headers": FIELDS, "trailers": FIELDS,
              "incoming-request": INCOMING_REQUEST,
              "outgoing-request": OUTGOING_REQUEST, "request-options": REQUEST_OPTIONS,
              "response-outparam": RESPONSE_OUTPARAM, "incoming-response": INCOMING_RESPONSE,
              "incoming-body": INCOMING_BODY, "future-trailers": FUTURE_TRAILERS,
              "outgoing-response": OUTGOING_RESPONSE, "outgoing-body": OUTGOING_BODY,
              "future-incoming-response": FUTURE_INCOMING_RESPONSE,
              "input-stream": INPUT_STREAM, "output-stream": OUTPUT_STREAM,
              "io-error": ERROR, "pollable": POLLABLE},
    "outgoing-handler": {"outgoing-request": OUTGOING_REQUEST,
                         "request-options": REQUEST_OPTIONS,
                         "future-incoming-response": FUTURE_INCOMING_RESPONSE},
}  # fmt: skip

__all__ = ["define", "RESOURCES", "IncomingRequest", "ResponseOutparam", "IoError"]
