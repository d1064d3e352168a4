"""Small components shared by the component tests (API, composition, examples):
``SHOUT`` exports ``my:pkg/api`` with ``shout: func(s: string) -> string``, which
upper-cases through its import ``upper`` and appends "!"; ``UPPER`` exports such an
``upper`` (over latin1+utf16 strings, so linking the two transcodes). Also the set-up
the component tests share: an engine per tier, and a component instantiated in a new
store."""

from __future__ import annotations

from typing import Any

import pytest

import nanoproc
from nanoproc import component as c


def tier_engine(tier: str) -> nanoproc.Engine:
    """An engine running on ``tier`` (the test skips when that is llvm and llvmlite is
    missing)."""
    if tier == "llvm":
        pytest.importorskip("llvmlite")
    cfg = nanoproc.Config()
    cfg.strategy = tier
    return nanoproc.Engine(cfg)


def instantiated(engine: nanoproc.Engine, source: str | bytes,
                 linker: c.Linker | None = None) -> tuple[nanoproc.Store, c.Linker, c.Component, Any]:  # fmt: skip
    """(store, linker, component, instance): ``source`` instantiated in a new store
    by ``linker`` (a new, empty one by default)."""
    store = nanoproc.Store(engine)
    comp = c.Component(engine, source)
    if linker is None:
        linker = c.Linker(engine)
    return store, linker, comp, linker.instantiate(store, comp)

LIBC = """
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $r) (local.get 3)))
      (if (i32.ne (local.get 0) (i32.const 0))
        (then (memory.copy (local.get $r) (local.get 0) (local.get 1))))
      (local.get $r)))
  (core instance $libc (instantiate $libc))
"""

# A component that exports `my:pkg/api` with `shout: func(s: string) -> string`, which
# calls its import `upper` (a host function or another component) and appends "!".
SHOUT = f"""(component
  (import "upper" (func $upper (param "s" string) (result string)))
  {LIBC}
  (core func $upper' (canon lower (func $upper) (memory (core memory $libc "mem"))
    (realloc (core func $libc "realloc"))))
  (core module $m
    (import "" "mem" (memory 1))
    (import "" "upper" (func $upper (param i32 i32 i32)))
    (import "" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (func (export "shout") (param $p i32) (param $n i32) (result i32)
      (local $q i32) (local $m i32)
      (call $upper (local.get $p) (local.get $n) (i32.const 16))
      (local.set $q (i32.load (i32.const 16)))
      (local.set $m (i32.load (i32.const 20)))
      ;; copy to a new buffer one byte longer and append '!'
      (local.set $p (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
                                   (i32.add (local.get $m) (i32.const 1))))
      (memory.copy (local.get $p) (local.get $q) (local.get $m))
      (i32.store8 (i32.add (local.get $p) (local.get $m)) (i32.const 33))
      (i32.store (i32.const 24) (local.get $p))
      (i32.store (i32.const 28) (i32.add (local.get $m) (i32.const 1)))
      (i32.const 24)))
  (core instance $i (instantiate $m (with "" (instance
    (export "mem" (memory $libc "mem")) (export "upper" (func $upper'))
    (export "realloc" (func $libc "realloc"))))))
  (func $shout (param "s" string) (result string) (canon lift (core func $i "shout")
    (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
  (instance $api (export "shout" (func $shout)))
  (export "my:pkg/api" (instance $api))
)"""

# A component exporting `upper` over latin1+utf16 strings (so linking transcodes).
UPPER = f"""(component
  {LIBC}
  (core module $m
    (import "" "mem" (memory 1))
    (import "" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (func (export "upper") (param $p i32) (param $n i32) (result i32)
      (local $i i32) (local $c i32) (local $q i32)
      (local.set $q (call $realloc (i32.const 0) (i32.const 0) (i32.const 2) (local.get $n)))
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
          (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
        (i32.store8 (i32.add (local.get $q) (local.get $i)) (local.get $c))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (i32.store (i32.const 16) (local.get $q))
      (i32.store (i32.const 20) (local.get $n))
      (i32.const 16)))
  (core instance $i (instantiate $m (with "" (instance
    (export "mem" (memory $libc "mem")) (export "realloc" (func $libc "realloc"))))))
  (func (export "upper") (param "s" string) (result string) (canon lift (core func $i "upper")
    string-encoding=latin1+utf16 (memory (core memory $libc "mem"))
    (realloc (core func $libc "realloc"))))
)"""
