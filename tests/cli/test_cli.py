"""The ``nanoproc`` command: every subcommand, on good input and each kind of bad input.

Bad input must give one ``error: ...`` line on stderr and a non-zero exit status,
never a Python traceback. The command runs as a real subprocess (``python -m
nanoproc``), as users run it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import wasm_tools
from nanoproc import cli

VALID_WAT = '(module (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))\n'
INVALID_WAT = """(module
  (func $ok)
  (func (result i32) (i64.const 0)))
"""
MALFORMED_WAT = "(module (func (i32.const)))\n"


def nanoproc(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "nanoproc", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_error(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    """Exactly one stderr line, ``error: ...``, containing every part; non-zero exit."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {
        "valid.wat": VALID_WAT,
        "invalid.wat": INVALID_WAT,
        "malformed.wat": MALFORMED_WAT,
    }
    paths = {}
    for name, text in out.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text)
    paths["valid.wasm"] = tmp_path / "valid.wasm"
    subprocess.run([wasm_tools(), "parse", paths["valid.wat"], "-o", paths["valid.wasm"]], check=True)
    paths["invalid.wasm"] = tmp_path / "invalid.wasm"
    subprocess.run([wasm_tools(), "parse", paths["invalid.wat"], "-o", paths["invalid.wasm"]],
                   check=True)
    paths["malformed.wasm"] = tmp_path / "malformed.wasm"
    paths["malformed.wasm"].write_bytes(paths["valid.wasm"].read_bytes()[:-3])
    paths["latin1.wat"] = tmp_path / "latin1.wat"
    paths["latin1.wat"].write_bytes(b"(module) ;; caf\xe9\n")
    paths["dangling"] = tmp_path / "dangling.wat"
    paths["dangling"].symlink_to(tmp_path / "gone.wat")
    return paths


def bad_paths(files: dict[str, Path], tmp_path: Path) -> list[tuple[Path, str]]:
    """Inputs that cannot be read, with what the error line must say."""
    return [
        (tmp_path / "missing.wat", "No such file"),
        (tmp_path, "is a directory"),
        (files["valid.wat"] / "x.wat", "Not a directory"),  # unreadable path
        (files["dangling"], "No such file"),
    ]


# ---------------------------------------------------------------- parse


