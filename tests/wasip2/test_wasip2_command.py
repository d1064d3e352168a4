"""The WASI 0.2 command component (src/p2command.c through the preview1 command
adapter) through nanoproc's component API on each tier, against
expected/p2command.out, which wasmtime-py's component API produces (checked
here too where it is installed). The world outside the preopens, and the
read-only preopen, must be unchanged afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from wasip2_harness import HAVE_WASMTIME, HERE, make_world, run_api

EXPECTED = (HERE / "expected" / "p2command.out").read_text()
RUNNERS = ["interp", "llvm", *(["wasmtime"] if HAVE_WASMTIME else [])]


def _stdin(tmp_path: Path) -> Path:
    p = tmp_path / "stdin.txt"
    p.write_bytes(b"hello stdin")
    return p


@pytest.mark.parametrize("runner", RUNNERS)
def test_command_output_and_status(runner: str, tmp_path: Path) -> None:
    world = tmp_path / "world"
    world.mkdir()
    make_world(world)
    out, err, status = run_api(runner, "p2command", world, ["x", "7"], [("GREETING", "hi")],
                               _stdin(tmp_path))  # fmt: skip
    assert out == EXPECTED
    assert err == "to stderr\n"
    assert status == 1  # the adapter exits with err for any non-zero status, as wasmtime
    assert (world / "secret.txt").read_text() == "TOP SECRET\n"
    assert sorted(p.name for p in (world / "ro").iterdir()) == ["ro.txt"]
    assert (world / "ro" / "ro.txt").read_text() == "read only\n"
    assert sorted(p.name for p in (world / "sb").iterdir()) == ["out", "sub"]


@pytest.mark.parametrize("runner", ["interp", "llvm"])
def test_exit_zero_and_no_stdin(runner: str, tmp_path: Path) -> None:
    make_world(tmp_path)
    out, _, status = run_api(runner, "p2command", tmp_path, ["0"])
    assert status == 0
    assert "stdin 0 bytes: \n" in out
    assert "env GREETING=(unset)\n" in out


def test_store_reuse_after_exit(tmp_path: Path) -> None:
    """Two runs in one process (fresh stores) do not share handles or state."""
    make_world(tmp_path)
    first = run_api("interp", "p2command", tmp_path, ["0"])
    second = run_api("interp", "p2command", tmp_path, ["0"])
    assert first[0] == second[0] and first[2] == second[2] == 0


def test_linker_matches_compatible_versions() -> None:
    from nanoproc import Engine
    from nanoproc.api.component.linker import _lookup
    from nanoproc.component import Linker

    linker = Linker(Engine())
    linker.add_wasip2()
    defs = linker._defs
    assert _lookup(defs, "wasi:cli/environment@0.2.12") is _lookup(defs, "wasi:cli/environment@0.2.0")
    assert _lookup(defs, "wasi:cli/environment@0.2.12") is not None
    assert _lookup(defs, "wasi:cli/environment@0.3.0") is None
    assert _lookup(defs, "wasi:cli/environment") is None
    linker2 = Linker(Engine())
    linker2.add_wasip2()
    from nanoproc import WasmtimeError

    with pytest.raises(WasmtimeError):
        linker2.add_wasip2()  # defined twice, as wasmtime refuses it
