"""The WASI tests and the hostile-guest battery on the llvm tier, explicitly.

(With llvmlite installed, ``"auto"`` picks the llvm tier, so tests/wasi runs on it
too; this module does not depend on that choice.) It reuses tests/wasi: the same
programs, expected outputs and checks, with the ``nanoproc`` runner's engine set to
``strategy="llvm"`` and ``nanoproc run`` given ``--engine llvm``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the llvm tier cannot run")

WASI_TESTS = Path(__file__).resolve().parents[1] / "wasi"
if str(WASI_TESTS) not in sys.path:
    sys.path.insert(0, str(WASI_TESTS))

import test_hostile  # noqa: E402
import test_programs  # noqa: E402
import wasi_harness  # noqa: E402

import nanoproc  # noqa: E402

RUNNERS = wasi_harness.NANOPROC_RUNNERS


@pytest.fixture(scope="module", autouse=True)
def llvm_tier() -> Iterator[None]:
    """Point the harness's nanoproc runners at the llvm tier for this module."""
    config = nanoproc.Config()
    config.strategy = "llvm"
    engine = nanoproc.Engine(config)
    plain_command = wasi_harness.cli_command

    def llvm_command(prog: Any, *extra: str) -> list[str]:
        return plain_command(prog, "--engine", "llvm", *extra)

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(wasi_harness._ENGINES, "nanoproc", engine)
        mp.setattr(wasi_harness, "_MODULES", {})
        mp.setattr(wasi_harness, "cli_command", llvm_command)
        yield


def test_the_engine_is_llvm() -> None:
    assert wasi_harness._engine(nanoproc).tier == "llvm"
    cmd = wasi_harness.cli_command(wasi_harness.Program("basics"))
    assert cmd[cmd.index("--engine") + 1] == "llvm"


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("name", ["basics", "files", "dirs", "poll"])
def test_program(name: str, runner: str, tmp_path: Path) -> None:
    test_programs.test_program(name, runner, tmp_path)


@pytest.mark.parametrize("runner", RUNNERS)
def test_stderr_and_exit_status(runner: str) -> None:
    test_programs.test_stderr_and_exit_status(runner)


_OUTCOMES: dict[str, Any] = {}


@pytest.fixture
def outcome(runner: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if runner not in _OUTCOMES:
        root = tmp_path_factory.mktemp(f"hostile-llvm-{runner}") / "world"
        _OUTCOMES[runner] = test_hostile.Outcome(runner, root)
    return _OUTCOMES[runner]


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("case", test_hostile.CASES)
def test_hostile_case(outcome: Any, case: str) -> None:
    test_hostile.test_case(outcome, case)


@pytest.mark.parametrize("runner", RUNNERS)
def test_hostile_run(outcome: Any) -> None:
    test_hostile.test_run_completed(outcome)
    test_hostile.test_nothing_outside_changed(outcome)
    test_hostile.test_nothing_outside_read_or_listed(outcome)


@pytest.mark.parametrize("runner", RUNNERS)
def test_hostile_race(runner: str, tmp_path: Path) -> None:
    test_hostile.test_symlink_swapped_during_walk(runner, tmp_path)
