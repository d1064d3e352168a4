"""The benchmark programs (C compiled to Wasm) give their expected checksums."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interp_helpers import call, compile_wasm, new_instance

PROGRAMS = Path(__file__).resolve().parents[2] / "benchmarks" / "programs"
EXPECTED = PROGRAMS / "expected.json"


def _cases() -> list[tuple[str, str]]:
    if not EXPECTED.exists():
        return []
    programs = json.loads(EXPECTED.read_text())["programs"]
    return [(name, size) for name in programs for size in ("tiny", "small")]


@pytest.mark.parametrize(("name", "size"), _cases())
def test_benchmark_checksum(name: str, size: str) -> None:
    spec = json.loads(EXPECTED.read_text())["programs"][name]
    module = compile_wasm((PROGRAMS / spec["file"]).read_bytes())
    case = spec["sizes"][size]
    # two instances: the second runs code translated for the first
    for _ in range(2):
        assert call(new_instance(module), "run", case["n"]) == case["checksum"]


def test_benchmarks_are_present() -> None:
    assert len(_cases()) >= 14
