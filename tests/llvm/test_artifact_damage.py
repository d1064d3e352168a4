"""Damaged AOT artifacts are refused, never run (issue 17).

A real artifact (tests/wasi/wasm/trap.wasm compiled in three objects) gets bytes
flipped in every kind of place (header, metadata, each object, the MAC, the end)
and is truncated at each of them; ``Module.deserialize``, ``deserialize_file`` and
``nanoproc run`` must refuse every copy with the damaged-artifact error, and the
program must not run. Keys: an unsigned artifact is refused where a key is
required, one signed with another key too, a signed one is accepted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llvm_helpers import wat2wasm

import nanoproc
from nanoproc import cli
from nanoproc.api import artifact
from nanoproc.internal.llvm import compiler

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "wasi" / "wasm" / "trap.wasm"
"""Prints "started" and exits 0: any run of a damaged copy would show."""
KEY = b"k" * 32
OTHER_KEY = b"o" * 32
DAMAGED = "artifact is damaged (digest mismatch)"


def _engine(key: bytes | None = None) -> nanoproc.Engine:
    config = nanoproc.Config()
    config.strategy = "llvm"
    if key is not None:
        config.artifact_key = key
    return nanoproc.Engine(config)


def _compile(key: bytes | None) -> bytes:
    """trap.wasm at -O0, split into several objects (as a big module is)."""
    engine = _engine(key)
    backend = engine.backend
    backend.options = backend.options.replace(opt_level=0)  # type: ignore[attr-defined]
    module = nanoproc.Module._of_binary(engine, PROGRAM.read_bytes())
    art = backend.prepare(module._compiled)  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiler, "PARALLEL_THRESHOLD", 0)
        mp.setattr(compiler, "PARTITION_SIZE", 1500)
        mp.setattr(compiler.cache, "cache_dir", lambda: None)  # compile now, three objects
        mp.setattr(compiler.cache, "_memory", {})
        art.compile(jobs=2)
    return bytes(module.serialize())


@pytest.fixture(scope="module")
def plain() -> bytes:
    return _compile(None)


@pytest.fixture(scope="module")
def signed() -> bytes:
    return _compile(KEY)


def positions(blob: bytes) -> dict[str, int]:
    """Offsets of one byte of each kind of place in ``blob``."""
    signed = bool(struct.unpack_from("<I", blob, 20)[0] & artifact.FLAG_SIGNED)
    pos = {"magic first": 0, "magic middle": 7, "magic last": 15, "format": 16, "flags": 20}
    at = 24
    pos["version length"] = at
    at += 2 + struct.unpack_from("<H", blob, at)[0]
    pos["tier text"] = at + 2
    at += 2 + struct.unpack_from("<H", blob, at)[0]
    pos["wasm length"] = at
    wasm_len = struct.unpack_from("<Q", blob, at)[0]
    pos["wasm magic"] = at + 8
    pos["wasm middle"] = at + 8 + wasm_len // 2
    at += 8 + wasm_len
    pos["code length"] = at
    at += 8
    code = at
    pos["llvm magic"] = code
    at += 8
    pos["llvm target"] = at + 3
    at += 2 + struct.unpack_from("<H", blob, at)[0]
    pos["llvm generator"] = at + 3
    at += 2 + struct.unpack_from("<H", blob, at)[0]
    pos["llvm options"] = at
    count = struct.unpack_from("<I", blob, at + 2)[0]
    pos["llvm object count"] = at + 2
    at += 6
    assert count >= 3, "the artifact should have several objects"
    for i in range(count):
        n = struct.unpack_from("<Q", blob, at)[0]
        pos[f"object {i} length"] = at
        pos[f"object {i} ELF header"] = at + 8 + 0x10
        pos[f"object {i} middle"] = at + 8 + n // 2
        pos[f"object {i} last byte"] = at + 8 + n - 1
        at += 8 + n
    if signed:
        pos["MAC"] = at + 5
        at += artifact.MAC_SIZE
    pos["digest first"] = at
    pos["the end"] = len(blob) - 1
    assert at + artifact.DIGEST_SIZE == len(blob)
    return pos


def flipped(blob: bytes, *offsets: int) -> bytes:
    out = bytearray(blob)
    for i in offsets:
        out[i] ^= 0x41
    return bytes(out)


def damaged_copies(blob: bytes) -> Iterator[tuple[str, bytes]]:
    pos = positions(blob)
    for name, i in pos.items():
        yield f"flip {name}", flipped(blob, i)
        if i:
            yield f"cut at {name}", blob[:i]
    offsets = sorted(pos.values())
    yield "three flips", flipped(blob, offsets[3], offsets[len(offsets) // 2], offsets[-2])
    yield "one byte short", blob[:-1]
    yield "one byte more", blob + b"\0"
    yield "zeroed tail", blob[:-4096] + bytes(4096)


def run_cli(*args: str) -> tuple[int, str, str]:
    """``nanoproc`` in this process (refusals happen before any code runs)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_intact_artifacts_run(plain: bytes, signed: bytes, tmp_path: Path) -> None:
    """The control: undamaged copies load and run, in the API and the CLI."""
    for blob, key in ((plain, None), (signed, KEY), (signed, None)):
        module = nanoproc.Module.deserialize(_engine(key), blob)
        assert [e.name for e in module.exports][:2] == ["memory", "_start"]
    path = tmp_path / "trap.cwasm"
    path.write_bytes(plain)
    proc = subprocess.run([sys.executable, "-m", "nanoproc", "run", str(path)], capture_output=True,
                          text=True, timeout=300, env=_env())  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "started\n", "")


