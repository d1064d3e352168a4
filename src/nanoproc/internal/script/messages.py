"""Matching the spec's expected failure text against an engine's error message.

An engine passes when the spec's text is contained in its message, as wasmtime's
wast runner checks. Where engines legitimately word a failure differently from the
reference interpreter, :data:`ALIASES` lists the accepted alternatives. Keep the
table small: every entry is a documented difference of wording, never of meaning.
"""

from __future__ import annotations

ALIASES: dict[str, tuple[str, ...]] = {
    # The reference interpreter appends the element index; engines need not.
    "uninitialized element 2": ("uninitialized element",),
    "uninitialized element": ("uninitialized element", "null reference"),
    # wasmtime reports an indirect call through a null entry of a typed table as a null
    # reference, and one past the table end as out of bounds table access.
    "undefined element": ("out of bounds table access", "undefined element"),
    # The reference interpreter names the element index; the cause is the same.
    "unknown import": ("unknown import", "incompatible import type"),
    # wasmparser names a bad UTF-8 name "malformed UTF-8 encoding" too, but some of its
    # binary-reader checks say "invalid UTF-8 encoding".
    "malformed UTF-8 encoding": ("malformed UTF-8 encoding", "invalid UTF-8 encoding"),
}
"""Spec text -> accepted alternatives (substring matches on the actual message)."""


def message_matches(expected: str, actual: str) -> bool:
    """True if ``actual`` reports the failure the spec describes as ``expected``."""
    if expected in actual:
        return True
    return any(alt in actual for alt in ALIASES.get(expected, ()))
