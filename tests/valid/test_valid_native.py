"""The native body filter (valid/native, bodies.c) only accepts what the full validator accepts.

As for the fused check (test_valid_fused.py): for every function body of the modules
below, the native filter either says "not sure" (-1) or gives the instruction count;
in the second case the full decoder and checker must accept the same body and count
the same instructions. Modules: the spec suite's binary modules, wasm-tools smith
modules (valid and with ill-typed bodies) and their mutations, clang-built C programs
(which the native filter must decide itself, or it is useless), and the Wasm 3.0
feature cases of test_valid_fused. Module verdicts with the native filter forced
(``NANOPROC_NATIVE_VALIDATE=always``) must equal the full path's.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from test_valid_fused import FEATURE_CASES, _full_verdict, _smith, _verdict
from valid_build import ScriptCache

from conftest import spec_dir, spec_files
from nanoproc.fuzz.mutate import mutate
from nanoproc.internal.binary.decode import decode_module
from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.valid import fused, native
from nanoproc.internal.valid.code import check_func
from nanoproc.internal.valid.validate import _module_context

ROOT = Path(__file__).resolve().parents[2]


def native_body_verdicts(wasm: bytes) -> tuple[int, int, list[str]]:
    """(bodies the native filter accepted, bodies checked, disagreements)."""
    assert native.available(), "the native filter needs llvmlite (a test dependency)"
    try:
        module = decode_module(wasm)
        ctx = _module_context(module)
    except Exception:  # noqa: BLE001  (module-level errors are not the filter's business)
        return 0, 0, []
    funcs = module.funcs
    if not funcs:
        return 0, 0, []
    base = len(ctx.funcs) - len(funcs)
    hook = next((f.lazy for f in funcs if f.lazy is not None), None)
    if hook is None:
        return 0, len(funcs), []
    data, spans = hook.raw_spans(funcs)
    indices = [i for i, sp in enumerate(spans) if sp is not None]
    verdicts = native.check_bodies(ctx, module, base, bytes(data), [spans[i] for i in indices],
                                   indices)  # fmt: skip
    accepted = 0
    problems: list[str] = []
    for i, n in zip(indices, verdicts):
        f = funcs[i]
        assert f.body is None, "the native filter must not decode the body"
        full: int | Exception
        try:
            full = check_func(ctx, base + i, f)  # no ``fast``: the full checker alone
        except (ValidationError, DecodeError) as e:
            full = e
        if n >= 0:
            accepted += 1
            if full != n:
                problems.append(f"function {base + i}: native accepted ({n} instructions), "
                                f"full check: {full!r}")  # fmt: skip
        f.body = None
        f.offsets = None
    return accepted, len(funcs), problems


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Module validation uses the native filter whatever the module's size."""
    monkeypatch.setenv("NANOPROC_NATIVE_VALIDATE", "always")


def test_kind_numbers_match_the_fused_check() -> None:
    src = (Path(native.__file__).parent / "bodies.c").read_text()
    enum = re.search(r"enum \{(.*?)\};", src, re.S)
    assert enum is not None
    names = re.findall(r"\bK_\w+", enum.group(1))
    ours = [n for n in dir(fused) if re.fullmatch(r"K_[A-Z]+", n)]
    assert sorted(names[: len(ours)], key=lambda n: getattr(fused, n)) == names[: len(ours)]
    assert [getattr(fused, n) for n in names[: len(ours)]] == list(range(len(ours)))
    extra = names[len(ours):]
    assert [getattr(native, n) for n in extra] == list(range(len(ours), len(names)))


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> ScriptCache:
    return ScriptCache(tmp_path_factory.getbasetemp() / "valid-spec")  # shared with test_valid_spec


@pytest.mark.parametrize("chunk", range(4))
def test_spec_modules_agree(chunk: int, scripts: ScriptCache) -> None:
    root = spec_dir()
    accepted = total = 0
    problems: list[str] = []
    for name in ([p.name for p in spec_files()] or ["(no spec suite)"])[chunk::4]:
        out, commands = scripts.commands(root / name)
        for cmd in commands:
            if cmd.get("module_type") != "binary" or "filename" not in cmd:
                continue
            a, t, p = native_body_verdicts((out / cmd["filename"]).read_bytes())
            accepted += a
            total += t
            problems += [f"{name}:{cmd['line']}: {x}" for x in p]
    assert not problems, "\n".join(problems[:20])
    assert accepted > total // 4  # the native filter really decides many spec bodies