@pytest.mark.parametrize("which", ["plain", "signed"])
def test_every_damaged_copy_is_refused(which: str, plain: bytes, signed: bytes,
                                       tmp_path: Path) -> None:  # fmt: skip
    blob = plain if which == "plain" else signed
    key = KEY if which == "signed" else None
    copies = list(damaged_copies(blob))
    assert len(copies) > 40
    path = tmp_path / "app.cwasm"
    for name, data in copies:
        for engine_key in {None, key}:
            with pytest.raises(nanoproc.WasmtimeError) as info:
                nanoproc.Module.deserialize(_engine(engine_key), data)
            assert str(info.value) == DAMAGED, name
        path.write_bytes(data)
        with pytest.raises(nanoproc.WasmtimeError) as info:
            nanoproc.Module.deserialize_file(_engine(key), str(path))
        assert str(info.value) == f"{path}: {DAMAGED}", name
        args = ["run", str(path)] if key is None else ["run", "--verify-key", _key_file(tmp_path), str(path)]
        code, out, err = run_cli(*args)
        assert (code, out, err) == (1, "", f"error: {path}: {DAMAGED}\n"), name


def test_damaged_artifact_is_refused_by_the_command(plain: bytes, tmp_path: Path) -> None:
    """Through a real process too (the exit status, no traceback, no output)."""
    pos = positions(plain)
    for i, data in enumerate((flipped(plain, pos["object 1 middle"]), plain[: pos["object 2 length"]],
                              flipped(plain, pos["magic middle"], pos["the end"]))):  # fmt: skip
        path = tmp_path / f"app{i}.cwasm"
        path.write_bytes(data)
        proc = subprocess.run([sys.executable, "-m", "nanoproc", "run", str(path)],
                              capture_output=True, text=True, timeout=300, env=_env())  # fmt: skip
        assert (proc.returncode, proc.stdout) == (1, "")
        assert proc.stderr == f"error: {path}: {DAMAGED}\n"


def _key_file(tmp_path: Path, key: bytes = KEY) -> str:
    path = tmp_path / f"key-{key[:1].decode()}"
    path.write_bytes(key)
    return str(path)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---------------------------------------------------------------- keys
