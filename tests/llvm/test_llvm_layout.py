"""The vmctx layout (llvm/symbols.vm_layout) counts imports and definitions of
each kind without listing every function's type (it is asked once per loaded
unit; CPython-for-WASI has 89,000 functions)."""

from __future__ import annotations

import nanoproc
from nanoproc.internal.llvm.symbols import vm_layout

WAT = """
(module
  (type $v (func))
  (import "m" "f" (func (type $v)))
  (import "m" "g" (global i32))
  (import "m" "t" (table 1 funcref))
  (import "m" "mem" (memory 1))
  (import "m" "tag" (tag (param i32)))
  (import "m" "f2" (func (param i64)))
  (func (type $v))
  (func (type $v))
  (func (param i32) (result i32) (local.get 0))
  (global i64 (i64.const 1))
  (global (mut i32) (i32.const 2))
  (table 3 externref)
  (tag (param f32))
  (tag)
  (data "x")
  (data "y")
  (data "z")
)
"""


def test_layout_counts_every_kind() -> None:
    module = nanoproc.Module(nanoproc.Engine(), WAT)._compiled.module
    got = vm_layout(module)
    want = (len(module.memory_types()), len(module.table_types()), len(module.global_types()),
            len(module.func_typeidxs()), len(module.deftypes), len(module.datas),
            len(module.tag_types()))
    assert want == (1, 2, 3, 5, 5, 3, 3)
    assert (got.memories, got.tables, got.globals, got.funcs, got.types, got.datas,
            got.tags) == want
