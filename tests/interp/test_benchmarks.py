"""The benchmark programs (C compiled to Wasm) give their expected checksums."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interp_helpers import call, compile_wasm, new_instance

PROGRAMS = Path(__file__).resolve().parents[2] / "benchmarks" / "programs"
SUITES = [PROGRAMS / "expected.json", PROGRAMS / "simd.json"]
"""The scalar programs and the SIMD ones (-msimd128)."""


def _specs() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in SUITES:
        if path.exists():
            out.update(json.loads(path.read_text())["programs"])
    return out


def _cases() -> list[tuple[str, str]]:
    return [(name, size) for name in _specs() for size in ("tiny", "small")]


@pytest.mark.parametrize(("name", "size"), _cases())
def test_benchmark_checksum(name: str, size: str) -> None:
    spec = _specs()[name]
    module = compile_wasm((PROGRAMS / spec["file"]).read_bytes())
    case = spec["sizes"][size]
    # two instances: the second runs code translated for the first
    for _ in range(2):
        assert call(new_instance(module), "run", case["n"]) == case["checksum"]


def test_benchmarks_are_present() -> None:
    assert len(_cases()) >= 22
