"""Serving a ``wasi:http/incoming-handler`` component: one nanoprocess per request.

:class:`Handler` is the template: the component compiled once, its linker
(WASI 0.2 + ``wasi:http``) resolved once, the WASI settings frozen once. Each
request then gets a fresh :class:`~nanoproc.Store` and instance (nothing one
request does is seen by the next, as with ``wasmtime serve``), runs under its
own limits (fuel, timeout, memory size), and is torn down when it has answered.
A trap, an exhausted limit or a handler that never sets its response gives 500;
the server keeps serving.
"""

from __future__ import annotations

import sys
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from .http import INCOMING_REQUEST, RESPONSE_OUTPARAM, IncomingRequest, ResponseOutparam
from .state import state_for


@dataclass
class Response:
    status: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Limits:
    """Per-request limits (None: none)."""

    fuel: int | None = None
    timeout: float | None = None
    memory_size: int | None = None


class Handler:
    """A pre-linked handler component; :meth:`handle` runs one request in a fresh
    instance. Safe to call from many threads at once."""

    def __init__(self, engine: Any, component: Any, wasi: Any, limits: Limits | None = None,
                 log: Any = None) -> None:  # fmt: skip
        from ....api.component import Linker

        self.engine = engine
        self.component = component
        self.limits = limits or Limits()
        self.log = log if log is not None else sys.stderr
        exports = component._plan.info.type.exports
        names = [n for n in exports if n.startswith("wasi:http/incoming-handler@0.2.")]
        if not names:
            from ...errors import WasmtimeError

            raise WasmtimeError("component does not export "
                                "`wasi:http/incoming-handler@0.2.x`: not an HTTP handler")  # fmt: skip
        self.export = names[0]
        self.linker = Linker(engine)
        self.linker.add_wasip2()
        self.linker.add_wasi_http()
        self.settings = wasi._consume()
        self.live = 0
        """Requests running now (the load test checks it returns to 0)."""
        self.served = 0
        self.stores: weakref.WeakSet[Any] = weakref.WeakSet()
        """The stores of requests not yet freed (empty once requests are done:
        nothing of one request outlives it)."""
        self._lock = threading.Lock()

    def handle(self, request: IncomingRequest) -> Response:
        """Run ``request`` in a new instance; the response (500 on any failure)."""
        from ....api.store import Store

        with self._lock:
            self.live += 1
        store = Store(self.engine)
        try:
            st = store._state
            assert st is not None
            st.wasi = self.settings
            self.stores.add(st)
            lim = self.limits
            if lim.fuel is not None:
                store.set_fuel(lim.fuel)
            if lim.memory_size is not None:
                store.set_limits(memory_size=lim.memory_size)
            if lim.timeout is not None:
                store.set_timeout(lim.timeout)
            out = ResponseOutparam()
            try:
                instance = self.linker.instantiate(store, self.component)
                index = instance.get_export_index(store, self.export)
                handle = instance.get_export_index(store, "handle", index)
                func = None if handle is None else instance.get_func(store, handle)
                if func is None:
                    return self._fail(f"`{self.export}` has no `handle` function")
                p2 = state_for(store)
                func(store, p2.own(request, INCOMING_REQUEST), p2.own(out, RESPONSE_OUTPARAM))
            except Exception as e:  # noqa: BLE001 - any failure of the guest is a 500
                return self._fail(_one_line(e))
            return self._response(out)
        finally:
            store.close()
            with self._lock:
                self.live -= 1
                self.served += 1

    def _response(self, out: ResponseOutparam) -> Response:
        if not out.set:
            return self._fail("guest never invoked `response-outparam::set` method")
        resp = out.response
        if resp is None:
            return self._fail(f"guest answered with error {_describe(out.error)}")
        if not resp.body.finished:
            return self._fail("guest did not finish the response body")
        return Response(resp.status, list(resp.headers.entries), resp.body.data())

    def _fail(self, why: str) -> Response:
        try:
            self.log.write(f"error: request failed: {why}\n")
            self.log.flush()
        except (OSError, ValueError):
            pass
        return Response(500, [("content-type", b"text/plain")], b"internal server error\n")


def _one_line(e: BaseException) -> str:
    """The message's last line (a trap's "wasm trap: ..." after its backtrace)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__


def _describe(code: Any) -> str:
    tag = getattr(code, "tag", None)
    return str(tag if tag is not None else code)
