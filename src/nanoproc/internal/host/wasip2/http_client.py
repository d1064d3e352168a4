"""``wasi:http/outgoing-handler``: the guest's outgoing HTTP requests.

Denied unless the host allows the request's authority: every request gets
``error-code.HTTP-request-denied`` while no allow-list is configured.
"""

from __future__ import annotations

from typing import Any

from ...exec.component.values import Variant
from .http import OutgoingRequest
from .state import err, state_for


def outgoing_handle(store: Any, request: Any, options: Any) -> Variant:
    """``handle(request, options) -> result<future-incoming-response, error-code>``."""
    p2 = state_for(store)
    req = p2.get(request)
    if not isinstance(req, OutgoingRequest):
        from ...exec.trap import Trap

        raise Trap("expected an outgoing-request handle")
    p2.objects.pop(request.rep if hasattr(request, "rep") else request._rep, None)
    return err(Variant("HTTP-request-denied"))
