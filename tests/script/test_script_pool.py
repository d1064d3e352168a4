"""Running scripts in worker processes: order, crashes and hard time limits.

The engine stand-in is a module importable by name (workers import the API module
themselves): wasmtime, except that modules exporting "die" kill the worker and
modules exporting "hang" hang (with SIGALRM blocked, the in-process time limit
cannot reach them, as with a runaway native loop).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nanoproc.internal.script import pool
from nanoproc.internal.script.pool import run_files

FAKE_API = '''
import os
import signal
import time

from wasmtime import *  # noqa: F403
import wasmtime as _w


if os.environ.get("FAKE_POOL_API_NO_ALARM"):  # as native code would: the alarm never lands
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})


def Module(engine, data):
    if b"die" in data:
        os._exit(3)
    if b"hang" in data:
        time.sleep(60)
    return _w.Module(engine, data)
'''


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    (tmp_path / "fake_pool_api.py").write_text(FAKE_API)
    monkeypatch.syspath_prepend(str(tmp_path))
    bodies = {
        "ok": '(module (func (export "f") (result i32) (i32.const 1)))\n'
              '(assert_return (invoke "f") (i32.const 1))\n',
        "bad": '(module (func (export "f") (result i32) (i32.const 1)))\n'
               '(assert_return (invoke "f") (i32.const 2))\n',
        "die": '(module (func (export "die")))\n',
        "hang": '(module (func (export "hang")))\n',
    }
    out = {}
    for name, body in bodies.items():
        path = tmp_path / f"{name}.wast"
        path.write_text(body)
        out[name] = str(path)
    return out


def test_results_come_back_in_order(scripts: dict[str, str]) -> None:
    seen: list[str] = []
    paths = [scripts["bad"], scripts["ok"], scripts["bad"]]
    results = run_files(paths, jobs=2, api_name="fake_pool_api",
                        on_result=lambda r: seen.append(r.path))
    assert [r.path for r in results] == paths
    assert sorted(seen) == sorted(paths)
    assert [(r.passed, r.failed) for r in results] == [(1, 1), (2, 0), (1, 1)]
    assert "expected i32 2, got 1" in str(results[0].failures[0])


def test_a_dying_worker_fails_its_file_only(scripts: dict[str, str]) -> None:
    results = run_files([scripts["die"], scripts["ok"]], jobs=2, api_name="fake_pool_api")
    assert results[0].failed == 1
    assert "worker process died (exit code 3)" in str(results[0].failures[0])
    assert (results[1].passed, results[1].failed) == (2, 0)


def test_a_hung_worker_is_killed(scripts: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "GRACE", 1.0)
    monkeypatch.setenv("FAKE_POOL_API_NO_ALARM", "1")
    start = time.monotonic()
    [result] = run_files([scripts["hang"]], api_name="fake_pool_api", timeout=0.5)
    assert time.monotonic() - start < 30
    assert (result.passed, result.failed) == (0, 1)
    assert "killed: still running 1.5s after it started" in str(result.failures[0])


def test_an_unimportable_api_is_a_failure(scripts: dict[str, str]) -> None:
    [result] = run_files([scripts["ok"]], api_name="no_such_api_module")
    assert result.failed == 1
    assert "ModuleNotFoundError" in str(result.failures[0])
