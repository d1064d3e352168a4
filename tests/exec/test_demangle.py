"""Names in backtraces demangled as wasmtime prints them (exec/demangle.py)."""

from __future__ import annotations

import pytest

from nanoproc.internal.exec import demangle as dm


def test_rust_legacy_names() -> None:
    # the hash stays, as in wasmtime's backtraces (rustc-demangle's plain format)
    assert dm.demangle("_ZN4core3fmt5write17h0123456789abcdefE") == (
        "core::fmt::write::h0123456789abcdef")
    assert dm.demangle("_ZN3std2io5stdio6_print17h1d2e3f4a5b6c7d8eE") == (
        "std::io::stdio::_print::h1d2e3f4a5b6c7d8e")


def test_plain_names_stay() -> None:
    assert dm.demangle("main") == "main"
    assert dm.demangle("") == ""


@pytest.mark.skipif(dm._cxa() is None, reason="no C++ runtime with __cxa_demangle here")
def test_cpp_names_through_the_cpp_runtime() -> None:
    assert dm.demangle("_Z3fooi") == "foo(int)"
    assert dm.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi") == (
        "std::vector<int, std::allocator<int> >::push_back(int const&)")
