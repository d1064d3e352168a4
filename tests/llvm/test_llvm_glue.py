"""Entries and host thunks shared per shape (llvm/glue.py): compiled once for every
module with the shape, overlapping objects linked together, damaged entries rebuilt,
and the code they make runs (calls in, host calls out, traps) as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llvm_helpers import call, compile_wat, host_func, new_instance

from nanoproc.internal.exec.trap import Trap
from nanoproc.internal.llvm import cache, compiler, glue, jit
from nanoproc.internal.llvm.backend import LLVMBackend
from nanoproc.internal.llvm.symbols import module_shapes
from nanoproc.internal.syntax.types import I64, FuncType


def _module(params: str, body: str, extra: str = "") -> str:
    return f"""(module
      (import "h" "f" (func $h (param i64) (result i64)))
      {extra}
      (func (export "f") {params} (result i64) {body}))"""


A = _module("(param i64)", "local.get 0 call $h i64.const 1 i64.add")
B = _module("(param i64) (param f64)", "local.get 0 call $h",
            "(func (export \"div\") (param i32) (result i32) i32.const 7 local.get 0 i32.div_s)")


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NANOPROC_LLVM_CACHE", raising=False)
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setattr(glue, "_memory", {})
    return tmp_path / "llvm"


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The IR texts of Wasm code and glue LLVM is asked to compile from now on (not
    the runtime's own code, llvm.interrupts, compiled once per process)."""
    seen: list[str] = []
    real = jit.compile_ir

    def counting(text: str, opt: int, passes: bool = True) -> bytes:
        if "@w_" in text:
            seen.append(text)
        return real(text, opt, passes)

    monkeypatch.setattr(jit, "compile_ir", counting)
    return seen


def _host() -> Any:
    return host_func(FuncType((I64,), (I64,)), lambda x: x * 2)


def test_a_shape_is_compiled_once_for_every_module(empty_cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _compiles(monkeypatch)
    backend = LLVMBackend(opt_level=2)
    inst = new_instance(compile_wat(A), [_host()], backend=backend)
    assert call(inst, "f", 20, backend=backend) == 41
    assert len(texts) == 2  # the module's functions, then its glue
    assert "@w_f" in texts[0] and "@w_entry_" not in texts[0]
    assert "define weak_odr dso_local" in texts[1]
    # B shares A's shapes (i64 -> i64 for its import) and adds two: only those compile.
    texts.clear()
    inst = new_instance(compile_wat(B), [_host()], backend=backend)
    assert call(inst, "f", 5, 1.5, backend=backend) == 10
    assert call(inst, "div", 2, backend=backend) == 3
    with pytest.raises(Trap):
        call(inst, "div", 0, backend=backend)
    assert call(inst, "div", 7, backend=backend) == 1  # after the trap
    assert len(texts) == 2
    glue_text = texts[1]
    assert "@w_entry_PI_RI(" not in glue_text  # A's shape: shared, not compiled again
    assert glue_text.count("define weak_odr") == 2 * 2 + 2  # 2 entry shapes, 2 thunks


def test_objects_defining_the_same_shape_link_together(empty_cache: Path) -> None:
    """Two batches that both define a shape (compiled for different modules) are
    linked into one library: the weak definitions resolve to one."""
    i, li, f = ("i", "i"), ("I", "I"), ("F", "F")  # i32 -> i32, i64 -> i64, f64 -> f64
    first = glue.glue_objects([i, li], 2)
    glue._memory.clear()
    for kind, s in (("entry", li), ("thunk", li)):  # li forgotten: compiled again with f
        path = cache._path(glue._key(kind, s, 2))
        assert path is not None
        path.unlink()
    second = glue.glue_objects([li, f], 2)
    assert len(first) == 1 and len(second) == 1 and first != second
    both = glue.glue_objects([i, li, f], 2)
    assert len(both) == 2
    backend = LLVMBackend(opt_level=2)
    cm = compile_wat(A)
    assert set(module_shapes(cm.module)) == {li}
    code = compiler.load_code(cm, [compiler.compile_partition(
        cm, compiler.partitions(cm, 1)[0].__class__(0, [1], False), compiler.CodeOptions(2)),
        *both])  # fmt: skip
    assert code.entries and code.thunks
    inst = new_instance(cm, [_host()], backend=backend)
    assert call(inst, "f", 1, backend=backend) == 3


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_a_damaged_glue_entry_is_rebuilt(empty_cache: Path, damage: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    backend = LLVMBackend(opt_level=1)
    new_instance(compile_wat(A), [_host()], backend=backend)
    entries = sorted(empty_cache.rglob(glue.KEY_PREFIX + "*.obj"))
    assert entries
    for entry in entries:
        good = entry.read_bytes()
        entry.write_bytes(good[:-9] + bytes([good[-9] ^ 4]) + good[-8:] if damage == "flipped"
                          else good[: len(good) // 2])
    for other in set(empty_cache.rglob("*.obj")) - set(entries):
        other.unlink()  # the module's own entry (its objects include the glue)
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setattr(glue, "_memory", {})
    texts = _compiles(monkeypatch)
    inst = new_instance(compile_wat(A), [_host()], backend=LLVMBackend(opt_level=1))
    assert call(inst, "f", 4, backend=backend) == 9
    assert any("weak_odr" in t for t in texts)  # the glue compiled again
    assert all(cache.decode(e.read_bytes(), e.stem) is not None for e in entries)


def test_compiling_without_the_shared_glue_still_works(empty_cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A module compiled in the background (the tiered strategy's workers) carries its
    own glue, strong definitions, as before: both kinds of entries load and run."""
    cm = compile_wat(A)
    objects = compiler.module_objects(cm, compiler.CodeOptions(1), background=True)
    assert len(objects) == 1 and not glue._memory
    code = compiler.load_code(cm, objects)
    assert code.entries and code.thunks