def test_a_body_overrunning_the_input_is_not_accepted(forced: None) -> None:
    head = bytes.fromhex("0061736d01000000" "0104016000" "00" "03020100")
    wasm = head + bytes.fromhex("0a06" "01" "04" "00010b")
    assert native_body_verdicts(wasm) == (0, 1, [])
    assert _verdict(wasm) == _full_verdict(wasm) == "section size mismatch (at offset 0x16)"


@pytest.mark.parametrize("name", ["grep", "sort", "arc", "cpr"])
def test_c_programs_are_decided_by_the_native_filter(name: str, forced: None) -> None:
    wasm = (ROOT / "tests" / "wasi" / "wasm" / f"{name}.wasm").read_bytes()
    accepted, total, problems = native_body_verdicts(wasm)
    assert not problems, "\n".join(problems)
    assert accepted == total, (accepted, total)
    assert _verdict(wasm) is None


@pytest.mark.parametrize("invalid", [False, True])
def test_smith_modules_and_mutants_agree(invalid: bool, forced: None) -> None:
    rng = random.Random(20 + invalid)
    problems: list[str] = []
    checked = accepted = 0
    for seed in range(1000 * invalid + 100, 1000 * invalid + 130):
        wasm = _smith(seed, invalid)
        if wasm is None:
            continue
        for k in range(6):
            data = wasm if k == 0 else mutate(wasm, rng)
            a, _, p = native_body_verdicts(data)
            accepted += a
            problems += [f"seed {seed} mutant {k}: {x}" for x in p]
            ours = _verdict(data)
            full = _full_verdict(data)
            if ours != full:
                problems.append(f"seed {seed} mutant {k}: {ours!r}, without fused/native: "
                                f"{full!r}")  # fmt: skip
            checked += 1
    assert checked >= 60
    assert accepted > 0 or invalid
    assert not problems, "\n".join(problems[:20])


# Cases of test_valid_fused.FEATURE_CASES the native filter must decide itself.
NATIVE_DECIDES = {"exceptions", "if with parameters", "simd", "simd lanes"}


@pytest.mark.parametrize("name", [c[0] for c in FEATURE_CASES])
def test_wasm3_features(name: str, forced: None) -> None:
    from nanoproc.api.wat import wat2wasm

    text = next(t for n, t, _ in FEATURE_CASES if n == name)
    wasm = bytes(wat2wasm(text))
    accepted, total, problems = native_body_verdicts(wasm)
    assert not problems, "\n".join(problems)
    if name in NATIVE_DECIDES:
        assert accepted == total, (accepted, total)
    assert _verdict(wasm) == _full_verdict(wasm)


# ---------------------------------------------------------------- operand types, op by op
_CONSTS = {  # type code -> an instruction pushing a value of that type
    1: b"\x41\x00", 2: b"\x42\x00", 3: b"\x43" + bytes(4), 4: b"\x44" + bytes(8),
    5: b"\xfd\x0c" + bytes(16),
}  # fmt: skip


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _vec(items: list[bytes]) -> bytes:
    return _uleb(len(items)) + b"".join(items)


def _module_of_bodies(bodies: list[bytes]) -> bytes:
    """A module with one memory and a function of type [] -> [] per body (instructions
    without the final end)."""
    def section(sid: int, payload: bytes) -> bytes:
        return bytes([sid]) + _uleb(len(payload)) + payload

    code = [b"\x00" + body + b"\x0b" for body in bodies]
    return (b"\x00asm\x01\x00\x00\x00" + section(1, _vec([b"\x60\x00\x00"]))
            + section(3, _vec([b"\x00"] * len(bodies))) + section(5, _vec([b"\x00\x01"]))
            + section(10, _vec([_uleb(len(c)) + c for c in code])))  # fmt: skip


