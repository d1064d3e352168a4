"""The test tree's own rules: pytest imports test files by basename (rootdir mode), so
two test files with one name in different folders break collection."""

from collections import Counter
from pathlib import Path


def test_test_file_basenames_are_unique() -> None:
    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
