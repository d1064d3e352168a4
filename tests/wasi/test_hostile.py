"""The hostile-guest battery: src/hostile.c tries to get out of its preopens in
every way it can (``..``, absolute paths, symlinks planted by the host and made by
itself, loops, hard links and renames across the boundary, writes through a
read-only preopen, descriptors never granted, NUL bytes, invalid UTF-8, huge
paths and iovecs) and prints what each attempt got.

Each case is checked against expected/hostile.out (the errno the preview1 spec
and wasmtime give), must show no byte of anything outside, and afterwards the
world outside the sandbox (including the read-only preopen) must be unchanged
byte for byte, by mtime, and unread (atimes set old beforehand, so any read or
listing would move them). src/race.c adds a symlink swapped under a running
guest. The host process survives all of it (the runs return normally).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from wasi_harness import (
    RUNNERS,
    WASMTIME_DIFFERS,
    Dir,
    Program,
    age_atimes,
    atimes,
    expected_for,
    expected_lines,
    make_tree,
    run,
    snapshot,
)

WASMTIME_DIFFERS["hostile"] = {
    # wasmtime never preallocates (ENOTSUP); nanoproc checks the read-only preopen (EPERM)
    "ro_fd_allocate": "58",
    # wasmtime refuses a 2**31-entry iovec array with ENOMEM; nanoproc looks at the
    # first IOV_MAX entries only and writes the first non-empty one
    "huge_iovec_count": "48 n=0",
    # wasmtime does not implement fd_fdstat_set_rights (ENOTSUP) nor enforce dropped
    # rights; nanoproc does, as the spec says (ENOTCAPABLE after dropping FD_READ)
    "rights_drop": "58",
    "rights_dropped_read": "0",
    "rights_regain": "58",
}

SECRETS = ("TOP SECRET", "INNER", "DEEP", "OUTSIDE RACE")
CASES = [line.partition(": ")[0] for line in expected_lines("hostile")]


def build_world(root: Path) -> None:
    make_tree(root, {
        "secret.txt": "TOP SECRET\n",
        "outside": {"inner.txt": "INNER\n", "deep": {"d.txt": "DEEP\n"},
                    "secret_race.txt": "OUTSIDE RACE"},
        "ro": {"ro.txt": "read only\n", "rodir": {}},
        "sandbox": {
            "file.txt": "inside\n", "a": {"b": {}}, "sub": {"x.txt": "x\n"},
            "subdirlink": ("link", "sub"),
            "escape_abs": ("link", str(root / "secret.txt")),
            "escape_rel": ("link", "../secret.txt"),
            "escape_dir": ("link", "../outside"),
            "escape_dir_abs": ("link", str(root / "outside")),
            "root": ("link", "/"),
            "loop1": ("link", "loop2"), "loop2": ("link", "loop1"),
            "self": ("link", "self"),
            "dangle": ("link", "../created_outside"),
        },
    })  # fmt: skip


class Outcome:
    """One runner's run of hostile.wasm and the world before and after it."""

    def __init__(self, runner: str, root: Path) -> None:
        build_world(root)
        self.before = snapshot(root, skip=("sandbox",))
        age_atimes(root)
        # atimes of everything outside both preopens (reading /ro is allowed)
        self.paths = sorted(p for p in self.before if p != "ro" and not p.startswith("ro/"))
        self.atimes_before = atimes(root, self.paths)
        prog = Program("hostile", [str(root / "secret.txt")],
                       [Dir(root / "sandbox", "/sandbox"), Dir(root / "ro", "/ro", read_only=True)])
        self.result = run(runner, prog)
        self.atimes_after = atimes(root, self.paths)
        self.after = snapshot(root, skip=("sandbox",))
        self.lines = {ln.partition(": ")[0]: ln for ln in self.result.lines}
        self.expected = {ln.partition(": ")[0]: ln for ln in expected_for(runner, "hostile")}


_OUTCOMES: dict[str, Outcome] = {}


@pytest.fixture
def outcome(runner: str, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The hostile run for ``runner``, made once per test process."""
    if runner not in _OUTCOMES:
        _OUTCOMES[runner] = Outcome(runner, tmp_path_factory.mktemp(f"hostile-{runner}") / "world")
    return _OUTCOMES[runner]


@pytest.fixture(params=RUNNERS)
def runner(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_battery_has_enough_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES)
def test_case(outcome: Outcome, case: str) -> None:
    got = outcome.lines.get(case)
    assert got == outcome.expected[case]
    assert not any(s in got for s in SECRETS)


def test_run_completed(outcome: Outcome) -> None:
    """The guest ran to its end and the host is fine (we are still here)."""
    assert outcome.result.code == 0, outcome.result.stderr
    assert outcome.result.trap is None
    assert list(outcome.lines) == CASES


def test_nothing_outside_changed(outcome: Outcome) -> None:
    assert outcome.after == outcome.before


def test_nothing_outside_read_or_listed(outcome: Outcome) -> None:
    changed = {p for p in outcome.paths if outcome.atimes_before.get(p) != outcome.atimes_after.get(p)}
    assert not changed


def test_nothing_created_through_root_link() -> None:
    assert not Path("/tmp/pwned_dir").exists()


# ---------------------------------------------------------------- the race
def _swap_link(link: Path, targets: list[str], stop: threading.Event, swaps: list[int]) -> None:
    """Keep atomically re-pointing ``link`` at each of ``targets`` in turn."""
    tmp = link.with_name(link.name + ".next")
    i = 0
    while not stop.is_set():
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(targets[i % len(targets)], tmp)
        os.replace(tmp, link)
        i += 1
        time.sleep(0)
    swaps.append(i)


@pytest.mark.parametrize("runner", RUNNERS)
def test_symlink_swapped_during_walk(runner: str, tmp_path: Path) -> None:
    root = tmp_path / "world"
    build_world(root)
    make_tree(root / "sandbox", {"race_real": {"secret_race.txt": "INSIDE RACE\n"},
                                 "race": ("link", "race_real")})  # fmt: skip
    before = snapshot(root, skip=("sandbox",))
    stop, swaps = threading.Event(), []  # type: ignore[var-annotated]
    targets = ["race_real", "../outside", str(root / "outside"), "race_real/../../outside"]
    swapper = threading.Thread(target=_swap_link, args=(root / "sandbox" / "race", targets, stop, swaps))
    swapper.start()
    try:
        rounds = "300" if runner in ("wasmtime", "shim") else "60"
        result = run(runner, Program("race", [rounds], [Dir(root / "sandbox", "/sandbox")]))
    finally:
        stop.set()
        swapper.join()
    counts: dict[str, Any] = dict(ln.split(": ") for ln in result.lines if ": " in ln)
    assert counts.get("race_leaks") == "0", result.lines
    assert not any(s in result.stdout.decode() for s in SECRETS)
    assert int(counts["race_inside"]) + int(counts["race_refused"]) == int(rounds)
    assert result.code == 0
    assert swaps and swaps[0] > 0
    assert snapshot(root, skip=("sandbox",)) == before
