"""Python source for per-signature call factories (entries into native code, host
callbacks out of it): generated once per signature, so each call runs straight-line
code with its conversions unrolled and the store's helpers bound as closure cells."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def make_factory(params: str, from_ns: dict[str, str], body: list[str], returns: str,
                 filename: str) -> Callable[..., Any]:
    """Compile ``def factory(<params>)``: it binds ``name = ns.<attribute>`` for each
    item of ``from_ns``, runs ``body`` (lines defining the inner function, indented as
    at module level) and returns ``returns``."""
    lines = [f"def factory({params}):"]
    # only the names the body uses: each binding is an attribute read (some make a
    # ctypes array on first use), and a store makes its factories' products per store
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", "\n".join(body)))
    lines += [f"    {name} = ns.{attr}" for name, attr in from_ns.items() if name in used]
    lines += ["    " + line for line in body]
    lines.append(f"    return {returns}")
    g: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", filename, "exec"), g)
    return g["factory"]  # type: ignore[no-any-return]
