"""GC and typed function references for the module generator (``generate(seed, gc=True)``).

A module gets one recursion group of struct and array types (packed, numeric and
reference fields, mutable or not, some declared as subtypes of others), globals of
those types (initialised by GC constant expressions), non-exported helper functions
that take and return references, and a declarative element segment so every
function may be referenced with ``ref.func``. Function bodies then build, read and
write objects, cast and test them (``ref.test``, ``ref.cast``, ``br_on_cast``,
``br_on_null``), convert between hierarchies, and call through typed function
references (``call_ref``, ``return_call_ref``).

In modules with exceptions, some fields hold exnrefs (``exn_rng``: a stream of its
own, so other modules stay what they were): filled with exceptions caught on the
spot (``catch_all_ref``), handlers' exnrefs or null, read back and thrown again.

Exported functions keep numeric signatures and no GC-typed global or table is
exported: wasmtime-py's API has no GC values, so everything a run observes flows
into numbers (results, memory, numeric globals).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..internal.syntax.ops import BY_NAME
from ..internal.syntax.types import (
    EXNREF,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    V128,
    ArrayType,
    FieldType,
    FuncType,
    PackedType,
    RecType,
    RefType,
    StorageType,
    StructType,
    SubType,
    ValType,
)
from .values import const_imm

if TYPE_CHECKING:
    from .codegen import FuncGen

NUM: tuple[ValType, ...] = (I32, I64, F32, F64)
ANY_ABSTRACT = ("any", "eq", "i31", "struct", "array", "none")
_ABSTRACT_SUPERS = {
    "any": {"any"}, "eq": {"eq", "any"}, "i31": {"i31", "eq", "any"},
    "struct": {"struct", "eq", "any"}, "array": {"array", "eq", "any"},
    "none": set(ANY_ABSTRACT), "func": {"func"}, "nofunc": {"func", "nofunc"},
    "extern": {"extern"}, "noextern": {"extern", "noextern"},
}  # fmt: skip


def _op(fg: FuncGen, name: str, *imms: Any) -> None:
    fg.out.append((BY_NAME[name], *imms))


@dataclass
class GcGen:
    """The GC part of one generated module."""

    rng: random.Random
    defs: list[SubType] = field(default_factory=list)
    structs: list[int] = field(default_factory=list)
    arrays: list[int] = field(default_factory=list)
    defaultable: set[int] = field(default_factory=set)
    """Types constructible from defaults (struct.new_default / array.new_default)."""
    ref_funcs: list[int] = field(default_factory=list)
    """Functions with reference parameters or results (not exported)."""
    exn_rng: random.Random | None = None
    """With exceptions: the stream that puts exnrefs in some fields."""

    def __post_init__(self) -> None:
        r = self.rng
        n = r.randint(2, 6)
        kinds = ["struct" if r.random() < 0.65 else "array" for _ in range(n)]
        kinds[0] = "struct"
        for i, kind in enumerate(kinds):
            (self.structs if kind == "struct" else self.arrays).append(i)
        for i, kind in enumerate(kinds):
            if kind == "struct":
                self.defs.append(self._struct(i))
            else:
                self.defs.append(SubType(ArrayType(FieldType(self._storage(i),
                                                             r.random() < 0.8)), True, ()))
        for i, st in enumerate(self.defs):
            if self._default_ok(st):
                self.defaultable.add(i)

    # ------------------------------------------------------------ types
    def _storage(self, me: int) -> StorageType:
        r = self.rng
        k = r.randrange(20)
        if k < 8:
            t: StorageType = r.choice(NUM)
        elif k < 10:
            t = r.choice((I8, I16))
        elif k < 13:
            t = RefType(True, r.randrange(len(self.structs) + len(self.arrays)))
        else:
            t = RefType(True, r.choice(["any", "eq", "i31", "struct", "array", "extern",
                                        "func"]))
        if self.exn_rng is not None and self.exn_rng.random() < 0.15:
            return EXNREF
        return t

    def has_exn_fields(self) -> bool:
        return any(f.storage == EXNREF for s in self.structs for f in self.comp(s).fields) \
            or any(self.comp(a).field.storage == EXNREF for a in self.arrays)

    def _struct(self, i: int) -> SubType:
        r = self.rng
        parents = [s for s in self.structs if s < i and not self.defs[s].final]
        fields: list[FieldType] = []
        supers: tuple[int, ...] = ()
        if parents and r.random() < 0.5:
            p = r.choice(parents)
            supers = (p,)
            pc = self.defs[p].comp
            assert isinstance(pc, StructType)
            fields = list(pc.fields)
        for _ in range(r.randint(0 if fields else 1, 4)):
            fields.append(FieldType(self._storage(i), r.random() < 0.6))
        return SubType(StructType(tuple(fields)), r.random() < 0.5, supers)

    @staticmethod
    def _default_ok(st: SubType) -> bool:
        ct = st.comp
        fs = ct.fields if isinstance(ct, StructType) else (ct.field,)  # type: ignore[union-attr]
        return all(not isinstance(f.storage, RefType) or f.storage.nullable for f in fs)

    def rec_group(self) -> RecType:
        return RecType(tuple(self.defs), explicit=True)

    def comp(self, t: int) -> Any:
        return self.defs[t].comp

    def supers_of(self, t: int) -> list[int]:
        out = [t]
        while self.defs[out[-1]].supers:
            out.append(self.defs[out[-1]].supers[0])
        return out

    def subtypes_of(self, t: int) -> list[int]:
        return [s for s in range(len(self.defs)) if t in self.supers_of(s)]

    def heap_sub(self, a: Any, b: Any, fg: FuncGen | None = None) -> bool:
        """``a <: b`` for heap types of this module (GC indices and function types)."""
        if a == b:
            return True
        if isinstance(a, int) and isinstance(b, int):
            return b in self.supers_of(a) if a < len(self.defs) else False
        if isinstance(a, int):
            if a >= len(self.defs):
                return b == "func"
            kind = "struct" if a in self.structs else "array"
            return b in (kind, "eq", "any")
        if isinstance(b, int):
            if b >= len(self.defs):
                return a == "nofunc"
            return a == "none"
        return b in _ABSTRACT_SUPERS.get(a, {a})

    def sub(self, a: ValType, b: ValType) -> bool:
        if not isinstance(a, RefType) or not isinstance(b, RefType):
            return a == b
        if a.nullable and not b.nullable:
            return False
        return self.heap_sub(a.heap, b.heap)

    def random_ref(self) -> RefType:
        """A reference type for a local, parameter, result or global."""
        r = self.rng
        nullable = r.random() < 0.8
        k = r.randrange(10)
        if k < 6:
            return RefType(nullable, r.randrange(len(self.defs)))
        if k < 8:
            heaps = ["any", "eq", "i31"] + ["struct"] * bool(self.structs) \
                + ["array"] * bool(self.arrays)
            return RefType(nullable, r.choice(heaps))
        return RefType(True, r.choice(["extern", "func"]))

    # ------------------------------------------------------------ references
    def ref_expr(self, fg: FuncGen, rt: RefType, depth: int) -> None:
        """Emit code pushing a reference of (a subtype of) ``rt``."""
        r = self.rng
        h = rt.heap
        if depth > 4 or not fg.spend():
            return self.ref_leaf(fg, rt)
        k = r.randrange(100)
        if k < 20:
            x = self._local_sub(fg, rt)
            if x is not None:
                _op(fg, "local.get", x)
                return None
        elif k < 28:
            g = [i for i, gt in enumerate(fg.mod.global_types) if self.sub(gt.type, rt)]
            if g:
                _op(fg, "global.get", r.choice(g))
                return None
        elif k < 36 and isinstance(h, int) and h < len(self.defs):
            return self.field_ref(fg, rt, depth)
        elif k < 44:
            if fg.call_expr(rt, depth):
                return None
        elif k < 52 and depth < 4:
            self._block_ref(fg, rt, depth)
            return None
        elif k < 60 and rt.heap not in ("func", "extern", "exn") and not _is_func(self, h):
            self._cast_to(fg, rt, depth)
            return None
        elif k < 64 and not rt.nullable:
            self.ref_expr(fg, RefType(True, h), depth + 1)
            _op(fg, "ref.as_non_null")
            return None
        elif k < 70:
            fg.expr(I32, depth + 1)
            _op(fg, "if", rt)
            fg.labels.append(_label((rt,)))
            self.ref_expr(fg, rt, depth + 1)
            _op(fg, "else")
            self.ref_expr(fg, rt, depth + 1)
            fg.labels.pop()
            _op(fg, "end")
            return None
        elif k < 74:
            self.ref_expr(fg, rt, depth + 1)
            self.ref_expr(fg, rt, depth + 1)
            fg.expr(I32, depth + 1)
            _op(fg, "select_t", (rt,))
            return None
        return self.make(fg, rt, depth)

    def ref_leaf(self, fg: FuncGen, rt: RefType) -> None:
        """A reference with no further recursion (null, i31, a default object)."""
        h = rt.heap
        if rt.nullable and self.rng.random() < 0.5:
            _op(fg, "ref.null", h)
            return
        if isinstance(h, int) and h < len(self.defs):
            cands = [s for s in self.subtypes_of(h) if s in self.defaultable]
            if cands:
                s = self.rng.choice(cands)
                if s in self.structs:
                    _op(fg, "struct.new_default", s)
                else:
                    _op(fg, "i32.const", self.rng.randrange(4))
                    _op(fg, "array.new_default", s)
                return
        elif h in ("any", "eq", "i31"):
            _op(fg, "i32.const", const_imm(self.rng, I32))
            _op(fg, "ref.i31")
            return
        elif h in ("struct", "array"):
            pool = self.structs if h == "struct" else self.arrays
            cands = [s for s in pool if s in self.defaultable]
            if cands:
                return self.ref_leaf(fg, RefType(False, self.rng.choice(cands)))
        elif h == "func" or _is_func(self, h):
            self._func_ref(fg, rt)
            return
        elif h == "extern":
            _op(fg, "i32.const", const_imm(self.rng, I32))
            _op(fg, "ref.i31")
            _op(fg, "extern.convert_any")
            return
        if rt.nullable:
            _op(fg, "ref.null", h)
        else:  # no finite value is at hand: a null that traps when cast
            _op(fg, "ref.null", h)
            _op(fg, "ref.as_non_null")

    def make(self, fg: FuncGen, rt: RefType, depth: int) -> None:
        """A new value of ``rt`` (allocation, i31, conversion, function reference)."""
        r = self.rng
        h = rt.heap
        if isinstance(h, int) and h < len(self.defs):
            s = r.choice(self.subtypes_of(h))
        elif h in ("struct", "array"):
            pool = self.structs if h == "struct" else self.arrays
            if not pool:
                return self.ref_leaf(fg, rt)
            s = r.choice(pool)
        elif h in ("any", "eq"):
            k = r.randrange(4)
            if k == 0 or (k == 3 and h == "eq"):
                fg.expr(I32, depth + 1)
                _op(fg, "ref.i31")
                return None
            if k == 3:
                self.ref_expr(fg, RefType(rt.nullable, "extern"), depth + 1)
                _op(fg, "any.convert_extern")
                return None
            s = r.randrange(len(self.defs))
        elif h == "i31":
            fg.expr(I32, depth + 1)
            _op(fg, "ref.i31")
            return None
        elif h == "extern":
            self.ref_expr(fg, RefType(rt.nullable and r.random() < 0.5, "any"), depth + 1)
            _op(fg, "extern.convert_any")
            return None
        elif h == "func" or _is_func(self, h):
            self._func_ref(fg, rt)
            return None
        elif h == "exn" and fg.mod.tags:
            self._caught(fg, depth)
            return None
        else:
            return self.ref_leaf(fg, rt)
        self.new(fg, s, depth)
        return None

    def _caught(self, fg: FuncGen, depth: int) -> None:
        """An exnref of an exception thrown and caught on the spot:
        (block (result exnref) (try_table (catch_all_ref 0) <payload> throw) unreachable)."""
        from ..internal.syntax.ops import Catch

        tag = self.rng.randrange(len(fg.mod.tags))
        fg.labels.append(_label((EXNREF,)))
        _op(fg, "block", EXNREF)
        fg.labels.append(_label(()))
        _op(fg, "try_table", None, (Catch("catch_all_ref", None, 0),))
        for t in fg.mod.tags[tag]:
            if isinstance(t, RefType):
                self.ref_expr(fg, t, depth + 1)
            else:
                fg.expr(t, depth + 1)
        _op(fg, "throw", tag)
        fg.labels.pop()
        _op(fg, "end")
        _op(fg, "unreachable")
        fg.labels.pop()
        _op(fg, "end")

    def _throw_field(self, fg: FuncGen, depth: int) -> None:
        """Read an exnref out of a field and throw it again when it is not null."""
        x = fg.new_local(EXNREF)
        self.field_ref(fg, EXNREF, depth + 1)
        _op(fg, "local.tee", x)
        _op(fg, "ref.is_null")
        _op(fg, "i32.eqz")
        _op(fg, "if", None)
        fg.labels.append(_label(()))
        _op(fg, "local.get", x)
        _op(fg, "throw_ref")
        fg.labels.pop()
        _op(fg, "end")

    def new(self, fg: FuncGen, s: int, depth: int) -> None:
        """Allocate an object of type ``s``."""
        r = self.rng
        ct = self.comp(s)
        if isinstance(ct, StructType):
            if s in self.defaultable and r.random() < 0.25:
                _op(fg, "struct.new_default", s)
                return
            for f in ct.fields:
                self.value(fg, f.storage, depth + 1)
            _op(fg, "struct.new", s)
            return
        st = ct.field.storage
        k = r.randrange(5)
        if k == 0 and s in self.defaultable:
            self.length(fg, depth)
            _op(fg, "array.new_default", s)
        elif k == 1:
            n = r.randrange(5)
            for _ in range(n):
                self.value(fg, st, depth + 1)
            _op(fg, "array.new_fixed", s, n)
        elif k == 2 and not isinstance(st, RefType) and fg.mod.passive_data is not None:
            _op(fg, "i32.const", r.choice([0, 1, 2, 5, 16]))
            _op(fg, "i32.const", r.choice([0, 1, 2, 3, 8, 17]))
            _op(fg, "array.new_data", s, fg.mod.passive_data)
        else:
            self.value(fg, st, depth + 1)
            self.length(fg, depth)
            _op(fg, "array.new", s)

    def length(self, fg: FuncGen, depth: int) -> None:
        """An array length: small, sometimes computed, rarely huge (allocation trap)."""
        r = self.rng
        k = r.randrange(20)
        if k < 14:
            _op(fg, "i32.const", r.choice([0, 1, 2, 3, 5, 8, 129, 300]))
        elif k < 19:
            fg.expr(I32, depth + 1)
            _op(fg, "i32.const", 15)
            _op(fg, "i32.and")
        else:
            # too large for any engine (4 GiB or more): "allocation too large" everywhere
            _op(fg, "i32.const", -1)

    def value(self, fg: FuncGen, st: StorageType, depth: int) -> None:
        """A value of a field's storage type (an i32 for a packed one)."""
        if isinstance(st, PackedType):
            fg.expr(I32, depth)
        elif isinstance(st, RefType):
            self.ref_expr(fg, st, depth)
        else:
            kind = fg.expr(st, depth)
            if kind == "other" and st in (F32, F64):
                fg.canonicalize(st)  # read back and reinterpreted later, maybe

    def field_ref(self, fg: FuncGen, rt: RefType, depth: int) -> None:
        """A reference read from a field (struct.get / array.get) of a matching type."""
        cands = []
        for s in self.structs:
            for i, f in enumerate(self.comp(s).fields):
                if isinstance(f.storage, RefType) and self.sub(f.storage, rt):
                    cands.append((s, i))
        for a in self.arrays:
            st = self.comp(a).field.storage
            if isinstance(st, RefType) and self.sub(st, rt):
                cands.append((a, -1))
        if not cands:
            return self.make(fg, rt, depth)
        s, i = self.rng.choice(cands)
        self.ref_expr(fg, RefType(True, s), depth + 1)
        if i >= 0:
            _op(fg, "struct.get", s, i)
        else:
            self.index(fg, depth)
            _op(fg, "array.get", s)
        return None

    def index(self, fg: FuncGen, depth: int) -> None:
        r = self.rng
        if r.random() < 0.7:
            _op(fg, "i32.const", r.choice([0, 0, 1, 2, 3, 4, 7, -1]))
        else:
            fg.expr(I32, depth + 1)
            _op(fg, "i32.const", 7)
            _op(fg, "i32.and")

    def _local_sub(self, fg: FuncGen, rt: RefType) -> int | None:
        all_types = list(fg.ftype.params) + fg.locals
        nparams = len(fg.ftype.params)
        cands = [i for i, t in enumerate(all_types) if self.sub(t, rt)
                 and (not isinstance(t, RefType) or t.nullable or i < nparams
                      or i in fg.inited)]
        return self.rng.choice(cands) if cands else None

    def _block_ref(self, fg: FuncGen, rt: RefType, depth: int) -> None:
        """br_on_null / br_on_non_null / br_on_cast(_fail) producing a ``rt``."""
        r = self.rng
        k = r.randrange(2 if rt.heap == "exn" else 3)  # no casts of exnrefs
        fg.labels.append(_label((rt,)))
        _op(fg, "block", rt)
        if k == 0:
            # (block (result rt) <ref null h> br_on_non_null 0 <rt>)
            self.ref_expr(fg, RefType(True, rt.heap), depth + 1)
            _op(fg, "br_on_non_null", 0)
            self.ref_expr(fg, rt, depth + 1)
        elif k == 1:
            # (block (result rt) <rt> <ref> br_on_null 0 drop drop <rt>)
            self.ref_expr(fg, rt, depth + 1)
            self.ref_expr(fg, RefType(True, self.random_ref().heap), depth + 1)
            _op(fg, "br_on_null", 0)
            _op(fg, "drop")
            _op(fg, "drop")
            self.ref_expr(fg, rt, depth + 1)
        else:
            # (block (result rt) <src> br_on_cast 0 src rt drop <rt>), where <src> may
            # itself be (block (result src) <src> br_on_cast_fail 0 src rt)
            src = RefType(True, self._top(rt.heap))
            if r.random() < 0.3:
                fg.labels.append(_label((src,)))
                _op(fg, "block", src)
                self.ref_expr(fg, src, depth + 1)
                _op(fg, "br_on_cast_fail", (0, src, rt))
                fg.labels.pop()
                _op(fg, "end")
            else:
                self.ref_expr(fg, src, depth + 1)
            _op(fg, "br_on_cast", (0, src, rt))
            _op(fg, "drop")
            self.ref_expr(fg, rt, depth + 1)
        fg.labels.pop()
        _op(fg, "end")

    def _top(self, h: Any) -> str:
        if isinstance(h, int):
            return "func" if h >= len(self.defs) else "any"
        return {"func": "func", "nofunc": "func", "extern": "extern",
                "noextern": "extern"}.get(h, "any")  # fmt: skip

    def _cast_to(self, fg: FuncGen, rt: RefType, depth: int) -> None:
        """ref.cast of a value of the hierarchy's top type (may trap)."""
        self.ref_expr(fg, RefType(True, self._top(rt.heap)), depth + 1)
        _op(fg, "ref.cast", rt)

    def _func_ref(self, fg: FuncGen, rt: RefType) -> None:
        h = rt.heap
        cands = [f for f, ft in enumerate(fg.mod.func_types)
                 if h == "func" or fg.mod.typeidx(ft) == h]
        if not cands:
            _op(fg, "ref.null", h)
            if not rt.nullable:
                _op(fg, "ref.as_non_null")
            return
        _op(fg, "ref.func", self.rng.choice(cands))

    # ------------------------------------------------------------ numbers from objects
    def num_expr(self, fg: FuncGen, t: ValType, depth: int) -> None:
        """Emit GC code that pushes a number of type ``t``."""
        r = self.rng
        k = r.randrange(100)
        if k < 35 and self._read_field(fg, t, depth):
            return
        if k < 45 and self._call_ref(fg, t, depth):
            return
        if k < 55 and t is I32:
            self._br_on_null_num(fg, depth)
            return
        self.observe(fg, depth)
        _widen(fg, t)

    def _read_field(self, fg: FuncGen, t: ValType, depth: int) -> bool:
        cands = []
        for s in self.structs:
            for i, f in enumerate(self.comp(s).fields):
                st = f.storage
                if st == t or (isinstance(st, PackedType) and t is I32):
                    cands.append((s, i, st))
        for a in self.arrays:
            st = self.comp(a).field.storage
            if st == t or (isinstance(st, PackedType) and t is I32):
                cands.append((a, -1, st))
        if not cands:
            return False
        s, i, st = self.rng.choice(cands)
        self.ref_expr(fg, RefType(self.rng.random() < 0.1, s), depth + 1)
        sign = self.rng.choice(("_s", "_u")) if isinstance(st, PackedType) else ""
        if i >= 0:
            _op(fg, f"struct.get{sign}", s, i)
        else:
            self.index(fg, depth)
            _op(fg, f"array.get{sign}", s)
        return True

    def observe(self, fg: FuncGen, depth: int) -> None:
        """An i32 that depends on references: tests, null checks, lengths, i31 values,
        identity."""
        r = self.rng
        k = r.randrange(7)
        if k == 0:
            self.ref_expr(fg, self.random_ref(), depth + 1)
            _op(fg, "ref.is_null")
        elif k == 1:
            src = RefType(True, "any")
            self.ref_expr(fg, src, depth + 1)
            target = r.choice([RefType(r.random() < 0.5, h) for h in ANY_ABSTRACT]
                              + [RefType(r.random() < 0.5, s) for s in range(len(self.defs))])
            _op(fg, "ref.test", target)
        elif k == 2 and self.arrays:
            self.ref_expr(fg, RefType(r.random() < 0.1, r.choice(self.arrays)), depth + 1)
            _op(fg, "array.len")
        elif k == 3:
            self.ref_expr(fg, RefType(r.random() < 0.1, "i31"), depth + 1)
            _op(fg, r.choice(("i31.get_s", "i31.get_u")))
        elif k == 4:
            x = self._local_sub(fg, RefType(True, "eq"))
            eq = RefType(True, "eq")
            if x is not None and r.random() < 0.5:
                _op(fg, "local.get", x)
            else:
                self.ref_expr(fg, eq, depth + 1)
            self.ref_expr(fg, eq, depth + 1) if x is None or r.random() < 0.5 else _op(
                fg, "local.get", x)
            _op(fg, "ref.eq")
        elif k == 5:
            self.ref_expr(fg, RefType(True, "extern"), depth + 1)
            _op(fg, "any.convert_extern")
            _op(fg, "ref.test", RefType(False, r.choice(["i31", "struct", "eq", "any"])))
        else:
            # an i31 that went out to extern and back
            fg.expr(I32, depth + 1)
            _op(fg, "ref.i31")
            _op(fg, "extern.convert_any")
            _op(fg, "any.convert_extern")
            _op(fg, "ref.cast", RefType(False, "i31"))
            _op(fg, "i31.get_s")

    def _br_on_null_num(self, fg: FuncGen, depth: int) -> None:
        """(block (result i32) <i32 a> <ref> br_on_null 0 drop drop <i32 b>)."""
        fg.labels.append(_label((I32,)))
        _op(fg, "block", I32)
        fg.expr(I32, depth + 1)
        self.ref_expr(fg, RefType(True, self.random_ref().heap), depth + 1)
        _op(fg, "br_on_null", 0)
        _op(fg, "drop")
        _op(fg, "drop")
        fg.expr(I32, depth + 1)
        fg.labels.pop()
        _op(fg, "end")

    def _call_ref(self, fg: FuncGen, t: ValType, depth: int) -> bool:
        cands = [f for f, ft in enumerate(fg.mod.func_types) if ft.results == (t,)]
        if not cands:
            return False
        f = self.rng.choice(cands)
        ft = fg.mod.func_types[f]
        for p in ft.params:
            fg.expr(p, depth + 1)
        x = self._local_sub(fg, RefType(True, fg.mod.typeidx(ft)))
        if x is not None and self.rng.random() < 0.5:
            _op(fg, "local.get", x)
        else:
            _op(fg, "ref.func", f)
        _op(fg, "call_ref", fg.mod.typeidx(ft))
        return True

    # ------------------------------------------------------------ statements
    def stmt(self, fg: FuncGen, depth: int) -> None:
        r = self.rng
        if self.exn_rng is not None and fg.mod.tags and self.has_exn_fields() \
                and self.exn_rng.random() < 0.08:
            self._throw_field(fg, depth)
            return
        k = r.randrange(100)
        if k < 25:
            self._struct_set(fg, depth)
        elif k < 40 and self.arrays:
            self._array_op(fg, depth)
        elif k < 60:
            t = RefType(True, self.random_ref().heap)
            x = fg.new_local(t) if r.random() < 0.3 or not fg.locals else None
            if x is None:
                x = self._local_sub(fg, RefType(True, "any"))
            if x is None:
                x = fg.new_local(t)
            lt = (list(fg.ftype.params) + fg.locals)[x]
            if not isinstance(lt, RefType):
                fg.expr(lt, depth + 1)
            else:
                self.ref_expr(fg, lt, depth + 1)
            _op(fg, "local.set", x)
        elif k < 70:
            gs = [i for i, gt in enumerate(fg.mod.global_types)
                  if gt.mutable and isinstance(gt.type, RefType)]
            if gs:
                g = r.choice(gs)
                self.ref_expr(fg, fg.mod.global_types[g].type, depth + 1)  # type: ignore[arg-type]
                _op(fg, "global.set", g)
        elif k < 78 and fg.mod.gc_table is not None:
            _op(fg, "i32.const", r.randrange(5))
            self.ref_expr(fg, RefType(True, "any"), depth + 1)
            _op(fg, "table.set", fg.mod.gc_table)
        elif k < 83 and tuple(fg.ftype.results) in [tuple(ft.results)
                                                    for ft in fg.mod.func_types]:
            cands = [f for f, ft in enumerate(fg.mod.func_types)
                     if ft.results == fg.ftype.results]
            f = r.choice(cands)
            ft = fg.mod.func_types[f]
            for p in ft.params:
                fg.expr(p, depth + 1)
            _op(fg, "ref.func", f)
            _op(fg, "return_call_ref", fg.mod.typeidx(ft))
        else:
            self.ref_expr(fg, self.random_ref(), depth + 1)
            _op(fg, "drop")

    def _struct_set(self, fg: FuncGen, depth: int) -> None:
        cands = [(s, i) for s in self.structs for i, f in enumerate(self.comp(s).fields)
                 if f.mutable]
        if not cands:
            return
        s, i = self.rng.choice(cands)
        self.ref_expr(fg, RefType(self.rng.random() < 0.1, s), depth + 1)
        self.value(fg, self.comp(s).fields[i].storage, depth + 1)
        _op(fg, "struct.set", s, i)

    def _array_op(self, fg: FuncGen, depth: int) -> None:
        r = self.rng
        a = r.choice(self.arrays)
        f = self.comp(a).field
        k = r.randrange(5)
        if not f.mutable:
            self.ref_expr(fg, RefType(True, a), depth + 1)
            _op(fg, "array.len")
            _op(fg, "drop")
            return
        self.ref_expr(fg, RefType(r.random() < 0.1, a), depth + 1)
        self.index(fg, depth)
        if k == 0:
            self.value(fg, f.storage, depth + 1)
            _op(fg, "array.set", a)
        elif k == 1:
            self.value(fg, f.storage, depth + 1)
            self.index(fg, depth)
            _op(fg, "array.fill", a)
        elif k == 2:
            srcs = [b for b in self.arrays if _storage_sub(self, self.comp(b).field.storage,
                                                            f.storage)]
            b = r.choice(srcs)
            self.ref_expr(fg, RefType(r.random() < 0.1, b), depth + 1)
            self.index(fg, depth)
            self.index(fg, depth)
            _op(fg, "array.copy", a, b)
        elif k == 3 and not isinstance(f.storage, RefType) and fg.mod.passive_data is not None:
            _op(fg, "i32.const", r.choice([0, 1, 3, 16]))
            self.index(fg, depth)
            _op(fg, "array.init_data", a, fg.mod.passive_data)
        else:
            self.value(fg, f.storage, depth + 1)
            _op(fg, "array.set", a)


