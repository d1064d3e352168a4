"""nanoproc's own threads block the asynchronous signals, so Ctrl-C always reaches a
thread of the program (Python runs handlers in the main thread only: a SIGINT the
kernel handed to our ticker or compile thread left a main thread in ``time.sleep``
sleeping on). Checked through the thread's signal mask, which the kernel's choice of
thread depends on, and end to end in a CLI run."""

from __future__ import annotations

import ast
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import nanoproc
from nanoproc.internal import threads

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(),
                                reason="needs Linux /proc to read a thread's signal mask")  # fmt: skip

SRC = Path(__file__).resolve().parents[2] / "src" / "nanoproc"


def _blocked(native_id: int) -> set[int]:
    for line in Path(f"/proc/self/task/{native_id}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {n + 1 for n in range(64) if mask >> n & 1}
    raise AssertionError("no SigBlk line")


def _mask_of(name_prefix: str) -> set[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for t in threading.enumerate():
            if t.name.startswith(name_prefix) and t.native_id is not None:
                try:
                    return _blocked(t.native_id)
                except FileNotFoundError:
                    pass
        time.sleep(0.01)
    raise AssertionError(f"no thread named {name_prefix!r} appeared")


def test_start_daemon_blocks_sigint_in_the_thread_only() -> None:
    seen: list[set[int]] = []
    done = threading.Event()

    def body() -> None:
        assert threading.current_thread().native_id is not None
        seen.append(_blocked(threading.current_thread().native_id))
        done.set()

    threads.start_daemon(body, "probe").join(10)
    assert done.is_set()
    assert signal.SIGINT in seen[0] and signal.SIGTERM in seen[0]
    assert signal.SIGSEGV not in seen[0]
    main = threading.main_thread().native_id
    assert main is not None and signal.SIGINT not in _blocked(main)


def test_the_epoch_ticker_blocks_sigint() -> None:
    from nanoproc.api.timeout import EpochTicker

    EpochTicker(nanoproc.Engine(nanoproc.Config())).deadline_after(0.5)
    assert signal.SIGINT in _mask_of("nanoproc-epoch-ticker")


def test_no_thread_is_started_around_the_helper() -> None:
    """Every thread nanoproc starts in the host process goes through
    internal/threads.py; the one exception is the compile worker's watcher of its
    parent, which runs in the worker process."""
    calls = []
    for path in SRC.rglob("*.py"):
        if path.name == "threads.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("Thread", "Timer")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "threading"):  # fmt: skip
                target = ast.unparse(node)
                calls.append(f"{path.relative_to(SRC)}: {target}")
    assert calls == ["internal/workers.py: threading.Thread(target=_watch_parent, "
                     "args=(ppid,), daemon=True)"], calls  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="signal delivery as on Linux")
def test_worker_processes_start_with_an_empty_mask() -> None:
    """A worker started from a thread of ours would inherit its blocked signals."""
    import subprocess

    code = ("from nanoproc.internal import threads; import signal;"
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM});"
            "threads.unblock_all();"
            "print(sorted(signal.pthread_sigmask(signal.SIG_BLOCK, set())))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC.parent)}, check=True).stdout  # fmt: skip
    assert out.strip() == "[]"
