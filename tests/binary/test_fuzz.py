"""Fuzzing: arbitrary and mutated binaries raise DecodeError or decode, nothing else.

When they decode, the module must survive encode -> decode unchanged (a strong
check that decoder and encoder agree on every field the fuzzer reaches).
"""

from __future__ import annotations

import io
from functools import cache

from binary_spec_cases import VALID_TYPES, all_cases, json_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nanoproc.internal.binary import decode_body, decode_module
from nanoproc.internal.binary.encode import encode_module
from nanoproc.internal.errors import DecodeError
from nanoproc.internal.syntax.module import Module

HEADER = b"\x00asm\x01\x00\x00\x00"
FUZZ = settings(
    max_examples=400,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def comparable(m: Module) -> Module:
    for f in m.funcs:
        decode_body(f)
        f.offsets = None
        f.code_offset = 0
        f.lazy = None
    return m


def check(data: bytes) -> None:
    """Decode eagerly, lazily and from a stream: same outcome; round trip if valid."""
    outcomes = []
    for source, lazy in ((data, False), (data, True), (io.BytesIO(data), False)):
        try:
            m = decode_module(source, lazy=lazy)
            for f in m.funcs:
                decode_body(f)
        except DecodeError as e:
            outcomes.append(e.reason)
            continue
        outcomes.append("ok")
    # Lazy decoding may meet a different error first, but never a different verdict.
    assert (outcomes[0] == "ok") == (outcomes[1] == "ok") == (outcomes[2] == "ok"), outcomes
    assert outcomes[0] == outcomes[2], outcomes  # bytes and stream: the same message
    if outcomes[0] == "ok":
        m = decode_module(data, lazy=False)
        again = decode_module(encode_module(m), lazy=False)
        assert comparable(again) == comparable(m)


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.binary(max_size=200))
def test_random_sections_after_a_valid_header(data: bytes) -> None:
    check(HEADER + data)


@cache
def seeds() -> list[bytes]:
    """Small well-formed suite binaries to mutate (small keeps shrinking fast)."""
    json_dir()  # skips (or fails under NANOPROC_REQUIRE_SPEC=1) without the suite
    out = [c.data() for c in all_cases() if c.type in (*VALID_TYPES, "assert_invalid")]
    return sorted({d for d in out if len(d) <= 400})


_MUTATION = st.tuples(st.sampled_from(("flip", "set", "insert", "delete", "truncate")),
                      st.integers(0, 10_000), st.integers(0, 255))  # fmt: skip


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in edits:
        i = where % (len(buf) + 1)
        if kind == "insert":
            buf.insert(i, value)
        elif not buf:
            continue
        elif kind == "truncate":
            del buf[i:]
        else:
            i %= len(buf)
            if kind == "flip":
                buf[i] ^= 1 << (value & 7)
            elif kind == "set":
                buf[i] = value
            else:
                del buf[i]
    return bytes(buf)


@FUZZ
@given(data=st.data())
def _mutations(pool: list[bytes], data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(pool), label="seed")
    edits = data.draw(st.lists(_MUTATION, min_size=1, max_size=4), label="edits")
    check(mutate(seed, edits))


def test_mutated_suite_binaries() -> None:
    _mutations(seeds())
