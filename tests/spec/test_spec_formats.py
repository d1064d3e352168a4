"""Every module of every root spec script, through nanoproc's own format pipeline.

The CI-level summary for the formats work (the parser, decoder, encoder, validator
and printer have their own, finer tests against wasm-tools; this file does not
repeat those comparisons). Per script, as ``parse_wast`` reads it:

* every module meant to be valid (plain, definition, or inside assert_unlinkable /
  assert_trap) encodes, decodes and validates;
* every assert_malformed module (binary and quote) and every assert_invalid module
  is rejected;
* only WasmtimeError subclasses ever come out;
* round trips close: text -> binary -> print -> parse -> binary gives the same
  bytes, and decode -> encode reproduces every binary our encoder produced.

Counts per script go into the report; the totals are printed at the end of the run.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

from pipeline_guard import Escaped, guarded

from conftest import legacy_spec_files, spec_dir, spec_files
from nanoproc.internal.binary import decode_module
from nanoproc.internal.binary.encode import encode_module
from nanoproc.internal.errors import ValidationError, WasmtimeError
from nanoproc.internal.syntax.module import Module
from nanoproc.internal.text.printer import print_module
from nanoproc.internal.text.wast import (
    AssertInvalid,
    AssertMalformed,
    AssertTrap,
    AssertUninstantiable,
    AssertUnlinkable,
    ModuleCommand,
    parse_wast,
)
from nanoproc.internal.text.wat import parse_wat
from nanoproc.internal.valid import validate_module


def load(cmd: ModuleCommand) -> Module:
    """The module tree of a script module (bodies decoded eagerly)."""
    if cmd.kind == "text":
        assert cmd.module is not None
        return cmd.module
    if cmd.kind == "binary":
        assert cmd.binary is not None
        data = cmd.binary
        return guarded("decode", lambda: decode_module(data, lazy=False))
    assert cmd.quote is not None
    text = cmd.quote
    return guarded("parse", lambda: parse_wat(text))


def without_names(binary: bytes) -> bytes:
    """``binary`` without its ``name`` section: the printer makes up identifiers for
    unnamed labels and the like, which parse back as names; that is not a change of
    the module."""
    module = decode_module(binary, lazy=False)
    module.customs = [c for c in module.customs if c.name != "name"]
    module.names = None
    return encode_module(module)


class FileCheck:
    """Counts and failures for one script."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []

    def fail(self, line: int, why: str) -> None:
        self.failures.append(f"{self.name}:{line}: {why}")

    def valid(self, cmd: ModuleCommand) -> None:
        try:
            tree = load(cmd)
            binary = guarded("encode", lambda: encode_module(tree))
            decoded = guarded("decode", lambda: decode_module(binary, lazy=False))
            guarded("validate", lambda: validate_module(decoded))
        except WasmtimeError as e:
            self.fail(cmd.line, f"valid {cmd.kind} module rejected: {e}")
            return
        self.counts["valid"] += 1
        self.round_trips(cmd, binary, decoded)

    def round_trips(self, cmd: ModuleCommand, binary: bytes, decoded: Module) -> None:
        """decode -> encode reproduces our encoder's bytes; for modules written as text,
        so does print -> parse -> encode (binary modules may hold what text cannot say:
        empty local groups, custom sections)."""
        try:
            again = guarded("encode", lambda: encode_module(decoded))
            if again != binary:
                self.fail(cmd.line, "decode -> encode changed the bytes our encoder produced")
                return
            self.counts["binary round trips"] += 1
            if cmd.kind == "binary":
                return
            text = guarded("print", lambda: print_module(decoded))
            reparsed = guarded("parse", lambda: parse_wat(text))
            back = guarded("encode", lambda: encode_module(reparsed))
        except WasmtimeError as e:
            self.fail(cmd.line, f"round trip: {e}")
            return
        if without_names(back) != without_names(binary):
            self.fail(cmd.line, "text -> binary -> print -> parse -> binary changed the bytes")
        else:
            self.counts["text round trips"] += 1
            self.counts["text round trips with other names"] += back != binary

    def malformed(self, cmd: ModuleCommand) -> None:
        try:
            tree = load(cmd)
        except WasmtimeError:
            self.counts["malformed"] += 1
            return
        if self._rejected_later(tree):
            self.counts["malformed (only caught by validation)"] += 1
        else:
            self.fail(cmd.line, f"malformed {cmd.kind} module accepted")

    def invalid(self, cmd: ModuleCommand) -> None:
        try:
            tree = load(cmd)
        except WasmtimeError:
            self.counts["invalid (caught as malformed)"] += 1
            return
        if self._rejected_later(tree):
            self.counts["invalid"] += 1
        else:
            self.fail(cmd.line, f"invalid {cmd.kind} module accepted")

    @staticmethod
    def _rejected_later(tree: Module) -> bool:
        try:
            binary = guarded("encode", lambda: encode_module(tree))
            decoded = guarded("decode", lambda: decode_module(binary, lazy=False))
            guarded("validate", lambda: validate_module(decoded))
        except (ValidationError, WasmtimeError):
            return True
        return False

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
            self.valid(cmd)
        elif isinstance(cmd, (AssertUnlinkable, AssertUninstantiable)):
            self.valid(cmd.module)
        elif isinstance(cmd, AssertTrap) and cmd.module is not None:
            self.valid(cmd.module)
        elif isinstance(cmd, AssertMalformed):
            self.malformed(cmd.module)
        elif isinstance(cmd, AssertInvalid):
            self.invalid(cmd.module)


def test_formats_of_every_spec_module() -> None:
    """One test for the whole suite: its point is the summary (the per-component tests
    give per-file detail). Failures are listed by script and line."""
    totals: Counter[str] = Counter()
    failures: list[str] = []
    files = 0
    for path in [*spec_files(), *legacy_spec_files()] or [spec_dir()]:
        check = FileCheck(path.name)
        check.run(path.read_text(encoding="utf-8"))
        totals.update(check.counts)
        failures += check.failures
        files += 1
    summary = ", ".join(f"{n} {what}" for what, n in sorted(totals.items()))
    summary = f"spec formats: {files} scripts, {summary}, {len(failures)} failures"
    print(summary)
    # A warning, so pytest shows it even from an xdist worker; a plain UserWarning,
    # because the xdist controller must be able to import the warning's class.
    warnings.warn(UserWarning(summary), stacklevel=1)
    assert not failures, f"{summary}\n" + "\n".join(failures)
