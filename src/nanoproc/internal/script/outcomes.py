"""How a command ends besides passing, and what stands in for modules that did not load."""

from __future__ import annotations

UNSUPPORTED = "not supported yet: "
"""How an engine says it recognises a feature but cannot run it (errors.UnsupportedFeature)."""


def unsupported_feature(message: str) -> str | None:
    """The feature named by a "not supported yet: <feature> (detail)" message, else None."""
    if UNSUPPORTED not in message:
        return None
    return message.split(UNSUPPORTED, 1)[1].split(" (")[0].strip() or "unnamed feature"


class Fail(Exception):
    """The current command failed; the message says why."""


class Skip(Exception):
    """The current command needs a feature the engine does not support yet."""

    def __init__(self, feature: str) -> None:
        super().__init__(feature)
        self.feature = feature


class Timeout(BaseException):
    """The file's time limit ran out (a BaseException, so API code cannot swallow it)."""


class Skipped:
    """Stands for a module whose compilation or instantiation was skipped."""

    def __init__(self, feature: str) -> None:
        self.feature = feature


class Broken:
    """Stands for a module that failed to load, so later failures can point at it."""

    def __init__(self, line: int) -> None:
        self.line = line
