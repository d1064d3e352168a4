"""Outcomes of running .wast scripts: per command, per file, and totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed command: where, which, and why."""

    path: str
    line: int
    command: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.command}: {self.reason}"


@dataclass(slots=True)
class FileResult:
    """Counts for one script. ``skips`` counts skipped commands by unsupported feature."""

    path: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    skips: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def fail(self, line: int, command: str, reason: str, count: int = 1) -> None:
        self.failed += count
        self.failures.append(Failure(self.path, line, command, reason))

    def skip(self, feature: str) -> None:
        self.skipped += 1
        self.skips[feature] += 1

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        """``name: N passed, N failed, N skipped`` (plus the skipped features)."""
        line = f"{self.path}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        if self.skips:
            feats = ", ".join(f"{f} x{n}" for f, n in sorted(self.skips.items()))
            line += f" (unsupported: {feats})"
        return line


@dataclass(slots=True)
class Totals:
    files: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failed_files: int = 0

    def add(self, r: FileResult) -> None:
        self.files += 1
        self.passed += r.passed
        self.failed += r.failed
        self.skipped += r.skipped
        self.failed_files += not r.ok

    def summary(self) -> str:
        return (
            f"total: {self.files} files, {self.passed} passed, {self.failed} failed, "
            f"{self.skipped} skipped ({self.failed_files} files with failures)"
        )
