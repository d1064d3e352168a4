"""The stateful property test of the API (issue 19), briefly: random sequences of
API operations on wasmtime-py and every tier side by side (tests/api/api_machine.py,
which also runs long on its own), in a separate interpreter so that a crash of the
host process is a failure."""

from __future__ import annotations

from pathlib import Path

from isolated import run_isolated
from nanoproc.api.tiers import llvm_unavailable_reason

RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
import api_machine
ops = api_machine.run(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), True)
print(json.dumps({"operations": ops, "compared": sum(api_machine.STEPS.values())}))
"""


def test_random_api_sequences_agree_and_never_crash() -> None:
    strategies = "interp" if llvm_unavailable_reason() else "interp,llvm,tiered"
    got = run_isolated(RUN, str(Path(__file__).parent), "12", "30", strategies, timeout=600)
    assert got["compared"] > 300, got
