"""A pytest plugin (loaded by test_spec_interp.py) that spreads the interp spec tests
evenly through the whole session's test list.

pytest-xdist's default ``load`` scheduler hands each worker runs of consecutive tests,
hundreds long at first. Left in collection order, all spec scripts land in one run and
so on one worker; interleaved with the other tests, every run carries its share and
both cores work through them. The order is a pure function of the collected items, so
every worker computes the same one (xdist requires that).
"""

from __future__ import annotations

import pytest

SPREAD_FILE = "test_spec_interp.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    spread = [it for it in items if it.path.name == SPREAD_FILE]
    if not spread or len(spread) == len(items):
        return
    chosen = {id(it) for it in spread}
    out = [it for it in items if id(it) not in chosen]
    step = len(items) / len(spread)
    for i, item in enumerate(spread):
        out.insert(min(len(out), round(i * step)), item)
    items[:] = out
