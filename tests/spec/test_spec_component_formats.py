"""Every component of the component-model test suite through nanoproc's format pipeline.

Per script (all but async/ and nyi.txt), as ``parse_wast`` reads it:

* every component meant to be valid encodes, decodes and validates;
* every assert_malformed component is rejected by the text parser or the decoder;
* every assert_invalid component is rejected with wasmparser's message (the suite's
  expected text is wasmparser's wording, which the validator keeps);
* only WasmtimeError subclasses ever come out;
* round trips close: decode -> encode reproduces our encoder's bytes;
  print -> parse -> encode gives the same component (custom sections and empty
  sections aside, which the text format cannot say), and for binary components,
  which may use encodings text cannot choose, printing reaches a fixed point.

The comparison of the encoder with ``wasm-tools parse`` is in tests/text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pipeline_guard import Escaped, guarded

from conftest import component_suite_dir, component_suite_files
from nanoproc.internal.binary.component_decode import decode_component
from nanoproc.internal.binary.component_encode import encode_component
from nanoproc.internal.errors import DecodeError, ParseError, WasmtimeError
from nanoproc.internal.syntax import component as C
from nanoproc.internal.text.component_printer import print_component
from nanoproc.internal.text.component_wat import parse_component_text
from nanoproc.internal.text.wast import (
    AssertInvalid,
    AssertMalformed,
    AssertTrap,
    AssertUnlinkable,
    ModuleCommand,
    parse_wast,
)
from nanoproc.internal.valid.component import validate_component


def load(cmd: ModuleCommand) -> C.Component:
    if cmd.kind == "text":
        return cmd.module  # type: ignore[return-value]
    if cmd.kind == "binary":
        data = cmd.binary
        assert data is not None
        return guarded("decode", lambda: decode_component(data))
    text = f"(component {cmd.quote})"
    return guarded("parse", lambda: parse_component_text(text))


def stripped(comp: C.Component) -> bytes:
    """The binary without custom sections, names and empty sections (what text cannot
    say, or says differently), nested components and modules included."""
    from nanoproc.internal.binary.encode import encode_module

    def strip(c: C.Component) -> None:
        c.sections = [s for s in c.sections if s.id != 0 and s.items]
        c.names = None
        for s in c.sections:
            for item in s.items:
                if isinstance(item, C.ComponentDef):
                    strip(item.component)
                elif isinstance(item, C.CoreModuleDef):
                    item.module.customs = []
                    item.module.names = None
                    item.binary = encode_module(item.module)

    strip(comp)
    return encode_component(comp)


def no_customs(text: str) -> str:
    """Printed text without ``(@custom ...)`` lines: like the core text parser, the
    component parser drops annotations, custom sections included."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("(@custom"))


class FileCheck:
    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []

    def fail(self, line: int, why: str) -> None:
        self.failures.append(f"{self.name}:{line}: {why}")

    def valid(self, cmd: ModuleCommand) -> None:
        try:
            tree = load(cmd)
            binary = guarded("encode", lambda: encode_component(tree))
            decoded = guarded("decode", lambda: decode_component(binary))
            guarded("validate", lambda: validate_component(decoded))
        except WasmtimeError as e:
            self.fail(cmd.line, f"valid {cmd.kind} component rejected: {e}")
            return
        self.counts["valid"] += 1
        try:
            again = guarded("encode", lambda: encode_component(decoded))
            if again != binary:
                self.fail(cmd.line, "decode -> encode changed the bytes our encoder produced")
                return
            self.counts["binary round trips"] += 1
            text = guarded("print", lambda: print_component(decode_component(binary)))
            back = guarded("parse", lambda: parse_component_text(text))
            if cmd.kind == "binary":
                # Binaries may use encodings text cannot choose (a 0x00 name form,
                # a 0x00-prefixed core subtype): printing must reach a fixed point.
                if guarded("print", lambda: print_component(back)) != no_customs(text):
                    self.fail(cmd.line, "print -> parse -> print changed the text")
                    return
            elif stripped(back) != stripped(decode_component(binary)):
                self.fail(cmd.line, "binary -> print -> parse -> binary changed the component")
                return
            self.counts["text round trips"] += 1
        except WasmtimeError as e:
            self.fail(cmd.line, f"round trip: {e}")

    def malformed(self, cmd: ModuleCommand) -> None:
        try:
            tree = load(cmd)
            guarded("encode", lambda: encode_component(tree))
        except (DecodeError, ParseError):
            self.counts["malformed"] += 1
            return
        except WasmtimeError as e:
            self.fail(cmd.line, f"malformed: rejected by the wrong stage: {e}")
            return
        self.fail(cmd.line, f"malformed {cmd.kind} component accepted")

    def invalid(self, cmd: ModuleCommand, expected: str) -> None:
        try:
            tree = load(cmd)
            binary = guarded("encode", lambda: encode_component(tree))
            guarded("validate", lambda: validate_component(decode_component(binary)))
        except WasmtimeError as e:
            if expected in str(e):
                self.counts["invalid"] += 1
            else:
                self.fail(cmd.line, f"invalid: expected {expected!r}, got {e}")
            return
        self.fail(cmd.line, f"invalid component accepted (expected {expected!r})")

    def run(self, text: str) -> None:
        try:
            commands = guarded("parse_wast", lambda: parse_wast(text, filename=self.name))
        except WasmtimeError as e:
            self.fail(0, f"script does not parse: {e}")
            return
        for cmd in commands:
            try:
                self.command(cmd)
            except Escaped as e:
                self.fail(cmd.line, f"non-WasmtimeError escaped from {e}")

    def command(self, cmd: Any) -> None:
        if isinstance(cmd, ModuleCommand):
            if cmd.component:
                self.valid(cmd)
        elif isinstance(cmd, AssertUnlinkable | AssertTrap) and getattr(cmd, "module", None):
            if cmd.module.component:
                self.valid(cmd.module)
        elif isinstance(cmd, AssertMalformed):
            if cmd.module.component:
                self.malformed(cmd.module)
        elif isinstance(cmd, AssertInvalid):
            if cmd.module.component:
                self.invalid(cmd.module, cmd.message)


FILES = component_suite_files()


@pytest.mark.parametrize("path", FILES or [None], ids=lambda p: p and f"{p.parent.name}/{p.name}")
def test_component_formats(path: Path | None) -> None:
    if path is None:
        component_suite_dir()
        pytest.fail("component-model suite has no scripts")
    check = FileCheck(f"{path.parent.name}/{path.name}")
    check.run(path.read_text(encoding="utf-8"))
    assert sum(check.counts.values()) > 0
    assert not check.failures, "\n".join(check.failures)


def test_suite_counts() -> None:
    """Every kind of check ran, in the numbers the pinned suite holds (a guard against
    a script parser that silently drops components)."""
    if not FILES:
        component_suite_dir()
    totals: Counter[str] = Counter()
    for path in FILES:
        check = FileCheck(path.name)
        check.run(path.read_text(encoding="utf-8"))
        totals.update(check.counts)
    assert totals["valid"] >= 230 and totals["invalid"] >= 360 and totals["malformed"] >= 60
