"""Real programs: small command-line tools (src/tools: wc, grep, sort, cpr (cp -r),
lsl (ls -l), arc (a tar archiver)) run on a real directory tree through wasmtime-py,
nanoproc's API and ``nanoproc run``, and, when gcc is installed, built natively
from the same sources. Output, exit status and every file they leave behind must
be identical byte for byte (and by mtime) across all of them.

The tree is preopened as ``.`` and the tools get relative paths, so the native
run (from the tree's directory) sees exactly the same names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from wasi_harness import HAVE_WASMTIME, SRC, Dir, Program, Result, make_tree, run, snapshot

RUNNERS = ["native", "wasmtime", "nanoproc", "cli"]
OLD = 981173106  # 2001-02-03 04:05:06 UTC
RECENT = (int(time.time()) - 86400) // 60 * 60  # yesterday, on a minute boundary

WORDS = "\n".join(["pear", "Apple", "fig", "banana", "apple", "Cherry", "fig", "date", "Elder", "banana"]) + "\n"
NUMBERS = "\n".join(str(n) for n in [42, 7, -3, 1000, 7, 3.5, 0, 99, 12, -40]) + "\n"
README = """# nanoproc demo
This tree is read by the tool tests.
TODO: nothing much
# a comment line
abcxyz and azz and a-z
"""
MAIN_C = """#include <stdio.h>
#include "util.h"
int main(void) { return util(); }
"""


def build_project(root: Path) -> None:
    """The test tree, with every mtime (links and directories too) fixed."""
    make_tree(root, {
        "project": {
            "README.md": README,
            "src": {"main.c": MAIN_C, "util.c": '#include "util.h"\nint util(void) { return 0; }\n',
                    "util.h": "int util(void);\n"},
            "docs": {"guide.txt": "Read the guide.\n" * 20,
                     "notes": {"todo.txt": "todo: write docs\nTODO: tests\ndone\n", ".hidden": "secret\n"}},
            "data": {"numbers.txt": NUMBERS, "words.txt": WORDS, "empty.txt": "",
                     "binary.bin": bytes(range(256)) * 9},
            "link_to_readme": ("link", "README.md"),
            "link_dir": ("link", "docs"),
        },
    })  # fmt: skip
    paths = sorted(root.rglob("*"), key=lambda p: -len(p.parts))  # deepest first
    for path in paths:
        t = RECENT if path.name == "guide.txt" else OLD
        os.utime(path, (t, t), follow_symlinks=False)


_NATIVE: dict[str, Path] = {}


def native_tool(name: str, tmp_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: no native build to compare with")
    if name not in _NATIVE:
        exe = tmp_factory.mktemp("native") / name
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(SRC / "tools" / f"{name}.c")], check=True)
        _NATIVE[name] = exe
    return _NATIVE[name]


def run_tool(runner: str, root: Path, tool: str, args: list[str], env: dict[str, str],
             stdin: bytes, tmp_factory: pytest.TempPathFactory) -> Result:  # fmt: skip
    if runner == "native":
        exe = native_tool(tool, tmp_factory)
        p = subprocess.run([str(exe), *args], cwd=root, input=stdin, capture_output=True,
                           env={"PATH": "/usr/bin:/bin", **env}, timeout=60)  # fmt: skip
        return Result(p.stdout, p.stderr, p.returncode)
    if runner == "wasmtime" and not HAVE_WASMTIME:
        pytest.skip("wasmtime-py is not installed")
    return run(runner, Program(tool, args, [Dir(root, ".")], sorted(env.items()), stdin))


# (id, tool, args, environment, stdin)
SCENARIOS: list[tuple[str, str, list[str], dict[str, str], bytes]] = [
    ("wc_files", "wc", ["project/README.md", "project/data/words.txt", "project/data/binary.bin",
                        "project/data/empty.txt"], {}, b""),
    ("wc_stdin_lines", "wc", ["-l"], {}, WORDS.encode() * 3),
    ("wc_missing", "wc", ["-w", "project/nope.txt", "project/src/main.c"], {}, b""),
    ("grep_recursive", "grep", ["-rn", "include", "project/src"], {}, b""),
    ("grep_regex", "grep", ["-n", "a.*z$", "project/README.md"], {}, b""),
    ("grep_count_ignore_case", "grep", ["-ic", "todo", "project/README.md", "project/docs/notes/todo.txt"], {}, b""),
    ("grep_invert_anchor", "grep", ["-v", "^#", "project/README.md"], {}, b""),
    ("grep_files_with_matches", "grep", ["-rl", "util", "project"], {}, b""),
    ("grep_nothing_found", "grep", ["zebra", "project/data/words.txt"], {}, b""),
    ("grep_stdin_label", "grep", ["-l", "an"], {"GREP_LABEL": "piped"}, WORDS.encode()),
    ("sort_plain", "sort", ["project/data/words.txt"], {}, b""),
    ("sort_numeric_reverse", "sort", ["-nr", "project/data/numbers.txt"], {}, b""),
    ("sort_unique_fold", "sort", ["-uf", "project/data/words.txt"], {}, b""),
    ("sort_key_to_file", "sort", ["-k", "2", "-o", "sorted.txt", "project/README.md"], {}, b""),
    ("cpr_tree", "cpr", ["project", "copy"], {}, b""),
    ("cpr_verbose_into_dir", "cpr", ["-v", "project/src", "project/data", "project/docs"], {}, b""),
    ("lsl_recursive_all", "lsl", ["-aR", "project"], {}, b""),
    ("lsl_iso_times", "lsl", ["project/data", "project/link_to_readme"], {"TIME_STYLE": "iso"}, b""),
    ("arc_create", "arc", ["c", "-v", "out.tar", "project"], {"ARC_EXCLUDE": ".hidden,binary.bin"}, b""),
]  # fmt: skip


def timeless(stderr: bytes) -> bytes:
    """stderr without arc -v's elapsed time (the one thing that may differ)."""
    return re.sub(rb"took \d+ ms", b"took N ms", stderr)