def _imms(op: Any, align_extra: int, lane_extra: int) -> bytes:
    """The immediates of ``op``: natural alignment and offset 0, the last lane."""
    out = b""
    for imm in op.imms:
        if imm == "memarg":
            out += bytes([op.width.bit_length() - 1 + align_extra, 0])
        elif imm == "lane":
            out += bytes([op.lanes - 1 + lane_extra])
        elif imm == "shuffle":
            out += bytes([op.lanes - 1 + lane_extra] * 16)
    return out


def _operand_cases() -> list[tuple[str, bytes]]:
    """For every instruction of the native filter's simple kinds: its operands pushed,
    the instruction, its results dropped (valid); then each operand of another type,
    one operand missing, and (where it has one) a lane index or alignment too big."""
    from nanoproc.internal.syntax.ops import OPS

    kinds = native._op_tables(True)[0]
    simple = {fused.K_BIN, fused.K_UN, fused.K_LOAD, fused.K_STORE, fused.K_FIXED,
              native.K_LANE, native.K_SHUFFLE, native.K_LOADLANE, native.K_STORELANE}  # fmt: skip
    cases: list[tuple[str, bytes]] = []
    for op in OPS:
        if op.prefix is None:
            at, opcode = op.code, bytes([op.code])
        elif op.prefix in native.PREFIXES and op.code < native.PREFIX_SPAN:
            at = 256 + native.PREFIXES.index(op.prefix) * native.PREFIX_SPAN + op.code
            opcode = bytes([op.prefix]) + _uleb(op.code)
        else:
            continue
        if kinds[at] not in simple:
            continue
        params = [native.type_code(t) for t in op.params]
        if op.rule == "memarg":
            params = [1] + params  # the address (memory 0 is i32)
        results = [native.type_code(t) for t in op.results]

        def body(ps: list[int], align_extra: int = 0, lane_extra: int = 0,
                 op: Any = op, opcode: bytes = opcode, nres: int = len(results)) -> bytes:
            pushes = b"".join(_CONSTS[p] for p in ps)
            return pushes + opcode + _imms(op, align_extra, lane_extra) + b"\x1a" * nres

        cases.append((f"{op.name}", body(params)))
        for i, p in enumerate(params):
            for q in _CONSTS:
                if q != p:
                    ps = params[:i] + [q] + params[i + 1 :]
                    cases.append((f"{op.name} operand {i} {q}", body(ps)))
        if params:
            cases.append((f"{op.name} missing operand", body(params[1:])))
        if "memarg" in op.imms:
            cases.append((f"{op.name} align+1", body(params, align_extra=1)))
        if "lane" in op.imms or "shuffle" in op.imms:
            cases.append((f"{op.name} lane+1", body(params, lane_extra=1)))
    return cases


def test_operand_types_op_by_op() -> None:
    cases = _operand_cases()
    assert len(cases) > 1000
    wasm = _module_of_bodies([b for _, b in cases])
    accepted, total, problems = native_body_verdicts(wasm)
    assert not problems, "\n".join(f"{cases[int(p.split()[1].rstrip(':'))][0]}: {p}"
                                   for p in problems[:20])  # fmt: skip
    valid = sum(1 for name, _ in cases if " " not in name)
    assert accepted == valid, (accepted, valid, total)  # the valid ones, and only those


def test_without_llvmlite_validation_is_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    grep = (ROOT / "tests" / "wasi" / "wasm" / "grep.wasm").read_bytes()
    bad = bytearray(_module_of_bodies([_CONSTS[2] + b"\x1a", _CONSTS[1] + _CONSTS[2] + b"\x6a\x1a"]))
    monkeypatch.setenv("NANOPROC_NATIVE_VALIDATE", "always")
    monkeypatch.setitem(sys.modules, "llvmlite", None)  # import fails
    monkeypatch.setitem(sys.modules, "llvmlite.binding", None)
    native._compiled.cache_clear()
    native._usable.cache_clear()
    try:
        assert not native.available()
        assert _verdict(grep) is None
        assert _verdict(bytes(bad)) == _full_verdict(bytes(bad))
        assert "type mismatch" in str(_verdict(bytes(bad)))
    finally:
        native._compiled.cache_clear()
        native._usable.cache_clear()
