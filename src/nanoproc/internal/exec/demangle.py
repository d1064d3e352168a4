"""Readable function names in backtraces: Rust and C++ symbols demangled as wasmtime
prints them (``core::panicking::panic::h0123456789abcdef``, ``foo::bar()``).

Rust's legacy scheme (``_ZN...E``, what rustc emits by default) is decoded here, as
wasmtime's rustc-demangle does first; other ``_Z`` names are Itanium C++ symbols,
decoded by the C++ runtime's ``__cxa_demangle`` when one can be loaded (libstdc++ or
libc++), else left as they are. Rust's v0 scheme (``_R``) is left as it is.
"""

from __future__ import annotations

import ctypes
import re
from functools import cache

_RUST_ESCAPES = {"SP": "@", "BP": "*", "RF": "&", "LT": "<", "GT": ">", "LP": "(", "RP": ")",
                 "C": ","}  # fmt: skip
_HASH = re.compile(r"h[0-9a-f]{16}\Z")


@cache
def demangle(name: str) -> str:
    """``name`` demangled (Rust legacy, then C++), or ``name`` itself."""
    rust = _rust_legacy(name)
    if rust is not None:
        return rust
    if name.startswith(("_Z", "__Z")):
        cpp = _cxa_demangle(name)
        if cpp is not None:
            return cpp
    return name


def _rust_legacy(name: str) -> str | None:
    for prefix in ("_ZN", "ZN", "__ZN"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            break
    else:
        return None
    parts: list[str] = []
    i = 0
    while i < len(rest) and rest[i] != "E":
        j = i
        while j < len(rest) and rest[j].isdigit():
            j += 1
        if j == i:
            return None
        n = int(rest[i:j])
        ident = rest[j : j + n]
        if len(ident) != n or n == 0:
            return None
        parts.append(ident)
        i = j + n
    # A Rust symbol ends right after the path (C++ names go on with parameter types)
    # and its last element is the hash, ``h`` and 16 hex digits.
    if i != len(rest) - 1 or not parts or not _HASH.match(parts[-1]):
        return None
    out = []
    for ident in parts:
        text = _rust_ident(ident)
        if text is None:
            return None
        out.append(text)
    return "::".join(out)


def _rust_ident(ident: str) -> str | None:
    if ident.startswith("_$"):
        ident = ident[1:]
    out = []
    i = 0
    while i < len(ident):
        c = ident[i]
        if c == "$":
            end = ident.find("$", i + 1)
            if end < 0:
                return None
            code = ident[i + 1 : end]
            if code in _RUST_ESCAPES:
                out.append(_RUST_ESCAPES[code])
            elif code.startswith("u") and len(code) > 1:
                try:
                    out.append(chr(int(code[1:], 16)))
                except ValueError:
                    return None
            else:
                return None
            i = end + 1
        elif ident.startswith("..", i):
            out.append("::")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


@cache
def _cxa() -> tuple[object, object] | None:
    """(``__cxa_demangle``, ``free``) of the C++ runtime, or None."""
    try:
        free = ctypes.CDLL(None).free
    except (OSError, AttributeError):
        return None
    free.argtypes = [ctypes.c_void_p]
    for lib in ("stdc++", "c++"):
        # imported only when a C++ name is met (it imports subprocess, shutil...)
        from ctypes.util import find_library

        path = find_library(lib)
        if not path:
            continue
        try:
            fn = ctypes.CDLL(path).__cxa_demangle
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t),
                       ctypes.POINTER(ctypes.c_int)]  # fmt: skip
        return fn, free
    return None


def _cxa_demangle(name: str) -> str | None:
    got = _cxa()
    if got is None:
        return None
    fn, free = got
    status = ctypes.c_int(0)
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        return None
    ptr = fn(raw, None, None, ctypes.byref(status))  # type: ignore[operator]
    if not ptr:
        return None
    try:
        if status.value != 0:
            return None
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        free(ptr)  # type: ignore[operator]
