"""The runner on real spec scripts, against wasmtime-py (the control engine).

wasmtime passes these scripts, so every command must pass here: a failure means the
runner (or the parser/encoder it uses) is wrong, not the engine.
"""

from __future__ import annotations

import pytest
import wasmtime

from conftest import spec_dir
from nanoproc.internal.script import run_wast
from nanoproc.internal.text.wast import parse_wast

PASSING_ON_WASMTIME = [
    "i32.wast",          # integer results, traps
    "f32.wast",          # float bits, NaN classes
    "address.wast",      # memory, out-of-bounds traps
    "linking.wast",      # register, cross-module state, unlinkable, start traps
    "imports.wast",      # the spectest module, incompatible imports
    "elem.wast",         # tables, funcrefs, module-level traps
    "names.wast",        # odd export names
    "unreached-invalid.wast",  # assert_invalid, told from malformed by our decoder
    "utf8-import-field.wast",  # assert_malformed binaries (our decoder agrees: malformed)
]


@pytest.mark.parametrize("script", PASSING_ON_WASMTIME)
def test_runner_passes_what_wasmtime_passes(script: str) -> None:
    path = spec_dir() / script
    result = run_wast(path, wasmtime)
    commands = len(parse_wast(path.read_text(encoding="utf-8")))
    assert result.failed == 0, "\n".join(map(str, result.failures[:20]))
    assert (result.passed, result.skipped) == (commands, 0)


def test_wasmtime_py_limits_are_reported_as_such() -> None:
    """wasmtime-py has no v128 values: every v128 command fails, saying so."""
    result = run_wast(spec_dir() / "simd_address.wast", wasmtime)
    assert result.passed > 0 and result.failed > 0
    for failure in result.failures:
        assert "v128" in failure.reason or "valkind" in failure.reason, failure