def test_keys_in_the_api(plain: bytes, signed: bytes) -> None:
    with pytest.raises(nanoproc.WasmtimeError, match="artifact is not signed"):
        nanoproc.Module.deserialize(_engine(KEY), plain)
    with pytest.raises(nanoproc.WasmtimeError, match="signed with another key"):
        nanoproc.Module.deserialize(_engine(OTHER_KEY), signed)
    nanoproc.Module.deserialize(_engine(KEY), signed)
    # Without a key, a signed artifact is checked for damage and trusted, as an
    # unsigned one (SECURITY.md): the key protects only engines that require it.
    nanoproc.Module.deserialize(_engine(), signed)
    # A forger without the key can rewrite the digest, not the MAC.
    body = bytearray(signed[: -artifact.DIGEST_SIZE])
    i = positions(signed)["object 0 middle"]
    body[i] ^= 1
    resealed = bytes(body) + hashlib.sha256(body).digest()
    with pytest.raises(nanoproc.WasmtimeError, match="signed with another key"):
        nanoproc.Module.deserialize(_engine(KEY), resealed)
    # A stripped MAC (flags cleared, digest recomputed) is an unsigned artifact.
    stripped = bytearray(signed[: -artifact.DIGEST_SIZE - artifact.MAC_SIZE])
    stripped[20] &= ~artifact.FLAG_SIGNED
    stripped += hashlib.sha256(stripped).digest()
    with pytest.raises(nanoproc.WasmtimeError, match="artifact is not signed"):
        nanoproc.Module.deserialize(_engine(KEY), bytes(stripped))


def test_key_setting_is_checked() -> None:
    config = nanoproc.Config()
    with pytest.raises(nanoproc.WasmtimeError, match="at least 16 bytes"):
        config.artifact_key = b"short"
    with pytest.raises(TypeError):
        config.artifact_key = "a text key, not bytes"  # type: ignore[assignment]
    config.artifact_key = None


def test_keys_on_the_command_line(tmp_path: Path) -> None:
    src = tmp_path / "add.wat"
    src.write_text('(module (func (export "add") (param i32 i32) (result i32)'
                   ' local.get 0 local.get 1 i32.add))')  # fmt: skip
    key, other = _key_file(tmp_path), _key_file(tmp_path, OTHER_KEY)
    signed, plain = tmp_path / "signed.cwasm", tmp_path / "plain.cwasm"
    assert run_cli("compile", "--sign-key", key, str(src), "-o", str(signed))[0] == 0
    assert run_cli("compile", str(src), "-o", str(plain))[0] == 0
    assert run_cli("run", "--verify-key", key, "--invoke", "add", str(signed), "40", "2")[:2] == (0, "42\n")
    assert run_cli("run", "--invoke", "add", str(signed), "1", "2")[:2] == (0, "3\n")
    code, out, err = run_cli("run", "--verify-key", key, "--invoke", "add", str(plain), "1", "2")
    assert (code, out) == (1, "") and "artifact is not signed" in err and err.count("\n") == 1
    code, out, err = run_cli("run", "--verify-key", other, "--invoke", "add", str(signed), "1", "2")
    assert (code, out) == (1, "") and "signed with another key" in err
    # A key protects artifacts (native code); Wasm and WAT are validated anyway.
    assert run_cli("run", "--verify-key", key, "--invoke", "add", str(src), "1", "2")[:2] == (0, "3\n")
    short = tmp_path / "short"
    short.write_bytes(b"12345")
    for command in (["compile", "--sign-key", str(short), str(src)],
                    ["run", "--verify-key", str(short), str(signed)],
                    ["compile", "--sign-key", str(tmp_path / "missing"), str(src)]):  # fmt: skip
        code, out, err = run_cli(*command)
        assert code == 1 and err.startswith("error: --") and err.count("\n") == 1, err
        assert "internal error" not in err


def test_wasm_and_text_are_not_taken_for_artifacts() -> None:
    assert not artifact.looks_like_artifact(wat2wasm("(module)"))
    assert not artifact.looks_like_artifact(b"(module)")
    assert not artifact.looks_like_artifact(b"")
    assert artifact.looks_like_artifact(artifact.MAGIC[:6])
    assert artifact.looks_like_artifact(flipped(artifact.MAGIC, 1, 9, 14))
