"""The validator against the official spec suite (Wasm 3.0, root .wast files).

For every script, wasm-tools' json-from-wast gives the modules: every valid module
(``module``, ``module_definition``, ``assert_unlinkable``, ``assert_uninstantiable``)
must validate; every ``assert_invalid`` module must be rejected with a
ValidationError whose reason starts with the suite's text; malformed binaries that
the decoder accepts must still only raise the project's errors. Modules only the text
format can express (``module quote``) go through the WAT parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from valid_build import ScriptCache

from conftest import spec_dir, spec_files
from nanoproc.internal.errors import DecodeError, ValidationError
from nanoproc.internal.syntax.module import Module
from nanoproc.internal.valid import validate_module

VALID = ("module", "module_definition", "assert_unlinkable", "assert_uninstantiable")
INTERNAL = "invalid module ("
"""Prefix of the validator's wrapper for unexpected Python errors: never acceptable."""


@pytest.fixture(scope="session")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> ScriptCache:
    return ScriptCache(tmp_path_factory.getbasetemp() / "valid-spec")


def _load(kind: str, path: Path) -> Module:
    if kind == "binary":
        from nanoproc.internal.binary.decode import decode_module

        return decode_module(path.read_bytes())
    from nanoproc.internal.text.wat import parse_wat

    return parse_wat(path.read_bytes().decode("utf-8"), filename=path.name)


def _validate(module: Module) -> ValidationError | None:
    try:
        validate_module(module)
    except ValidationError as e:
        return e
    return None


def check_script(wast: Path, scripts: ScriptCache) -> tuple[dict[str, int], list[str]]:
    """Counts per outcome and the failures for one script."""
    out, commands = scripts.commands(wast)
    counts = {"valid": 0, "invalid": 0, "malformed": 0}
    failures: list[str] = []
    for cmd in commands:
        ty = cmd["type"]
        if ty not in VALID and ty not in ("assert_invalid", "assert_malformed"):
            continue
        kind = cmd.get("module_type")
        if ty == "assert_malformed" and kind != "binary":
            continue  # text that must not parse: the text parser's business
        where = f"{wast.name}:{cmd['line']}"
        try:
            module = _load(kind, out / cmd["filename"])
            err = _validate(module)
        except DecodeError:
            if ty == "assert_malformed":
                counts["malformed"] += 1
            else:
                failures.append(f"{where}: {ty} module does not decode")
            continue
        except Exception as e:  # anything else escaping is a bug
            failures.append(f"{where}: {ty}: {type(e).__name__}: {e}")
            continue
        if err is not None and err.reason.startswith(INTERNAL):
            failures.append(f"{where}: internal error: {err.reason}")
        elif ty in VALID:
            if err is None:
                counts["valid"] += 1
            else:
                failures.append(f"{where}: valid module rejected: {err}")
        elif ty == "assert_invalid":
            if err is None:
                failures.append(f"{where}: invalid module accepted ({cmd['text']!r})")
            elif not err.reason.startswith(cmd["text"]):
                failures.append(f"{where}: expected {cmd['text']!r}, got {err.reason!r}")
            else:
                counts["invalid"] += 1
        else:
            counts["malformed"] += 1  # decodes, and the validator only raised its own error
    return counts, failures


def _script_ids() -> list[str]:
    return [p.name for p in spec_files()] or ["(no spec suite)"]


@pytest.mark.parametrize("script", _script_ids())
def test_spec_script(script: str, scripts: ScriptCache) -> None:
    counts, failures = check_script(spec_dir() / script, scripts)
    assert not failures, "\n".join(failures)