def _storage_sub(gg: GcGen, a: StorageType, b: StorageType) -> bool:
    if isinstance(a, PackedType) or isinstance(b, PackedType):
        return a == b
    return gg.sub(a, b)


def _is_func(gg: GcGen, h: Any) -> bool:
    return isinstance(h, int) and h >= len(gg.defs)


def _label(types: tuple[ValType, ...]) -> Any:
    from .codegen import Label

    return Label(types)


def _widen(fg: FuncGen, t: ValType) -> None:
    """Convert an i32 on the stack to ``t``."""
    if t is I64:
        _op(fg, "i64.extend_i32_s")
    elif t is F32:
        _op(fg, "f32.convert_i32_s")
    elif t is F64:
        _op(fg, "f64.convert_i32_s")
    elif t is V128:
        _op(fg, "i32x4.splat")


def gc_function_types(gg: GcGen, rng: random.Random, n: int) -> list[FuncType]:
    """Types of helper functions that take and return references."""
    out = []
    for _ in range(n):
        params = tuple(gg.random_ref() if rng.random() < 0.6 else rng.choice(NUM)
                       for _ in range(rng.randint(0, 3)))
        results = tuple(gg.random_ref() if rng.random() < 0.7 else rng.choice(NUM)
                        for _ in range(rng.choice([0, 1, 1, 1, 2])))
        out.append(FuncType(params, results))
    return out


