"""The decoder's compact forms of a big module's syntax tree: functions with the same
locals declaration share one list, and an element segment of bare function indices
is a ``FuncRefs`` (indices in an array). Both must read, compare, print and encode
exactly as the plain lists they stand for."""

from __future__ import annotations

import copy
import gc
import pickle

from nanoproc.internal.binary import decode_module, encode_module
from nanoproc.internal.syntax.module import Elem, FuncRefs
from nanoproc.internal.syntax.ops import REF_FUNC
from nanoproc.internal.syntax.types import F64, I32, I64
from nanoproc.internal.text.printer import print_module
from nanoproc.internal.text.wat import parse_wat as parse_module

WAT = """
(module
  (type $t (func (result i32)))
  (table $tab 8 funcref)
  (func $a (result i32) (local i32) (local.get 0))
  (func $b (result i32) (local i32) (i32.const 1))
  (func $c (result i32) (local i64 i64 f64) (i32.const 2))
  (func $d (result i32) (local i64 i64 f64) (i32.const 3))
  (func $e (result i32) (i32.const 4))
  (func $f (result i32) (i32.const 5))
  (elem (table $tab) (i32.const 1) func $a $b $c $d $e $f $a)
  (elem declare func $e)
  (elem $p funcref (ref.func $b) (ref.null func))
  (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func $g (result i32) (local i32 f64) (i32.const 6)))
"""


def _both() -> tuple[bytes, object, object]:
    text_mod = parse_module(WAT)
    data = encode_module(text_mod)
    return data, text_mod, decode_module(data)


def test_equal_locals_share_one_list() -> None:
    _data, text_mod, mod = _both()
    f = mod.funcs
    assert f[0].locals == [(1, I32)] and f[0].locals is f[1].locals
    assert f[2].locals == [(2, I64), (1, F64)] and f[2].locals is f[3].locals
    assert f[4].locals == [] and f[4].locals is f[5].locals
    assert f[0].locals is not f[2].locals
    assert f[7].locals == [(1, I32), (1, F64)] and f[7].locals[0] is f[0].locals[0]  # groups too
    assert [g.locals for g in f] == [g.locals for g in text_mod.funcs]  # the parser's lists
    # a second decode shares nothing with the first
    assert decode_module(_data).funcs[0].locals is not f[0].locals


def test_funcidx_segment_is_compact_and_reads_as_its_list() -> None:
    data, text_mod, mod = _both()
    seg = mod.elems[0]
    assert isinstance(seg.init, FuncRefs)
    assert not isinstance(mod.elems[2].init, FuncRefs)  # expressions stay lists
    want = [[(REF_FUNC, i)] for i in (0, 1, 2, 3, 4, 5, 0)]
    assert seg.init == want and want == seg.init and list(seg.init) == want
    assert seg.init != want[:-1] and seg.init != [[(REF_FUNC, 9)]] * 7
    assert len(seg.init) == 7 and seg.init[2] == want[2] and seg.init[-1] == want[-1]
    assert seg.init[1:3] == want[1:3] and repr(seg.init) == repr(want)
    assert seg == Elem(seg.mode, seg.type, want, seg.table, seg.offset,
                       seg.funcidx_encoding, seg.explicit_table)  # fmt: skip
    assert mod.elems == text_mod.elems and text_mod.elems == mod.elems
    # items are fresh lists: changing one read changes nothing
    seg.init[0].append(("junk",))
    assert seg.init[0] == want[0]
    assert encode_module(mod) == data
    assert print_module(mod) == print_module(text_mod)
    assert copy.deepcopy(seg.init) == want and pickle.loads(pickle.dumps(seg.init)) == want
    assert [x for x in gc.get_referents(seg.init) if not isinstance(x, type)] == [seg.init.indices]


def test_compact_module_runs_like_the_text_one() -> None:
    import nanoproc

    data, _t, _m = _both()
    for mod_src in (data, WAT):
        store = nanoproc.Store(nanoproc.Engine(nanoproc.Config()))
        inst = nanoproc.Instance(store, nanoproc.Module(store.engine, mod_src), [])
        call = inst.exports(store)["call"]
        assert [call(store, i) for i in range(1, 8)] == [0, 1, 2, 3, 4, 5, 0]
