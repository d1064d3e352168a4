"""LEB128 reading and writing: exact byte limits, unused bits, extremes, truncation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanoproc.internal.binary.reader import (
    Malformed,
    read_len,
    read_name,
    read_s32,
    read_s64,
    read_sleb,
    read_u32,
    read_u64,
    read_uleb,
)
from nanoproc.internal.binary.writer import sleb, uleb

TOO_LONG = "integer representation too long"
TOO_LARGE = "integer too large"


@pytest.mark.parametrize(
    ("raw", "bits", "value"),
    [
        ("00", 32, 0),
        ("7f", 32, 127),
        ("8001", 32, 128),
        ("ffffffff0f", 32, 2**32 - 1),
        ("8080808000", 32, 0),  # padded to the maximum length: allowed
        ("ffffffffffffffffff01", 64, 2**64 - 1),
        ("80808080808080808000", 64, 0),
        ("01", 1, 1),
    ],
)
def test_uleb_values(raw: str, bits: int, value: int) -> None:
    data = bytes.fromhex(raw)
    assert read_uleb(data, 0, bits) == (value, len(data))


@pytest.mark.parametrize(
    ("raw", "bits", "message", "pos"),
    [
        ("808080808000", 32, TOO_LONG, 5),  # six bytes for a u32
        ("8080808080", 32, TOO_LONG, 5),  # the fifth byte continues
        ("ffffffff1f", 32, TOO_LARGE, 4),  # bit 32 set
        ("ffffffff4f", 32, TOO_LARGE, 4),
        ("8080808010", 32, TOO_LARGE, 4),  # the spec's "0x100000000 locals"
        ("ffffffffffffffffff02", 64, TOO_LARGE, 9),
        ("8080808080808080808000", 64, TOO_LONG, 10),
        ("02", 1, TOO_LARGE, 0),
    ],
)
def test_uleb_errors(raw: str, bits: int, message: str, pos: int) -> None:
    with pytest.raises(Malformed) as e:
        read_uleb(bytes.fromhex(raw), 0, bits)
    assert (e.value.message, e.value.pos) == (message, pos)


@pytest.mark.parametrize(
    ("raw", "bits", "value"),
    [
        ("00", 32, 0),
        ("3f", 32, 63),
        ("40", 32, -64),
        ("7f", 32, -1),
        ("c000", 32, 64),
        ("ffffffff07", 32, 2**31 - 1),
        ("8080808078", 32, -(2**31)),
        ("ffffffff7f", 32, -1),  # padded -1: sign bits all ones
        ("8080808000", 32, 0),
        ("ffffffff0f", 33, 2**32 - 1),
        ("8080808070", 33, -(2**32)),
        ("ffffffffffffffffff00", 64, 2**63 - 1),
        ("8080808080808080807f", 64, -(2**63)),
        ("ffffffffffffffffff7f", 64, -1),
    ],
)
def test_sleb_values(raw: str, bits: int, value: int) -> None:
    data = bytes.fromhex(raw)
    assert read_sleb(data, 0, bits) == (value, len(data))


@pytest.mark.parametrize(
    ("raw", "bits", "message"),
    [
        ("ffffffff0f", 32, TOO_LARGE),  # 2**32 - 1 is not an s32
        ("8080808070", 32, TOO_LARGE),  # unused bits not a sign extension
        ("ffffffff4f", 32, TOO_LARGE),
        ("8080808080", 32, TOO_LONG),
        ("ffffffffffffffffffff00", 64, TOO_LONG),
        ("ffffffffffffffffff01", 64, TOO_LARGE),
        ("80808080808080808041", 64, TOO_LARGE),
        ("ffffffff1f", 33, TOO_LARGE),
    ],
)
def test_sleb_errors(raw: str, bits: int, message: str) -> None:
    with pytest.raises(Malformed) as e:
        read_sleb(bytes.fromhex(raw), 0, bits)
    assert e.value.message == message


def test_truncated_leb_is_end_of_input() -> None:
    for reader in (read_u32, read_u64, read_s32, read_s64):
        with pytest.raises(IndexError):
            reader(b"\x80\x80", 0)


def test_readers_start_at_pos() -> None:
    assert read_u32(b"\xff\x81\x01\x00", 1) == (129, 3)
    assert read_s32(b"\xff\x7f", 1) == (-1, 2)


def test_lengths_must_fit_in_the_input() -> None:
    # As in the reference interpreter, the bytes left are counted from the length itself.
    assert read_len(b"\x02\x00", 0) == (2, 1)
    with pytest.raises(Malformed, match="length out of bounds"):
        read_len(b"\x03\x00", 0)


def test_names_are_strict_utf8() -> None:
    assert read_name(b"\x03\xe2\x8c\xa3", 0) == ("\u2323", 4)
    assert read_name(b"\x03\xef\xbb\xbf", 0) == ("\ufeff", 4)  # a BOM is just a character
    for bad in (b"\x02\xc0\x80", b"\x03\xed\xa0\x80", b"\x04\xf4\x90\x80\x80", b"\x01\x80"):
        with pytest.raises(Malformed, match="malformed UTF-8 encoding"):
            read_name(bad, 0)


def test_writers_are_minimal() -> None:
    assert uleb(0) == b"\x00"
    assert uleb(127) == b"\x7f"
    assert uleb(128) == b"\x80\x01"
    assert uleb(2**32 - 1) == bytes.fromhex("ffffffff0f")
    assert sleb(-1) == b"\x7f"
    assert sleb(63) == b"\x3f"
    assert sleb(64) == b"\xc0\x00"
    assert sleb(-64) == b"\x40"
    assert sleb(-65) == b"\xbf\x7f"
    assert sleb(-(2**63)) == bytes.fromhex("8080808080808080807f")


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_uleb_round_trip(v: int) -> None:
    raw = uleb(v)
    assert read_uleb(raw, 0, 64) == (v, len(raw))
    assert len(raw) == max(1, -(-v.bit_length() // 7))


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_sleb_round_trip(v: int) -> None:
    raw = sleb(v)
    assert read_sleb(raw, 0, 64) == (v, len(raw))
    bits = (v if v >= 0 else ~v).bit_length() + 1  # with the sign bit
    assert len(raw) == -(-bits // 7)


def _outcome(fn: object, data: bytes) -> object:
    try:
        return fn(data, 0)  # type: ignore[operator]
    except Malformed as e:
        return ("malformed", e.message, e.pos)
    except IndexError:
        return "end"


@given(st.binary(min_size=1, max_size=7))
def test_unrolled_readers_agree_with_the_generic_ones(data: bytes) -> None:
    assert _outcome(read_u32, data) == _outcome(lambda d, p: read_uleb(d, p, 32), data)
    assert _outcome(read_s32, data) == _outcome(lambda d, p: read_sleb(d, p, 32), data)
    assert _outcome(read_u64, data) == _outcome(lambda d, p: read_uleb(d, p, 64), data)
    assert _outcome(read_s64, data) == _outcome(lambda d, p: read_sleb(d, p, 64), data)


@given(st.lists(st.integers(0, 127), min_size=4, max_size=4), st.integers(0, 255))
def test_unrolled_readers_on_five_byte_encodings(low: list[int], last: int) -> None:
    data = bytes(b | 0x80 for b in low) + bytes([last])
    assert _outcome(read_u32, data) == _outcome(lambda d, p: read_uleb(d, p, 32), data)
    assert _outcome(read_s32, data) == _outcome(lambda d, p: read_sleb(d, p, 32), data)
