"""WIT packages: parsed, resolved and printed exactly as ``wasm-tools component wit``
prints them (the oracle), and rejected with file:line:column when invalid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import wasm_tools
from nanoproc.internal.wit import WitError
from nanoproc.internal.wit.printer import print_wit
from nanoproc.internal.wit.resolve import load

PACKAGES: dict[str, dict[str, str]] = {
    "types-and-functions": {"a.wit": """
package demo:types@0.1.0;

/// Every kind of type
interface all {
    record point { x: s32, y: s32, }
    variant shape { circle(f64), rect(tuple<point, point>), empty }
    enum color { red, green, blue }
    flags perms { read, write, exec }
    type ids = list<u64>;
    type fixed = list<u8, 4>;
    type maybe = option<string>;
    type outcome = result<u32, color>;
    type no-ok = result<_, string>;
    type bare = result;
    type pairs = map<string, point>;
    resource file {
        constructor(path: string);
        read: func(n: u32) -> list<u8>;
        size: async func() -> u64;
        open: static func(path: string) -> result<file, string>;
    }
    type handle = borrow<file>;
    %type: func(%enum: u8) -> char;
    later: func(p: point) -> shape;
    stream-of: func() -> stream<u8>;
    future-of: func() -> future;
}
"""},
    "uses-and-worlds": {"a.wit": """
package demo:app;

interface base {
    type id = u32;
    resource conn;
}

interface mid {
    use base.{id, conn as c};
    record info { who: id }
    get: func(x: borrow<c>) -> info;
}

world small {
    import log: func(msg: string);
    export run: func() -> s32;
}

world big {
    include small with { log as say }
    import mid;
    use base.{id};
    type alias = id;
    import inline: interface { f: func() -> u32; }
    import g: func(a: alias) -> id;
    export mid;
    export extra: func();
}
""", "b.wit": """
// a second file of the same package
interface other {
    use mid.{info};
    show: func(i: info) -> string;
}
"""},
    "deps-and-nested": {"root.wit": """
package demo:root;

use wasi:clocks/wall@0.2.0 as clock;

interface uses-deps {
    use clock.{datetime};
    use demo:nested/helper.{tag};
    now: func() -> datetime;
    label: func(t: tag);
}

world w {
    import wasi:clocks/wall@0.2.0;
    export uses-deps;
}

package demo:nested {
    interface helper { enum tag { a, b } }
}
""", "deps/clocks/wall.wit": """
package wasi:clocks@0.2.0;

interface wall {
    record datetime { seconds: u64, nanoseconds: u32 }
    now: func() -> datetime;
}
"""},
    "gates": {"a.wit": """
package demo:gates@1.2.0;

@since(version = 1.0.0)
interface stable {
    @since(version = 1.1.0)
    f: func();
    @unstable(feature = shiny)
    g: func();
    @since(version = 1.0.0)
    @deprecated(version = 1.2.0)
    h: func();
}

@unstable(feature = shiny)
interface experimental {
    @unstable(feature = shiny)
    x: func();
}

world w {
    @since(version = 1.0.0)
    import stable;
}
"""},
}

INVALID = [
    ("package a:b;\ninterface i {\n  f: func(x: nope);\n}\n", 3, 14, "type `nope` does not exist"),
    ("package a:b;\ninterface i {\n  type t = u32;\n  type t = u8;\n}\n", 4, 8,
     "name `t` is defined more than once"),
    ("package a:b;\ninterface i {\n  type a = b;\n  type b = a;\n}\n", 3, 12,
     "type `b` depends on itself"),
    ("package a:b;\ninterface i { use j.{t}; }\ninterface j { use i.{u}; type t = u32; }\n", 3, 11,
     "depends on itself"),
    ("package a:b;\ninterface i {\n  record r {}\n}\n", 3, 10, "empty record"),
    ("package a:b;\ninterface i {\n  f: func() -> borrow<r>;\n  resource r;\n}\n", 3, 6,
     "returns a type which contains a `borrow<T>`"),
    ("package a:b;\ninterface i {\n  type t = u32;\n  f: func(x: borrow<t>);\n}\n", 4, 21,
     "used in a handle must be a resource"),
    ("package a:b;\nworld w {\n  import f: func();\n  import f: func();\n}\n", 4, 10,
     "import `f` conflicts with prior func of same name"),
    ("package a:b;\ninterface i { f: func(); }\nworld w { include i; }\n", 3, 19,
     "is defined as an interface, not a world"),
    ("package a:b@1.0.0;\n@since(version = 2.0.0)\ninterface i {}\n", 3, 11,
     "feature gate cannot reference unreleased version 2.0.0"),
    ("package a:b;\ninterface i {\n  f: func(x: u32,, y: u32);\n}\n", 3, 18,
     "expected an identifier or string, found ','"),
    ("package a:b;\ninterface i {\n  f: func() -> Bad_Name;\n}\n", 3, 16, "not in kebab case"),
    ("interface i {}\n", None, None, "no `package` header"),
    ("package a:b;\nuse x:y/z;\n", 2, 5, "package 'x:y' not found"),
]


def _write(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text.lstrip("\n"))
    return tmp


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_prints_as_wasm_tools(name: str, tmp_path: Path) -> None:
    root = _write(tmp_path, PACKAGES[name])
    ref = subprocess.run([wasm_tools(), "component", "wit", str(root)], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    resolve, pkg, others = load(root)
    assert print_wit(resolve, pkg, others) == ref


def test_features_enable_unstable_items(tmp_path: Path) -> None:
    root = _write(tmp_path, PACKAGES["gates"])
    ref = subprocess.run([wasm_tools(), "component", "wit", "--features", "shiny", str(root)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    resolve, pkg, others = load(root, features=frozenset({"shiny"}))
    text = print_wit(resolve, pkg, others)
    assert text == ref and "g: func();" in text and "interface experimental" in text


def test_printed_text_resolves_again(tmp_path: Path) -> None:
    for name, files in PACKAGES.items():
        d = _write(tmp_path / name, files)
        resolve, pkg, others = load(d)
        text = print_wit(resolve, pkg, others)
        again = tmp_path / f"{name}-again.wit"
        again.write_text(text)
        r2, p2, o2 = load(again)
        assert print_wit(r2, p2, o2) == text


@pytest.mark.parametrize(("text", "line", "col", "message"), INVALID,
                         ids=[x[3][:30] for x in INVALID])  # fmt: skip
def test_invalid_packages(text: str, line: int | None, col: int | None, message: str,
                          tmp_path: Path) -> None:  # fmt: skip
    f = tmp_path / "bad.wit"
    f.write_text(text)
    with pytest.raises(WitError) as e:
        load(f)
    assert message in str(e.value)
    if line is not None:
        assert str(e.value).startswith(f"{f}:{line}:{col}: "), str(e.value)
    ref = subprocess.run([wasm_tools(), "component", "wit", str(f)], capture_output=True,
                         text=True)  # fmt: skip
    assert ref.returncode != 0, "wasm-tools accepts it"