def prologue(gg: GcGen, fg: FuncGen) -> None:
    """Reference locals made at the top of a body: non-nullable ones are set there, at
    the function's top level, so they are initialised everywhere after."""
    for _ in range(gg.rng.randint(0, 3)):
        t = gg.random_ref()
        x = fg.new_local(t)
        if not t.nullable:
            gg.ref_expr(fg, t, 2)
            _op(fg, "local.set", x)
            fg.inited.add(x)


def const_expr(gg: GcGen, t: RefType, func_types: int) -> list[tuple[Any, ...]]:
    """A constant expression of reference type ``t`` (for a global's initialiser)."""
    r = gg.rng
    out: list[tuple[Any, ...]] = []

    def op(name: str, *imms: Any) -> None:
        out.append((BY_NAME[name], *imms))

    def num(st: StorageType) -> None:
        base = I32 if isinstance(st, PackedType) else st
        op(f"{base}.const", const_imm(r, base))  # type: ignore[arg-type]

    def ref(rt: RefType, depth: int) -> None:
        hh = rt.heap
        if hh in ("struct", "array") and (gg.structs if hh == "struct" else gg.arrays):
            if not rt.nullable or r.random() < 0.5:
                hh = r.choice(gg.structs if hh == "struct" else gg.arrays)
        if isinstance(hh, int) and hh < len(gg.defs) and depth < 2:
            s = r.choice(gg.subtypes_of(hh))
            ct = gg.comp(s)
            if isinstance(ct, StructType):
                if s in gg.defaultable and r.random() < 0.3:
                    op("struct.new_default", s)
                    return
                for f in ct.fields:
                    if isinstance(f.storage, RefType):
                        ref(f.storage, depth + 1)
                    else:
                        num(f.storage)
                op("struct.new", s)
            else:
                n = r.randrange(3)
                for _ in range(n):
                    st = ct.field.storage
                    ref(st, depth + 1) if isinstance(st, RefType) else num(st)
                op("array.new_fixed", s, n)
            return
        if hh in ("any", "eq", "i31") and (not rt.nullable or r.random() < 0.7):
            op("i32.const", const_imm(r, I32))
            op("ref.i31")
            if hh == "any" and r.random() < 0.3:
                op("extern.convert_any")
                op("any.convert_extern")
            return
        if rt.nullable:
            op("ref.null", hh)
            return
        if isinstance(hh, int) and hh < len(gg.defs):
            s = r.choice([x for x in gg.subtypes_of(hh) if x in gg.defaultable] or [hh])
            op("struct.new_default" if s in gg.structs else "array.new_fixed", s,
               *(() if s in gg.structs else (0,)))
            return
        op("ref.null", hh)  # unreachable for the types random_ref makes non-null

    ref(t, 0)
    return out
