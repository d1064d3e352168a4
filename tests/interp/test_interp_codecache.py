"""The interp tier's translation cache (internal/interp/codecache.py): a second run
takes the translations the first one made, with the same results, traps and
backtraces; the verdict of validation comes with them; anything damaged is a
cache miss, never a wrong result."""

from __future__ import annotations

import gc
import struct
from pathlib import Path
from typing import Any

import pytest

import nanoproc
from nanoproc.internal.interp import codecache, translate

WAT = """
(module
  (memory (export "mem") 1)
  (func $leaf (export "leaf") (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 7)) (then unreachable))
    (i32.store (i32.const 0) (local.get 0))
    (i32.div_s (i32.const 100) (i32.sub (local.get 0) (i32.const 9))))
  (func $mid (param i32) (result i32) (call $leaf (local.get 0)))
  (func $fl (export "fl") (param f64) (result f64)
    (f64.mul (local.get 0) (f64.const nan:0x4000000000001)))
  (func $tail (param i32) (result i32) (return_call $mid (local.get 0)))
  (func (export "run") (param i32) (result i32) (call $tail (local.get 0)))
)
"""


@pytest.fixture(autouse=True)
def _small_modules_cached(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NANOPROC_INTERP_CACHE", raising=False)
    monkeypatch.delenv("NANOPROC_INTERP_DUMP", raising=False)
    monkeypatch.setattr(codecache, "MIN_CODE_BYTES", 0)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []
    real = translate.translate_function

    def counted(art: Any, funcidx: int, options: Any) -> Any:
        made.append(funcidx)
        return real(art, funcidx, options)

    monkeypatch.setattr(translate, "translate_function", counted)
    return made


def _interp_instance(wasm: bytes) -> tuple[Any, Any, Any, Any]:
    """``(engine, module, store, instance)`` of ``wasm`` on a fresh interp engine."""
    config = nanoproc.Config()
    config.strategy = "interp"
    engine = nanoproc.Engine(config)
    module = nanoproc.Module(engine, wasm)
    store = nanoproc.Store(engine)
    return engine, module, store, nanoproc.Instance(store, module, [])


def _session(wasm: bytes) -> tuple[list[Any], str, list[tuple[Any, ...]]]:
    """Run the module in a fresh engine; what it observed. The module is dropped at
    the end (its translations go to the cache)."""
    engine, module, store, inst = _interp_instance(wasm)
    ex = inst.exports(store)
    results = [ex["run"](store, 3), struct.pack("<d", ex["fl"](store, 2.5))]
    results.append(ex["mem"].read(store, 0, 4))
    with pytest.raises(nanoproc.Trap) as info:
        ex["run"](store, 7)
    frames = [(f.func_index, f.func_name, f.func_offset) for f in info.value.frames or []]
    message = str(info.value)
    del ex, inst, store, module, engine, info
    gc.collect()
    return results, message, frames


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "interp").rglob("*.code"))


def test_a_second_run_takes_the_translations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wasm = nanoproc.wat2wasm(WAT)
    made = _counting(monkeypatch)
    first = _session(wasm)
    assert made and _cache_files(tmp_path)
    made.clear()
    second = _session(wasm)
    assert made == []  # nothing translated again
    assert second == first
    assert [f[1] for f in first[2]][:2] == ["leaf", "mid"]