def test_parse_writes_a_valid_binary(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.wasm"
    proc = nanoproc("parse", files["valid.wat"], "-o", out)
    assert proc.returncode == 0 and proc.stderr == ""
    assert out.read_bytes()[:4] == b"\0asm"
    subprocess.run([wasm_tools(), "validate", out], check=True)
    printed = subprocess.run([wasm_tools(), "print", out], check=True, capture_output=True, text=True)
    assert "i32.add" in printed.stdout


def test_parse_to_stdout(files: dict[str, Path]) -> None:
    proc = subprocess.run([sys.executable, "-m", "nanoproc", "parse", str(files["valid.wat"]),
                           "-o", "-"], capture_output=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout[:4] == b"\0asm"


def test_parse_rejects_malformed_text_with_line_and_column(files: dict[str, Path], tmp_path: Path) -> None:
    one_error(nanoproc("parse", files["malformed.wat"], "-o", tmp_path / "o.wasm"),
              "malformed.wat:1:")
    assert not (tmp_path / "o.wasm").exists()


def test_parse_bad_inputs(files: dict[str, Path], tmp_path: Path) -> None:
    for path, why in bad_paths(files, tmp_path):
        one_error(nanoproc("parse", path, "-o", tmp_path / "o.wasm"), why)
    one_error(nanoproc("parse", files["valid.wasm"], "-o", tmp_path / "o.wasm"), "already a Wasm binary")
    one_error(nanoproc("parse", files["latin1.wat"], "-o", tmp_path / "o.wasm"), "not UTF-8")
    one_error(nanoproc("parse", files["valid.wat"], "-o", tmp_path / "no" / "dir" / "o.wasm"),
              "cannot write")


def test_parse_needs_an_output(files: dict[str, Path]) -> None:
    proc = nanoproc("parse", files["valid.wat"])
    assert proc.returncode == 2 and "-o" in proc.stderr


# ---------------------------------------------------------------- print


def test_print_to_stdout_and_file(files: dict[str, Path], tmp_path: Path) -> None:
    proc = nanoproc("print", files["valid.wasm"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("(module") and "i32.add" in proc.stdout
    out = tmp_path / "out.wat"
    assert nanoproc("print", files["valid.wasm"], "-o", out).returncode == 0
    assert out.read_text() == proc.stdout
    folded = nanoproc("print", "--fold", files["valid.wasm"])
    assert folded.returncode == 0 and "(i32.add" in folded.stdout
    # What print writes, parse reads back to the same code.
    back = tmp_path / "back.wasm"
    assert nanoproc("parse", out, "-o", back).returncode == 0
    assert nanoproc("print", back).stdout == proc.stdout


def test_print_bad_inputs(files: dict[str, Path], tmp_path: Path) -> None:
    for path, why in bad_paths(files, tmp_path):
        one_error(nanoproc("print", path), why)
    one_error(nanoproc("print", files["valid.wat"]), "not a Wasm binary")
    one_error(nanoproc("print", files["malformed.wasm"]), "malformed.wasm", "offset 0x")
    one_error(nanoproc("print", files["valid.wasm"], "-o", tmp_path / "no" / "o.wat"), "cannot write")


# ---------------------------------------------------------------- validate


@pytest.mark.parametrize("name", ["valid.wasm", "valid.wat"])
def test_validate_valid(files: dict[str, Path], name: str) -> None:
    proc = nanoproc("validate", files[name])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    verbose = nanoproc("validate", "-v", files[name])
    assert verbose.returncode == 0 and "valid" in verbose.stdout


def test_validate_invalid_binary_names_the_offset(files: dict[str, Path]) -> None:
    one_error(nanoproc("validate", files["invalid.wasm"]), "invalid.wasm", "type mismatch", "offset 0x")


def test_validate_invalid_text_names_line_and_column(files: dict[str, Path]) -> None:
    one_error(nanoproc("validate", files["invalid.wat"]), "invalid.wat:3:3:", "type mismatch")


def test_validate_malformed(files: dict[str, Path]) -> None:
    one_error(nanoproc("validate", files["malformed.wasm"]), "malformed.wasm", "offset 0x")
    one_error(nanoproc("validate", files["malformed.wat"]), "malformed.wat:1:")


def test_validate_bad_inputs(files: dict[str, Path], tmp_path: Path) -> None:
    for path, why in bad_paths(files, tmp_path):
        one_error(nanoproc("validate", path), why)
    one_error(nanoproc("validate", files["latin1.wat"]), "not UTF-8")


# ---------------------------------------------------------------- wast

GOOD_WAST = """(module (func (export "add") (param i32 i32) (result i32)
  (i32.add (local.get 0) (local.get 1))))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "unreachable")
"""


def test_wast_reports_files_failures_and_totals(tmp_path: Path) -> None:
    good = tmp_path / "good.wast"
    good.write_text(GOOD_WAST.rsplit("(assert_trap", 1)[0])
    bad = tmp_path / "bad.wast"
    bad.write_text(GOOD_WAST)
    proc = nanoproc("wast", "--api", "wasmtime", "-j", "2", good, bad)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"{good}: 2 passed, 0 failed, 0 skipped" in out
    assert f"{bad}: 2 passed, 1 failed, 0 skipped" in out
    assert f"{bad}:4: assert_trap (invoke 'add'): expected trap 'unreachable', returned [3]" in out
    assert out.rstrip().endswith("total: 2 files, 4 passed, 1 failed, 0 skipped (1 files with failures)")
    ok = nanoproc("wast", "--api", "wasmtime", good)
    assert ok.returncode == 0 and "total: 1 files, 2 passed, 0 failed" in ok.stdout


def test_wast_limits_the_failures_listed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wast"
    bad.write_text("(module)\n" + '(invoke "nope")\n' * 5)
    proc = nanoproc("wast", "--api", "wasmtime", "--max-failures", "2", bad)
    assert proc.stdout.count("no export 'nope'") == 2
    assert "... and 3 more failures" in proc.stdout
    every = nanoproc("wast", "--api", "wasmtime", "--all-failures", bad)
    assert every.stdout.count("no export 'nope'") == 5


def test_wast_with_nanoproc(tmp_path: Path) -> None:
    good = tmp_path / "good.wast"
    good.write_text(GOOD_WAST.rsplit("(assert_trap", 1)[0])
    proc = nanoproc("wast", "--engine", "interp", good)
    assert proc.returncode == 0, proc.stdout
    assert "2 passed, 0 failed, 0 skipped" in proc.stdout


def test_wast_bad_inputs(files: dict[str, Path], tmp_path: Path) -> None:
    for path, why in bad_paths(files, tmp_path):
        one_error(nanoproc("wast", path), why)
    malformed = tmp_path / "m.wast"
    malformed.write_text("(assert_return (invoke \"f\"\n")
    proc = nanoproc("wast", "--api", "wasmtime", malformed)
    assert proc.returncode == 1 and "script does not parse" in proc.stdout
    assert nanoproc("wast", "--engine", "jit", malformed).returncode == 2
    assert nanoproc("wast", "-j", "0", malformed).returncode == 2


# ---------------------------------------------------------------- the command itself


def test_usage_errors_and_subcommands() -> None:
    assert nanoproc().returncode == 2
    proc = nanoproc("frobnicate", "x.wasm")  # `nanoproc FILE` runs FILE, as wasmtime
    assert proc.returncode == 1 and proc.stderr == "error: frobnicate: No such file or directory\n"
    proc = nanoproc("--frobnicate", "x.wasm")
    assert proc.returncode == 2 and "unrecognized arguments: --frobnicate" in proc.stderr
    helptext = nanoproc("--help").stdout
    for sub in ("run", "wast", "parse", "print", "validate"):
        assert sub in helptext
    proc = nanoproc("run", "missing.wasm")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_internal_errors_are_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str],
                                                  files: dict[str, Path]) -> None:
    def broken(args: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(cli, "cmd_validate", broken)
    assert cli.main(["validate", str(files["valid.wat"])]) == 2
    err = capsys.readouterr().err
    assert err == "internal error: KeyError: 'boom'\n"


def test_wast_malformed_messages_flag(tmp_path: Path) -> None:
    script = tmp_path / "m.wast"
    script.write_text('(assert_malformed (module quote "(func (unknownop))") "duplicate func")\n')
    assert nanoproc("wast", "--api", "wasmtime", script).returncode == 0
    strict = nanoproc("wast", "--api", "wasmtime", "--malformed-messages", script)
    assert strict.returncode == 1 and "expected malformed 'duplicate func'" in strict.stdout
