"""The WASI test programs (src/basics.c, files.c, dirs.c, poll.c), run through
every runner: wasmtime-py, nanoproc's host on wasmtime's engine, nanoproc's API
and ``nanoproc run``. Each must print exactly expected/<program>.out; wasmtime is
held to the same lines except the documented WASMTIME_DIFFERS below, where it
departs from the preview1 spec that nanoproc follows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wasi_harness import RUNNERS, WASMTIME_DIFFERS, Dir, Program, expected_for, run

WASMTIME_DIFFERS["basics"] = {
    # wasmtime 50 has no CPU-time clocks (EBADF); nanoproc reads the host's
    "clock_process_cputime": "8",
    "clock_thread_cputime": "8",
    "clock_res_process_cputime": "8",
    "clock_res_thread_cputime": "8",
}
WASMTIME_DIFFERS["files"] = {
    # wasmtime refuses the dsync/sync/rsync fdflags (ENOTSUP); nanoproc opens with
    # O_DSYNC/O_SYNC/O_RSYNC and reports them in fd_fdstat_get
    "open_dsync": "58", "fdstat_dsync": "none",
    "open_sync": "58", "fdstat_sync": "none",
    "open_rsync": "58", "fdstat_rsync": "none",
    # wasmtime never allocates (ENOTSUP); nanoproc preallocates (posix_fallocate)
    "allocate": "58", "allocate_size": "0", "allocate_inside": "58",
    "allocate_zero_len": "58", "allocate_readonly_fd": "58",
}  # fmt: skip

STDIN = b"".join(b"line %d of the input\n" % i for i in range(40))


def program(name: str, work: Path) -> Program:
    if name == "basics":
        env = [("GREETING", "hi there"), ("EMPTY", ""), ("UNICODE", "ünï=çødé")]
        return Program("basics", ["hello", "wörld", "", "--flag=1"], env=env, stdin=STDIN)
    return Program(name, [], [Dir(work, "/work")], stdin=b"input line\n")


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("name", ["basics", "files", "dirs", "poll"])
def test_program(name: str, runner: str, tmp_path: Path) -> None:
    result = run(runner, program(name, tmp_path))
    assert result.trap is None, result.trap
    assert result.code == 0, result.stderr
    assert result.lines == expected_for(runner, name)


@pytest.mark.parametrize("runner", RUNNERS)
def test_stderr_and_exit_status(runner: str) -> None:
    result = run(runner, Program("basics", ["exit", "42"]))
    assert result.code == 42
    assert result.stderr == b"note on stderr\n"
    assert "arg: exit" in result.lines


@pytest.mark.parametrize("runner", RUNNERS)
def test_files_left_behind(runner: str, tmp_path: Path) -> None:
    """What files.c leaves in its directory is the same whoever ran it."""
    run(runner, program("files", tmp_path))
    assert (tmp_path / "a.txt").read_bytes() == b"01AB4"
    assert (tmp_path / "log.txt").read_bytes() == b"ONE\ntwo\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "alloc.bin", "dir", "log.txt"]