class Outcome:
    def __init__(self, result: Result, tree: dict[str, tuple[Any, ...]]) -> None:
        self.result = result
        self.tree = tree


_OUTCOMES: dict[tuple[str, str], Outcome] = {}


def outcome(runner: str, scenario: tuple[Any, ...], tmp_factory: pytest.TempPathFactory) -> Outcome:
    key = (runner, scenario[0])
    if key not in _OUTCOMES:
        sid, tool, args, env, stdin = scenario
        root = tmp_factory.mktemp(f"{sid}-{runner}")
        build_project(root)
        built = time.time_ns() - 10**9
        result = run_tool(runner, root, tool, args, env, stdin, tmp_factory)
        # everything but inode numbers: type, mode, size, mtime, links, contents;
        # an mtime from during the run (a file just written) only as "new"
        tree = {k: (v[0], v[1], v[2], "new" if v[3] >= built else v[3], v[4], v[6])
                for k, v in snapshot(root).items() if k != "."}
        _OUTCOMES[key] = Outcome(result, tree)
    return _OUTCOMES[key]


@pytest.mark.parametrize("runner", RUNNERS[1:])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_tool_matches_native(scenario: tuple[Any, ...], runner: str,
                             tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    """Same stdout, stderr, exit status and resulting files as the native build."""
    if shutil.which("gcc") is None:
        reference = outcome("wasmtime", scenario, tmp_path_factory)  # no gcc: wasmtime is the reference
        if runner == "wasmtime":
            pytest.skip("gcc is not installed: wasmtime-py is the reference")
    else:
        reference = outcome("native", scenario, tmp_path_factory)
    got = outcome(runner, scenario, tmp_path_factory)
    assert got.result.stdout.decode() == reference.result.stdout.decode()
    assert timeless(got.result.stderr) == timeless(reference.result.stderr)
    assert got.result.code == reference.result.code
    assert got.tree == reference.tree


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_tool_did_its_job(scenario: tuple[Any, ...], tmp_path_factory: pytest.TempPathFactory) -> None:
    """What nanoproc's run produced is right in itself (not only equal to native)."""
    got = outcome("nanoproc", scenario, tmp_path_factory)
    out = got.result.stdout.decode()
    sid = scenario[0]
    files = {k: v[5] for k, v in got.tree.items()}
    checks = {
        "wc_files": "      5      23     112 project/README.md\n     10      10      57 project/data/words.txt\n"
                    "      9      19    2304 project/data/binary.bin\n      0       0       0 project/data/empty.txt\n"
                    "     24      52    2473 total\n",
        "wc_stdin_lines": "     30\n",
        "wc_missing": "     10 project/src/main.c\n     10 total\n",
        "grep_recursive": 'project/src/main.c:1:#include <stdio.h>\nproject/src/main.c:2:#include "util.h"\n'
                          'project/src/util.c:1:#include "util.h"\n',
        "grep_regex": "5:abcxyz and azz and a-z\n",
        "grep_count_ignore_case": "project/README.md:1\nproject/docs/notes/todo.txt:2\n",
        "grep_invert_anchor": "This tree is read by the tool tests.\nTODO: nothing much\nabcxyz and azz and a-z\n",
        "grep_files_with_matches": "project/src/main.c\nproject/src/util.c\nproject/src/util.h\n",
        "grep_nothing_found": "",
        "grep_stdin_label": "piped\n",
        "sort_plain": "".join(w + "\n" for w in sorted(WORDS.split())),
        "sort_numeric_reverse": "1000\n99\n42\n12\n7\n7\n3.5\n0\n-3\n-40\n",
        "sort_unique_fold": "Apple\nbanana\nCherry\ndate\nElder\nfig\npear\n",
        "sort_key_to_file": "",
        "cpr_tree": "",
        "cpr_verbose_into_dir": "project/src -> project/docs/src\nproject/src/main.c -> project/docs/src/main.c\n"
                                "project/src/util.c -> project/docs/src/util.c\nproject/src/util.h -> project/docs/src/util.h\n"
                                "project/data -> project/docs/data\nproject/data/binary.bin -> project/docs/data/binary.bin\n"
                                "project/data/empty.txt -> project/docs/data/empty.txt\n"
                                "project/data/numbers.txt -> project/docs/data/numbers.txt\n"
                                "project/data/words.txt -> project/docs/data/words.txt\n",
    }
    if sid in checks:
        assert out == checks[sid]
    if sid in ("wc_missing", "grep_nothing_found"):
        assert got.result.code == 1
    if sid == "sort_key_to_file":
        assert files["sorted.txt"] == (b"# a comment line\nabcxyz and azz and a-z\n# nanoproc demo\n"
                                       b"TODO: nothing much\nThis tree is read by the tool tests.\n")
    if sid == "cpr_tree":
        copied = {k[len("copy"):]: v for k, v in got.tree.items() if k.startswith("copy")}
        original = {k[len("project"):]: v for k, v in got.tree.items() if k.startswith("project")}
        assert copied == original and len(copied) == 18
    if sid == "lsl_recursive_all":
        assert "l   1        9 Feb  3  2001 link_to_readme -> README.md\n" in out
        assert "-   1        7 Feb  3  2001 .hidden\n" in out and "\nproject/docs/notes:\n" in out
        recent = time.strftime("%b %e %H:%M", time.gmtime(RECENT))
        assert f"-   1      320 {recent} guide.txt\n" in out
    if sid == "lsl_iso_times":
        assert "-   1       31 2001-02-03 04:05:06 numbers.txt\n" in out
        assert out.endswith("l   1        9 2001-02-03 04:05:06 project/link_to_readme -> README.md\n")
    if sid == "arc_create":
        assert out.endswith("\n16 entries, 688 bytes\n") and ".hidden" not in out and "binary.bin" not in out
        assert re.fullmatch(rb"arc: took \d+ ms\n", got.result.stderr)


def test_archive_is_a_real_tar_that_round_trips(tmp_path_factory: pytest.TempPathFactory) -> None:
    """arc's archive (made on nanoproc) reads with Python's tarfile, and arc x
    (on nanoproc) restores the tree: contents, links and mtimes."""
    root = tmp_path_factory.mktemp("arc-roundtrip")
    build_project(root)
    made = run("nanoproc", Program("arc", ["c", "out.tar", "project"], [Dir(root, ".")]))
    assert made.code == 0, made.stderr
    with tarfile.open(root / "out.tar") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["project/link_dir"].issym() and members["project/link_dir"].linkname == "docs"
        assert members["project/data/binary.bin"].size == 256 * 9
        assert tar.extractfile("project/src/util.h").read() == b"int util(void);\n"  # type: ignore[union-attr]
        assert members["project/README.md"].mtime == OLD
    listing = run("nanoproc", Program("arc", ["t", "out.tar"], [Dir(root, ".")]))
    assert "l        0   " in listing.stdout.decode() and "project/link_dir -> docs" in listing.stdout.decode()
    (root / "restored").mkdir()
    back = run("nanoproc", Program("arc", ["x", "out.tar", "restored"], [Dir(root, ".")]))
    assert back.code == 0, back.stderr
    original = {k: (v[0], v[2], v[3], v[6]) for k, v in snapshot(root / "project").items() if k != "."}
    restored = {k: (v[0], v[2], v[3], v[6]) for k, v in snapshot(root / "restored" / "project").items() if k != "."}
    assert restored == original
