"""The compile cache: keys, disk entries, corrupt and truncated entries, concurrent
writers, and parallel compilation (whose objects the cache stores)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from llvm_helpers import call, compile_wat, new_instance

from nanoproc.internal.llvm import cache, compiler, glue, jit, link
from nanoproc.internal.llvm.backend import LLVMBackend

TEXT = """(module (func (export "f") (param i32) (result i32)
            local.get 0 i32.const 3 i32.mul))"""


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty disk cache (and an empty memory cache) for one test."""
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NANOPROC_LLVM_CACHE", raising=False)
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setattr(glue, "_memory", {})
    return tmp_path / "llvm"


def _entries(d: Path) -> list[Path]:
    """Entries of modules (not the runtime's own code, see llvm.interrupts, nor the
    entries and thunks shared per shape, see llvm.glue, nor linked images, see
    llvm.link)."""
    runtime = cache.cache_key("interrupts", "opt=2")
    return sorted(p for p in d.rglob("*.obj")
                  if not p.name.startswith((".tmp", runtime, glue.KEY_PREFIX, link.IMAGE_PREFIX)))  # fmt: skip


def _fresh(text: str, opt: int = 1) -> tuple[LLVMBackend, object]:
    backend = LLVMBackend(opt_level=opt)
    return backend, new_instance(compile_wat(text), backend=backend)


def test_compiling_writes_one_entry_and_reuses_it(cache_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    backend, inst = _fresh(TEXT)
    assert call(inst, "f", 5, backend=backend) == 15
    (entry,) = _entries(cache_dir)
    assert cache.decode(entry.read_bytes(), entry.stem) is not None
    monkeypatch.setattr(cache, "_memory", {})

    def no_llvm(*_: object) -> bytes:
        raise AssertionError("compiled although the cache had the code")

    monkeypatch.setattr(jit, "compile_ir", no_llvm)
    backend, inst = _fresh(TEXT)
    assert call(inst, "f", 7, backend=backend) == 21


def test_key_covers_the_module_and_the_opt_level(cache_dir: Path) -> None:
    _fresh(TEXT, opt=1)
    _fresh(TEXT, opt=0)
    _fresh(TEXT.replace("i32.const 3", "i32.const 4"), opt=1)
    assert len(_entries(cache_dir)) == 3
    assert len({cache.cache_key("a", "opt=1"), cache.cache_key("b", "opt=1"),
                cache.cache_key("a", "opt=2")}) == 3  # fmt: skip


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "empty"])
def test_a_bad_entry_is_ignored_and_rebuilt(cache_dir: Path, damage: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh(TEXT)
    (entry,) = _entries(cache_dir)
    good = entry.read_bytes()
    bad = {"garbage": b"not a cache entry at all" * 10, "truncated": good[: len(good) // 2],
           "flipped": good[:-10] + bytes([good[-10] ^ 1]) + good[-9:], "empty": b""}[damage]
    entry.write_bytes(bad)
    assert cache.decode(bad, entry.stem) is None
    monkeypatch.setattr(cache, "_memory", {})
    backend, inst = _fresh(TEXT)
    assert call(inst, "f", 2, backend=backend) == 6
    assert entry.read_bytes() == good


def test_damage_anywhere_in_an_entry_means_a_fresh_compile(cache_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of place in an entry (magic, digest, count, object length, the object
    itself, its end), flipped or cut there, and an intact entry under another key's
    name: never decoded, the module compiles again and computes the right answer."""
    _fresh(TEXT)
    (entry,) = _entries(cache_dir)
    good = entry.read_bytes()
    header = cache._HEADER.size
    places = {"magic": 3, "digest": 8 + 5, "count": 8 + 32, "object length": header,
              "object start": header + 8, "object middle": (header + len(good)) // 2,
              "end": len(good) - 1}  # fmt: skip
    copies = [(f"flip {k}", good[:i] + bytes([good[i] ^ 0x10]) + good[i + 1 :]) for k, i in places.items()]
    copies += [(f"cut at {k}", good[:i]) for k, i in places.items()]
    for name, bad in copies:
        assert cache.decode(bad, entry.stem) is None, name
    other_key = "0" * len(entry.stem)
    assert cache.decode(good, other_key) is None
    for name, bad in copies[::3]:
        entry.write_bytes(bad)
        monkeypatch.setattr(cache, "_memory", {})
        backend, inst = _fresh(TEXT)
        assert call(inst, "f", 2, backend=backend) == 6, name
        assert entry.read_bytes() == good, name


def test_disk_cache_can_be_turned_off(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOPROC_LLVM_CACHE", "0")
    _fresh(TEXT)
    assert not cache_dir.exists() or not _entries(cache_dir)


def _compile_in_process(args: tuple[str, str]) -> int:
    directory, text = args
    os.environ["NANOPROC_CACHE_DIR"] = directory
    import sys

    here = str(Path(__file__).resolve().parent)
    tests = str(Path(__file__).resolve().parent.parent)
    sys.path[:0] = [here, tests]
    from llvm_helpers import call, compile_wat, new_instance

    from nanoproc.internal.llvm.backend import LLVMBackend

    backend = LLVMBackend(opt_level=1)
    inst = new_instance(compile_wat(text), backend=backend)
    return int(call(inst, "f", 11, backend=backend))


def test_concurrent_processes_share_the_cache(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.map(_compile_in_process, [(str(tmp_path), TEXT)] * 6)
    assert results == [33] * 6
    entries = _entries(tmp_path / "llvm")
    assert len(entries) == 1 and cache.decode(entries[0].read_bytes(), entries[0].stem) is not None
    assert not list((tmp_path / "llvm").rglob(".tmp-*"))


def test_parallel_compilation_in_worker_processes(cache_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    funcs = "\n".join(
        f'(func (export "f{i}") (param i32) (result i32) local.get 0 i32.const {i} i32.add)'
        for i in range(24)
    )
    cm = compile_wat(f"(module {funcs})")
    monkeypatch.setattr(compiler, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(compiler, "PARTITION_SIZE", 20)
    parts = compiler.partitions(cm, jobs=2)
    assert len(parts) > 1 and sum(len(p.funcs) for p in parts) == 24
    seen = []
    objects = compiler.module_objects(cm, compiler.CodeOptions(1), jobs=2,
                                      progress=lambda d, t: seen.append((d, t)))
    assert len(objects) == len(parts)
    assert seen[-1] == (len(parts), len(parts))
    backend = LLVMBackend(opt_level=1)
    inst = new_instance(cm, backend=backend)
    assert [call(inst, f"f{i}", 100, backend=backend) for i in (0, 7, 23)] == [100, 107, 123]



def test_reading_key_is_the_full_key(cache_dir: Path) -> None:
    """``reading_key`` (what a warm start computes the keys of units and glue with,
    from the host key recorded under this machine's fingerprint, without LLVM) is
    ``cache_key``; with no recorded host key, or an unusable one, it is computed
    as ``cache_key`` (and recorded)."""
    if cache.machine_fingerprint() is None:
        pytest.skip("no machine fingerprint here: quick keys are off")
    path = cache._host_key_path()
    assert path is not None and not path.exists()
    full = cache.cache_key("m", "c")
    assert path.read_text() == jit.host_target().key()
    assert cache.reading_key("m", "c") == full
    assert cache.reading_key("m2", "c") == cache.cache_key("m2", "c") != full
    cache._known_hosts.clear()  # (it remembers the host key per cache directory)
    cache._recorded.discard(path)
    path.write_text("two\nlines")
    assert cache.reading_key("m", "c") == full
    assert path.read_text() == jit.host_target().key()  # recorded again
