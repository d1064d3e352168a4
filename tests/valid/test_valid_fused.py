"""The fused byte-level check (valid/fused.py) only accepts what the full validator accepts.

For every function body of the modules below, the fused check alone either says
"not sure" (None) or gives the instruction count; in the second case the full decoder
and checker must accept the same body and count the same instructions. Modules: every
binary module of the spec suite (valid, invalid and malformed ones that decode), wasm-tools
smith modules (valid and with ill-typed bodies) and their random mutations, and clang-built
C programs (where the fused check must also be the one that decides, or it is useless).
Module verdicts are compared with ``wasm-tools validate`` for the generated modules.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from valid_build import ScriptCache, wasm_tools_exe

from conftest import spec_dir, spec_files
from nanoproc.fuzz.mutate import mutate
from nanoproc.internal.binary.decode import decode_module
from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.valid import code, validate_module
from nanoproc.internal.valid.code import check_func, check_func_fused
from nanoproc.internal.valid.fused import ModuleTables
from nanoproc.internal.valid.validate import _module_context

ROOT = Path(__file__).resolve().parents[2]


def body_verdicts(wasm: bytes) -> tuple[int, int, list[str]]:
    """(bodies the fused check accepted, bodies checked, disagreements)."""
    try:
        module = decode_module(wasm)
        ctx = _module_context(module)
    except Exception:  # noqa: BLE001  (module-level errors are not the fused check's business)
        return 0, 0, []
    fast = ModuleTables(ctx)
    base = len(ctx.funcs) - len(module.funcs)
    accepted = 0
    problems: list[str] = []
    for i, f in enumerate(module.funcs):
        try:
            fused = check_func_fused(fast, base + i, f)
        except ValidationError:
            fused = None  # too many locals / bad local type: raised before either check
        assert f.body is None, "the fused check must not decode the body"
        full: int | Exception
        try:
            full = check_func(ctx, base + i, f)
        except (ValidationError, DecodeError) as e:
            full = e
        if fused is not None:
            accepted += 1
            if full != fused:
                problems.append(f"function {base + i}: fused accepted ({fused} instructions), "
                                f"full check: {full!r}")  # fmt: skip
        f.body = None
        f.offsets = None
    return accepted, len(module.funcs), problems


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> ScriptCache:
    return ScriptCache(tmp_path_factory.getbasetemp() / "fused-spec")


def _spec_ids() -> list[str]:
    return [p.name for p in spec_files()] or ["(no spec suite)"]


@pytest.mark.parametrize("chunk", range(4))
def test_spec_modules_agree(chunk: int, scripts: ScriptCache) -> None:
    root = spec_dir()
    accepted = total = 0
    problems: list[str] = []
    for name in _spec_ids()[chunk::4]:
        out, commands = scripts.commands(root / name)
        for cmd in commands:
            if cmd.get("module_type") != "binary" or "filename" not in cmd:
                continue
            a, t, p = body_verdicts((out / cmd["filename"]).read_bytes())
            accepted += a
            total += t
            problems += [f"{name}:{cmd['line']}: {x}" for x in p]
    assert not problems, "\n".join(problems[:20])
    assert accepted > total // 4  # the fast path really decides many spec bodies


@pytest.mark.parametrize("name", ["grep", "sort", "arc", "cpr"])
def test_c_programs_are_decided_by_the_fused_check(name: str) -> None:
    wasm = (ROOT / "tests" / "wasi" / "wasm" / f"{name}.wasm").read_bytes()
    accepted, total, problems = body_verdicts(wasm)
    assert not problems, "\n".join(problems)
    assert accepted >= 0.95 * total, (accepted, total)


def _smith(seed: int, invalid: bool) -> bytes | None:
    from test_valid_differential import FEATURES

    rnd = random.Random(seed)
    raw = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([1500, 6000])))
    extra = ["--allow-invalid-funcs", "true"] if invalid else []
    res = subprocess.run([wasm_tools_exe(), "smith", *FEATURES, *extra], input=raw,
                         capture_output=True)  # fmt: skip
    return res.stdout if res.returncode == 0 else None


def _verdict(wasm: bytes) -> str | None:
    try:
        validate_module(decode_module(wasm))
    except (ValidationError, DecodeError) as e:
        return str(e)
    return None


def _full_verdict(wasm: bytes) -> str | None:
    """The module's verdict without the fused check (every body decoded, then checked)."""
    saved = code._fused
    code._fused = lambda *args: None
    try:
        return _verdict(wasm)
    finally:
        code._fused = saved


@pytest.mark.parametrize("invalid", [False, True])
def test_smith_modules_and_mutants_agree(invalid: bool) -> None:
    rng = random.Random(10 + invalid)
    problems: list[str] = []
    checked = 0
    for seed in range(1000 * invalid, 1000 * invalid + 30):
        wasm = _smith(seed, invalid)
        if wasm is None:
            continue
        for k in range(6):
            data = wasm if k == 0 else mutate(wasm, rng)
            _, _, p = body_verdicts(data)
            problems += [f"seed {seed} mutant {k}: {x}" for x in p]
            ours = _verdict(data)
            full = _full_verdict(data)
            if ours != full:
                problems.append(f"seed {seed} mutant {k}: {ours!r}, without fused: {full!r}")
            if k < 2:
                theirs = subprocess.run([wasm_tools_exe(), "validate", "--features", "wasm3",
                                         "-"], input=data, capture_output=True)  # fmt: skip
                if (theirs.returncode == 0) != (ours is None):
                    problems.append(f"seed {seed} mutant {k}: wasm-tools "
                                    f"{theirs.stderr.decode().strip() or 'valid'!r}, "
                                    f"nanoproc {ours or 'valid'!r}")  # fmt: skip
            checked += 1
    assert checked >= 60
    assert not problems, "\n".join(problems[:20])
