"""``nanoproc run --invoke 'f(args)'`` on component exports: WAVE arguments parsed
by the function's types, the result printed in WAVE (wat/types.wat: identity
functions over records, variants, options, results, flags, enums, lists, tuples,
chars, floats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nanoproc import cli

TYPES = str(Path(__file__).resolve().parent / "wat" / "types.wat")
HANDLER = str(Path(__file__).resolve().parent / "wasm" / "p2handler.wasm")

ROUND_TRIPS = {
    'point({x: -1, y: 2, label: "hi"})': '{x: -1, y: 2, label: "hi"}',
    'point({label: "a\\"b\\\\c\\n", y: 2, x: 1,})': '{x: 1, y: 2, label: "a\\"b\\\\c\\n"}',
    "maybe(some(7))": "some(7)",
    "maybe(none)": "none",
    "shape(circle(1.5))": "circle(1.5)",
    "shape(square(4294967295))": "square(4294967295)",
    "shape(%none)": "%none",
    "colors({red, blue})": "{red, blue}",
    "colors({})": "{}",
    "pick(%ok)": "%ok",
    "pick(b)": "b",
    "ch('\\u{1F600}')": "'\U0001f600'",
    "ch('\\'')": "'\\''",
    "nums([1, 2, 65535])": "[1, 2, 65535]",
    "nums([])": "[]",
    'res(ok("yes"))': 'ok("yes")',
    "res(err(7))": "err(7)",
    "pair((true, 0.1))": "(true, 0.1)",
    "pair((false, -inf))": "(false, -inf)",
    "pair((true, nan))": "(true, nan)",
}


def _run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["run", *args])
    out, err = capfd.readouterr()
    return code, out, err


@pytest.mark.parametrize("engine", ["interp", "llvm"])
def test_round_trips(engine: str, capfd: pytest.CaptureFixture[str]) -> None:
    for call, want in ROUND_TRIPS.items():
        code, out, err = _run(capfd, "--engine", engine, "--invoke", call, TYPES)
        assert (code, out, err) == (0, want + "\n", ""), call


def test_no_result_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    assert _run(capfd, "--invoke", "nothing()", TYPES) == (0, "", "")
    assert _run(capfd, "--invoke", "nothing", TYPES) == (0, "", "")


@pytest.mark.parametrize("call, message", [
    ("maybe(some(1), none)", "expected 1 argument(s) (o), found more"),
    ("point({x: 1, y: 2})", "field 'label' is missing"),
    ('point({x: 1, y: 2, label: "a", z: 3})', "the record has no field 'z'"),
    ('point({x: 1, x: 1, y: 2, label: "a"})', "field 'x' given twice"),
    ("maybe(some(4294967296))", "4294967296 is out of range for u32"),
    ("maybe(some(-1))", "-1 is out of range for u32"),
    ("shape(triangle)", "no case 'triangle' (cases: circle, square, none)"),
    ("shape(square)", "expected '('"),
    ("colors({purple})", "no flag 'purple'"),
    ('ch("ab")', "expected a char"),
    ("ch('ab')", "a char literal holds one character"),
    ('point({x: 1, y: 2, label: "\\q"})', "unknown escape \\q"),
    ("nums([1, 2", "expected ')' at the end of the call"),
    ("pair((true))", "expected ','"),
    ("maybe(some(7) $)", "unexpected character '$'"),
])  # fmt: skip
def test_bad_arguments(call: str, message: str, capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capfd, "--invoke", call, TYPES)
    assert code == 1 and out == ""
    assert message in err and err.startswith("error: --invoke ") and err.count("\n") == 1, err


def test_unknown_and_nested_exports(capfd: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capfd, "--invoke", "nope()", TYPES)
    assert code == 1 and "no exported function named `nope` (functions: point," in err
    # a function of an exported instance, by INSTANCE#name or by its name alone
    code, _, err = _run(capfd, "--invoke", "handle()", HANDLER)
    assert code == 1 and "imports instance `wasi:http/types@0.2.12`" in err  # needs -S http
    code, _, err = _run(capfd, "-S", "http", "--invoke", "handle()", HANDLER)
    assert code == 1 and "values of type own cannot be written in WAVE" in err
    code, _, err = _run(capfd, "--invoke", "wasi:http/incoming-handler@0.2.12#nope()", HANDLER)
    assert code == 1 and "no exported function named" in err


def test_arguments_after_the_file_are_refused(capfd: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capfd, "--invoke", "maybe", TYPES, "1")
    assert code == 1 and "takes its arguments in the call" in err


def test_wave_printer_escapes() -> None:
    from nanoproc.cli_wave import show

    assert show("tab\there\u0001", "string") == '"tab\\there\\u{1}"'
    assert show(1.0, "f64") == "1.0"
    assert show(0.1, "f32") == "0.1"
