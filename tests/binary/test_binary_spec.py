"""The decoder and encoder against every binary module of the spec suite.

Per root script (parametrised, so pytest-xdist spreads the work):

* every well-formed module (module, module_definition, assert_unlinkable,
  assert_uninstantiable, and assert_invalid: invalid is not malformed) decodes,
  from bytes and from a file, lazily and eagerly, with identical results;
* every assert_malformed binary raises DecodeError whose message starts with the
  suite's text; the streaming decoder reports the same message at the same offset,
  and lazy decoding raises too (at decode time or when the bodies are forced);
* encode(decode(b)) == b, except for inputs that are not canonical (padded LEB128s,
  empty sections, explicit memory index 0): there the encoding must be strictly
  shorter, decode back to an equal module, and be a fixed point.

``test_spec_totals`` reports the counts for the whole suite.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter

import pytest
from binary_spec_cases import VALID_TYPES, Case, all_cases, script_cases, script_params, spec_json

from nanoproc.internal.binary import decode_body, decode_module
from nanoproc.internal.binary.encode import encode_module
from nanoproc.internal.errors import DecodeError
from nanoproc.internal.syntax.module import Module

__all__ = ["spec_json"]  # the session fixture, imported for pytest to find

WELL_FORMED = (*VALID_TYPES, "assert_invalid")


def forced(m: Module) -> Module:
    for f in m.funcs:
        decode_body(f)
    return m


def comparable(m: Module) -> Module:
    """Forget where things were in the binary (offsets) and the lazy hooks."""
    forced(m)
    for f in m.funcs:
        f.offsets = None
        f.code_offset = 0
        f.lazy = None
    return m


def malformed_error(data: bytes, *, stream: bool = False, lazy: bool = False) -> DecodeError | None:
    try:
        forced(decode_module(io.BytesIO(data) if stream else data, lazy=lazy))
    except DecodeError as e:
        return e
    return None


def check_well_formed(case: Case) -> None:
    data = case.data()
    eager = decode_module(data, lazy=False)
    lazy = forced(decode_module(data))
    streamed = decode_module(io.BytesIO(data), lazy=False)
    for other in (lazy, streamed):
        assert [f.body for f in other.funcs] == [f.body for f in eager.funcs], case.where
        assert [list(f.offsets or ()) for f in other.funcs] == [
            list(f.offsets or ()) for f in eager.funcs
        ], case.where
    assert comparable(lazy) == comparable(eager) == comparable(streamed), case.where


def check_malformed(case: Case) -> str | None:
    """None if the module is rejected as the suite says, else what went wrong."""
    data = case.data()
    err = malformed_error(data)
    if err is None:
        return f"{case.where}: accepted, expected {case.text!r}"
    assert case.text is not None
    if not err.reason.startswith(case.text):
        return f"{case.where}: {err.reason!r}, expected {case.text!r}"
    streamed = malformed_error(data, stream=True)
    if streamed is None or (streamed.reason, streamed.offset) != (err.reason, err.offset):
        return f"{case.where}: streaming gave {streamed}, bytes gave {err}"
    if malformed_error(data, lazy=True) is None:
        return f"{case.where}: accepted with lazy bodies"
    return None


def round_trip(case: Case) -> str:
    """``identical`` or ``canonicalised``; raises AssertionError otherwise."""
    data = case.data()
    encoded = encode_module(decode_module(data, lazy=False))
    if encoded == data:
        return "identical"
    assert len(encoded) < len(data), f"{case.where}: re-encoding is not shorter"
    again = decode_module(encoded, lazy=False)
    assert encode_module(again) == encoded, f"{case.where}: encoding is not a fixed point"
    assert comparable(again) == comparable(decode_module(data, lazy=False)), case.where
    return "canonicalised"


@pytest.mark.parametrize("script", script_params())
def test_well_formed_modules_decode(script: str, spec_json: object) -> None:
    cases = [c for c in script_cases(script) if c.type in WELL_FORMED]
    for case in cases:
        check_well_formed(case)


@pytest.mark.parametrize("script", script_params())
def test_malformed_modules_rejected(script: str, spec_json: object) -> None:
    problems = [
        p for c in script_cases(script) if c.type == "assert_malformed" if (p := check_malformed(c))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("script", script_params())
def test_round_trip(script: str, spec_json: object) -> None:
    for case in script_cases(script):
        if case.type in WELL_FORMED:
            round_trip(case)


def test_spec_totals(spec_json: object) -> None:
    """Counts over the whole suite (the per-script tests above give the details)."""
    counts: Counter[str] = Counter()
    problems = []
    for case in all_cases():
        if case.type == "assert_malformed":
            p = check_malformed(case)
            counts["malformed rejected" if p is None else "malformed NOT rejected as expected"] += 1
            if p:
                problems.append(p)
        elif case.type in WELL_FORMED:
            counts["well-formed decoded"] += 1
            counts[f"round trip {round_trip(case)}"] += 1
    summary = "binary spec: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(summary)
    # A plain UserWarning, so pytest shows it even from an xdist worker (a custom
    # category would have to be importable by the controller process).
    warnings.warn(summary, UserWarning, stacklevel=1)
    assert not problems, "\n".join(problems)
    assert counts["malformed rejected"] > 0 and counts["round trip identical"] > 0