def test_the_cached_verdict_skips_body_validation(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from nanoproc.internal import valid

    wasm = nanoproc.wat2wasm(WAT)
    _session(wasm)
    seen: list[bool] = []
    real = valid.validate_module

    def spy(module: Any, bodies: bool = True, **kw: Any) -> Any:
        seen.append(bodies)
        return real(module, bodies=bodies, **kw)

    monkeypatch.setattr(valid, "validate_module", spy)
    _session(wasm)
    assert seen == [False]
    for path in _cache_files(tmp_path):  # damaged: validated again, translated again
        data = bytearray(path.read_bytes())
        data[-3] ^= 0x40
        path.write_bytes(bytes(data))
    seen.clear()
    made = _counting(monkeypatch)
    _session(wasm)
    assert seen == [True] and made


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "swap", "empty"])
def test_a_damaged_cache_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   damage: str) -> None:
    wasm = nanoproc.wat2wasm(WAT)
    first = _session(wasm)
    (path,) = _cache_files(tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    elif damage == "garbage":
        path.write_bytes(codecache.MAGIC + b"\0" * 40)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # intact checksum, but each function's entry holds another one's code
        entries = codecache.read(path)
        keys = sorted(entries)
        codecache.write(path, {k: entries[keys[(i + 1) % len(keys)]]
                               for i, k in enumerate(keys)})  # fmt: skip
    made = _counting(monkeypatch)
    assert _session(wasm) == first
    assert made  # translated again where the cache could not serve
    assert _session(wasm) == first  # and the rewritten file serves the next run


def test_other_options_have_their_own_translations(tmp_path: Path) -> None:
    wasm = nanoproc.wat2wasm(WAT)
    _session(wasm)
    config = nanoproc.Config()
    config.strategy = "interp"
    config.consume_fuel = True
    engine = nanoproc.Engine(config)
    module = nanoproc.Module(engine, wasm)
    store = nanoproc.Store(engine)
    store.set_fuel(1000)
    inst = nanoproc.Instance(store, module, [])
    assert inst.exports(store)["run"](store, 3) == -16
    left = store.get_fuel()
    assert 0 < left < 1000
    del inst, store, module
    gc.collect()
    assert len(_cache_files(tmp_path)) == 2
    store = nanoproc.Store(engine)
    store.set_fuel(1000)
    inst = nanoproc.Instance(store, nanoproc.Module(engine, wasm), [])
    assert inst.exports(store)["run"](store, 3) == -16
    assert store.get_fuel() == left  # cached code meters the same


def test_an_unwritable_cache_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(blocker))
    wasm = nanoproc.wat2wasm(WAT)
    assert _session(wasm) == _session(wasm)


SIMD_SCRIPT = """
import sys
import nanoproc
from nanoproc.internal.interp import codecache, translate
codecache.MIN_CODE_BYTES = 0
if len(sys.argv) > 1:  # the second run: everything must come from the cache
    def refuse(*args):
        raise AssertionError("translated although cached")
    translate.translate_function = refuse
config = nanoproc.Config()
config.strategy = "interp"
engine = nanoproc.Engine(config)
wat = '''(module (func) (func (export "run") (param i32) (result i32)
  (i32x4.extract_lane 2 (i32x4.mul (i32x4.splat (local.get 0)) (v128.const i32x4 1 2 3 4)))))'''
module = nanoproc.Module(engine, nanoproc.wat2wasm(wat))
store = nanoproc.Store(engine)
run = nanoproc.Instance(store, module, []).exports(store)["run"]
print(run(store, 5), "simd_lanes" in str(list(sys.modules)))
"""


