"""Whatever a user types or a guest does, ``nanoproc`` answers with a result, a trap
report or one ``error:`` line: never "internal error", never a traceback (issue 18).

The command runs in this process (``cli.main``) on the interp tier, so the many
cases stay cheap; tests/wasi/test_cli_edges.py runs the same kinds of input
through real processes on both tiers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nanoproc import cli

ROOT = Path(__file__).resolve().parents[2]
EDGES = str(ROOT / "tests" / "wasi" / "wasm" / "edges.wasm")
RUN = ["run", "--engine", "interp"]
COMPONENT = b"\0asm\x0d\x00\x01\x00"

CASES: dict[str, list[str]] = {
    "non-UTF-8 argument": [*RUN, EDGES, "args", "caf\udce9"],
    "non-UTF-8 argv0": [*RUN, "--argv0", "\udcff", EDGES, "args"],
    "non-UTF-8 env value": [*RUN, "--env", "A=\udcff", EDGES, "args"],
    "non-UTF-8 env name": [*RUN, "--env", "\udcff=1", EDGES, "args"],
    "non-UTF-8 dir": [*RUN, "--dir", "/tmp::/g\udcfe", EDGES, "args"],
    "non-UTF-8 invoke": [*RUN, "--invoke", "\udcff", EDGES],
    "non-UTF-8 module path": [*RUN, "/tmp/\udcff.wasm"],
    "huge timeout": [*RUN, "-W", "timeout=99999999999s", EDGES, "status", "0"],
    "timeout past u64": [*RUN, "-W", "timeout=" + "9" * 400, EDGES],
    "fuel past u64": [*RUN, "-W", "fuel=" + "9" * 30, EDGES],
    "fuel u64 max": [*RUN, "-W", "fuel=0xffff_ffff_ffff_ffff", EDGES, "status", "0"],
    "no fuel": [*RUN, "-W", "fuel=0", EDGES, "status", "0"],
    "memory past u64": [*RUN, "-W", "max-memory-size=" + "9" * 30, EDGES],
    "no memory": [*RUN, "-W", "max-memory-size=0", EDGES],
    "no instances": [*RUN, "-W", "max-instances=0", EDGES],
    "stack past i64": [*RUN, "-W", "max-wasm-stack=" + "9" * 30, EDGES],
    "empty -W": [*RUN, "-W", ",,", EDGES],
    "empty -S": [*RUN, "-S", "=", EDGES],
    "bad boolean": [*RUN, "-S", "inherit-env=2", EDGES],
    "unsupported -S": [*RUN, "-S", "nn", EDGES],
    "http for a core module": [*RUN, "-S", "http", EDGES],
    "unsupported -W": [*RUN, "-W", "gc=n", EDGES],
    "port past 65535": [*RUN, "--tcplisten", "127.0.0.1:99999", EDGES],
    "unknown host": [*RUN, "--tcplisten", "999.1.1.1:80", EDGES],
    "too many ::": [*RUN, "--dir", "a::b::c::d", EDGES],
    "directory as module": [*RUN, "/"],
    "empty stdin module": [*RUN, "-"],
    "key is a directory": [*RUN, "--verify-key", "/", EDGES],
    "missing key": ["compile", "--sign-key", "/no/such/key", EDGES],
    "empty key": ["compile", "--sign-key", "/dev/null", EDGES],
    "unknown invoke": [*RUN, "--invoke", "nope", EDGES],
}


@pytest.mark.parametrize("name", list(CASES))
def test_no_internal_error(name: str, capfd: pytest.CaptureFixture[str]) -> None:
    code = cli.main(CASES[name])
    out, err = capfd.readouterr()
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (0, 1, 134), (code, err)
    if code == 1:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err


@pytest.mark.parametrize("command", ["run", "compile"])  # print/validate/run take components
def test_components_get_one_clear_line(command: str, tmp_path: Path,
                                       capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    for name, data in (("c.wasm", COMPONENT), ("c.wat", b";; a component\n(component)")):
        path = tmp_path / name
        path.write_bytes(data)
        code = cli.main([command, str(path)])
        _, err = capfd.readouterr()
        assert code == 1
        if command == "run":  # run takes WASI 0.2 commands; an empty component is not one
            assert err == (f"error: {path}: component does not export `wasi:cli/run@0.2.x`: "
                           "not a WASI command\n")  # fmt: skip
            continue
        assert err == (f"error: {path}: is a WebAssembly component ("
                       f"{'binary version 0xd, layer 1' if name == 'c.wasm' else 'text'}), not a "
                       f"core module: components are not supported by `nanoproc {command}` yet\n")  # fmt: skip
