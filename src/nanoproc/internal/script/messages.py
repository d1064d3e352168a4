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
    # The reference interpreter names the kind of the null reference; wasmtime (and
    # nanoproc's TrapCode.NULL_REFERENCE) report every null dereference alike.
    "null function reference": ("null reference",),
    "null structure reference": ("null reference",),
    "null array reference": ("null reference",),
    "null i31 reference": ("null reference",),
    "null exception reference": ("null reference",),
    # wasmtime prefixes some traps of its component adapters with "wasm trap: ";
    # nanoproc's component traps carry no prefix, as its core traps carry none.
    "wasm trap: list content out-of-bounds": ("list content out-of-bounds",),
    "wasm trap: unaligned pointer": ("unaligned pointer",),
}
"""Spec text -> accepted alternatives (substring matches on the actual message)."""


def message_matches(expected: str, actual: str) -> bool:
    """True if ``actual`` reports the failure the spec describes as ``expected``."""
    if expected in actual:
        return True
    return any(alt in actual for alt in ALIASES.get(expected, ()))