def test_simd_helpers_come_with_cached_code_that_calls_them(tmp_path: Path) -> None:
    """The SIMD helpers are loaded on first need (helpers.ensure_simd): by the first
    SIMD instruction translated, or by cached code that names them."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NANOPROC_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(nanoproc.__file__).parent.parent)}  # fmt: skip
    env.pop("NANOPROC_INTERP_CACHE", None)
    plain = subprocess.run([sys.executable, "-c", "import sys, nanoproc\n"
                            "print('simd_lanes' in str(list(sys.modules)))"],
                           env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert plain.stdout.split() == ["False"]
    outs = [subprocess.run([sys.executable, "-c", SIMD_SCRIPT, *extra], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
            for extra in ([], ["cached"])]  # fmt: skip
    assert outs == [["15", "True"], ["15", "True"]]
    assert _cache_files(tmp_path)  # the second run read the first one's translation


DEEP_WAT = """
(module
  (func (export "deep") (result i32)
    (try_table (try_table (try_table (try_table (try_table (nop)))))) (i32.const 5))
  (func (export "run") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
"""


def _deep_session(wasm: bytes) -> list[int]:
    """Instantiate and run; the results."""
    engine, module, store, inst = _interp_instance(wasm)
    ex = inst.exports(store)
    results = [ex["deep"](store), ex["run"](store, 41)]
    del ex, inst, store, module, engine
    gc.collect()
    return results


@pytest.mark.parametrize("wat", [WAT, DEEP_WAT], ids=["no-handlers", "deep-handlers"])
def test_a_cached_start_decodes_no_body_it_does_not_run(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        wat: str) -> None:
    """Instantiation scans no body (handlers nest freely since interp/flat_exc.py; the
    deep-handler scan is gone), so a run whose translations come from the cache
    decodes no body it does not run."""
    from nanoproc.internal.binary import decode

    wasm = nanoproc.wat2wasm(wat)
    if wat is WAT:
        _session(wasm)
    else:
        assert _deep_session(wasm) == [5, 42]
    assert _cache_files(tmp_path)
    decoded: list[int] = []
    real_body = decode._body
    monkeypatch.setattr(decode, "_body", lambda *a: decoded.append(1) or real_body(*a))
    if wat is WAT:
        first = _session(wasm)
        assert len(decoded) <= 4  # at most the bodies of the trap backtrace's 4 frames
        assert first[0][0] == -16
    else:
        assert _deep_session(wasm) == [5, 42]
        assert decoded == []


KEY_SCRIPT = """
import sys
from nanoproc.internal.interp import codecache
from nanoproc.internal.interp.artifact import DEFAULT_OPTIONS
before = codecache.key_path("ab" * 32, DEFAULT_OPTIONS)
assert "nanoproc.internal.interp.translate" not in sys.modules, "translator imported"
from nanoproc.internal.interp import translate
print(before == codecache.key_path("ab" * 32, DEFAULT_OPTIONS), translate.FORCE_FLAT)
"""


@pytest.mark.parametrize("flat", ["", "3"])
def test_the_cache_key_does_not_import_the_translator(tmp_path: Path, flat: str) -> None:
    """A warm start of native code asks the translation cache first: the key is computed
    without importing the translator, and equals the key computed after it is imported
    (``NANOPROC_INTERP_FLAT`` sets the translator's flag that the key includes)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NANOPROC_CACHE_DIR=str(tmp_path / "cache"), NANOPROC_INTERP_FLAT=flat)
    out = subprocess.run([sys.executable, "-c", KEY_SCRIPT], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    assert out == ["True", flat or "None"]


SECOND_RUN_SCRIPT = """
import sys
import nanoproc
from nanoproc.internal.interp import codecache
codecache.MIN_CODE_BYTES = 0
config = nanoproc.Config()
config.strategy = "interp"
engine = nanoproc.Engine(config)
module = nanoproc.Module(engine, sys.argv[1])
store = nanoproc.Store(engine)
ex = nanoproc.Instance(store, module, []).exports(store)
print(ex["run"](store, 3), ex["deep"](store), "nanoproc.internal.interp.translate" in sys.modules)
"""


def test_a_cached_start_does_not_import_the_translator(tmp_path: Path) -> None:
    """Code taken from the translation cache needs no translator: the second run
    imports none of it (the translator's modules are ~15 ms CPU of imports)."""
    import os
    import subprocess
    import sys

    wat = DEEP_WAT.replace('(func (export "run")', '(func $leaf (param i32) (result i32) '
                           "(i32.mul (local.get 0) (i32.const 7)))\n"
                           '  (func (export "run")').replace(
        "(i32.add (local.get 0) (i32.const 1))", "(i32.add (call $leaf (local.get 0)) (i32.const 1))")
    env = {**os.environ, "NANOPROC_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(nanoproc.__file__).parent.parent)}  # fmt: skip
    env.pop("NANOPROC_INTERP_CACHE", None)
    outs = [subprocess.run([sys.executable, "-c", SECOND_RUN_SCRIPT, wat], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]  # fmt: skip
    assert outs == [["22", "5", "True"], ["22", "5", "False"]]
