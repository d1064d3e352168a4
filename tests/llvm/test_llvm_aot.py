"""AOT artifacts: ``Module.serialize``/``deserialize`` on the llvm tier, ``nanoproc
compile`` and ``nanoproc run OUT.cwasm``; artifacts for another CPU, LLVM or build
of the code generator are refused with a clear error, never run."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from llvm_helpers import wat2wasm

import nanoproc
from nanoproc.api.artifact import MAGIC, read_artifact, write_artifact
from nanoproc.internal.llvm import artifact as llvm_artifact
from nanoproc.internal.llvm import jit

SRC = Path(__file__).resolve().parents[2] / "src"

WAT = """(module $prog
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (memory (export "mem") 1)
  (func (export "run") (param i32) (result i32)
    local.get 0 call $twice i32.const 1 i32.add)
  (func (export "boom") (result i32) i32.const 1 i32.const 0 i32.div_u))"""


def _engine() -> nanoproc.Engine:
    config = nanoproc.Config()
    config.strategy = "llvm"
    return nanoproc.Engine(config)


def _instance(engine: nanoproc.Engine, module: nanoproc.Module) -> tuple[object, object]:
    store = nanoproc.Store(engine)
    twice = nanoproc.Func(store, nanoproc.FuncType([nanoproc.ValType.i32()],
                                                   [nanoproc.ValType.i32()]), lambda x: 2 * x)
    return store, nanoproc.Instance(store, module, [twice])


def test_serialize_round_trip_loads_without_llvm(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine()
    blob = nanoproc.Module(engine, WAT).serialize()
    assert read_artifact(bytes(blob), "llvm").code is not None

    def no_llvm(*_: object) -> bytes:
        raise AssertionError("deserialize ran LLVM")

    monkeypatch.setattr(jit, "compile_ir", no_llvm)
    module = nanoproc.Module.deserialize(_engine(), blob)
    store, inst = _instance(engine, module)
    exports = inst.exports(store)  # type: ignore[attr-defined]
    assert exports["run"](store, 20) == 41
    with pytest.raises(nanoproc.Trap) as info:
        exports["boom"](store)
    assert info.value.trap_code == nanoproc.TrapCode.INTEGER_DIVISION_BY_ZERO
    assert info.value.frames[0].func_name is None and info.value.frames[0].module_name == "prog"


def _tampered(blob: bytes, old: bytes, new: bytes) -> bytes:
    art = read_artifact(blob, "llvm")
    assert art.code is not None and old in art.code
    code = art.code.replace(old, new, 1)
    return bytes(write_artifact("llvm", art.wasm, code))


def test_artifact_for_another_cpu_is_refused() -> None:
    blob = bytes(nanoproc.Module(_engine(), WAT).serialize())
    cpu = jit.host_target().cpu.encode()
    bad = _tampered(blob, b"|" + cpu + b"|", b"|" + b"z" * len(cpu) + b"|")
    with pytest.raises(nanoproc.WasmtimeError, match="another CPU"):
        nanoproc.Module.deserialize(_engine(), bad)


def test_artifact_from_another_llvm_is_refused() -> None:
    blob = bytes(nanoproc.Module(_engine(), WAT).serialize())
    version = jit.host_target().llvm_version.encode()
    other = b"9" * len(version)
    bad = _tampered(blob, b"|" + version + b"|", b"|" + other + b"|")
    with pytest.raises(nanoproc.WasmtimeError, match="another LLVM version"):
        nanoproc.Module.deserialize(_engine(), bad)


def test_artifact_from_another_code_generator_is_refused() -> None:
    blob = bytes(nanoproc.Module(_engine(), WAT).serialize())
    gen = llvm_artifact.generator_hash().encode()
    bad = _tampered(blob, gen, b"0" * len(gen))
    with pytest.raises(nanoproc.WasmtimeError, match="different build"):
        nanoproc.Module.deserialize(_engine(), bad)


def test_truncated_code_section_is_refused() -> None:
    blob = bytes(nanoproc.Module(_engine(), WAT).serialize())
    art = read_artifact(blob, "llvm")
    assert art.code is not None
    bad = bytes(write_artifact("llvm", art.wasm, art.code[:-100]))
    with pytest.raises(nanoproc.WasmtimeError, match="truncated"):
        nanoproc.Module.deserialize(_engine(), bad)


def test_tiers_refuse_each_others_artifacts() -> None:
    blob = bytes(nanoproc.Module(_engine(), WAT).serialize())
    config = nanoproc.Config()
    config.strategy = "interp"
    interp = nanoproc.Engine(config)
    with pytest.raises(nanoproc.WasmtimeError, match="llvm tier"):
        nanoproc.Module.deserialize(interp, blob)
    plain = bytes(nanoproc.Module(interp, WAT).serialize())
    assert struct.unpack_from("<I", plain, len(MAGIC) + 4)[0] == 0  # interp: no code section
    with pytest.raises(nanoproc.WasmtimeError, match="interp tier"):
        nanoproc.Module.deserialize(_engine(), plain)


# ---------------------------------------------------------------- the command line
def _cli(module: str, *args: str | Path,
         extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra_env or {})
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_compile_then_run(tmp_path: Path) -> None:
    src = tmp_path / "add.wasm"
    src.write_bytes(wat2wasm('(module (func (export "add") (param i32 i32) (result i32)'
                             ' local.get 0 local.get 1 i32.add))'))  # fmt: skip
    out = tmp_path / "add.cwasm"
    proc = _cli("nanoproc.cli", "compile", src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(MAGIC)
    run = _cli("nanoproc.cli", "run", "--invoke", "add", out, "40", "2")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "42"
    wrong = _cli("nanoproc.cli_run", "--engine", "interp", "--invoke", "add", out, "1", "2")
    assert wrong.returncode == 1 and "llvm tier" in wrong.stderr


def test_compile_with_metering_for_run_with_limits(tmp_path: Path) -> None:
    src = tmp_path / "spin.wat"
    src.write_text('(module (func (export "spin") (loop (br 0))))')
    plain, fuel, epochs = (tmp_path / f"{n}.cwasm" for n in ("plain", "fuel", "epochs"))
    assert _cli("nanoproc.cli", "compile", src, "-o", plain).returncode == 0
    assert _cli("nanoproc.cli", "compile", "-W", "fuel=1", src, "-o", fuel).returncode == 0
    assert _cli("nanoproc.cli", "compile", "-W", "epoch-interruption", src,
                "-o", epochs).returncode == 0  # fmt: skip
    refused = _cli("nanoproc.cli", "run", "-W", "fuel=1000", "--invoke", "spin", plain)
    assert refused.returncode != 0 and "fuel metering" in refused.stderr, refused.stderr
    ran = _cli("nanoproc.cli", "run", "-W", "fuel=1000", "--invoke", "spin", fuel)
    assert ran.returncode != 0 and "all fuel consumed" in ran.stderr, ran.stderr
    stopped = _cli("nanoproc.cli", "run", "-W", "timeout=200ms", "--invoke", "spin", epochs)
    assert stopped.returncode != 0 and "interrupt" in stopped.stderr, stopped.stderr
    bad = _cli("nanoproc.cli", "compile", "-W", "bogus", src)
    assert bad.returncode != 0 and "unknown option" in bad.stderr


def test_compile_shows_progress_for_long_compiles(tmp_path: Path) -> None:
    funcs = "\n".join(
        f'(func (export "f{i}") (param i32) (result i32) '
        + " ".join(f"local.get 0 i32.const {j} i32.add local.set 0" for j in range(60))
        + " local.get 0)" for i in range(100)
    )
    src = tmp_path / "big.wasm"
    src.write_bytes(wat2wasm(f"(module {funcs})"))
    proc = _cli("nanoproc.cli_compile", src, "-O", "0", "-j", "2", "--progress", "always",
                extra_env={"NANOPROC_LLVM_CACHE": "0"})
    assert proc.returncode == 0, proc.stderr
    assert "compiling [" in proc.stderr and "parts" in proc.stderr
    run = _cli("nanoproc.cli_run", "--invoke", "f99", tmp_path / "big.cwasm", "0")
    assert run.stdout.strip() == str(sum(range(60)))


def test_compile_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\1\0\0\0\x99")
    proc = _cli("nanoproc.cli_compile", bad)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    missing = _cli("nanoproc.cli_compile", tmp_path / "missing.wasm")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
