"""THE tables of the component format: type opcodes, sorts, canonical options and
canonical definitions (Binary.md). The decoder, encoder, text parser, printer and
validator are all driven by these rows, as the core operators are by ``ops.py``.

A canonical definition is a row of :data:`CANON`: its text keyword, binary opcode
and immediates in binary (= text) order. Immediate kinds:

``lift-func``   the core function lifted (binary: sort byte 0x00, then a core funcidx)
``lower-func``  the component function lowered (binary: sort byte 0x00, then a funcidx)
``opts``        a vector of canonical options (:data:`CANON_OPTS`)
``type``        a component type index
``resultlist``  an optional result value type (``task.return``)
``async``/``cancellable``/``shared``  a boolean flag byte (text: the keyword present)
``coreval``     a core value type (``i32``/``i64``)
``u32``         an integer immediate
``memory``/``coretype``/``table``   a core memory/type/table index
"""

from __future__ import annotations

from dataclasses import dataclass

from .component import PRIMITIVES

# ---------------------------------------------------------------- value type opcodes
PRIM_CODE: dict[str, int] = {name: 0x7F - i for i, name in enumerate(PRIMITIVES[:-1])}
PRIM_CODE["error-context"] = 0x64
PRIM_BY_CODE: dict[int, str] = {code: name for name, code in PRIM_CODE.items()}

OP_RECORD = 0x72
OP_VARIANT = 0x71
OP_LIST = 0x70
OP_TUPLE = 0x6F
OP_FLAGS = 0x6E
OP_ENUM = 0x6D
OP_OPTION = 0x6B
OP_RESULT = 0x6A
OP_OWN = 0x69
OP_BORROW = 0x68
OP_FIXED_LIST = 0x67
OP_STREAM = 0x66
OP_FUTURE = 0x65
OP_MAP = 0x63
OP_FUNC = 0x40
OP_FUNC_ASYNC = 0x43
OP_COMPONENT = 0x41
OP_INSTANCE = 0x42
OP_RESOURCE = 0x3F

DEFVAL_OPCODES = frozenset({
    OP_RECORD, OP_VARIANT, OP_LIST, OP_TUPLE, OP_FLAGS, OP_ENUM, OP_OPTION, OP_RESULT,
    OP_OWN, OP_BORROW, OP_FIXED_LIST, OP_STREAM, OP_FUTURE, OP_MAP,
}) | frozenset(PRIM_BY_CODE)  # fmt: skip

# ---------------------------------------------------------------- sorts
CORE_SORT_CODE: dict[str, int] = {
    "core func": 0x00, "core table": 0x01, "core memory": 0x02, "core global": 0x03,
    "core tag": 0x04, "core type": 0x10, "core module": 0x11, "core instance": 0x12,
}  # fmt: skip
CORE_SORT_BY_CODE = {v: k for k, v in CORE_SORT_CODE.items()}
SORT_CODE: dict[str, int] = {"func": 0x01, "value": 0x02, "type": 0x03, "component": 0x04,
                             "instance": 0x05}  # fmt: skip
SORT_BY_CODE = {v: k for k, v in SORT_CODE.items()}

OUTER_ALIAS_SORTS = ("core module", "core type", "type", "component")

EXTERN_KIND_CODE: dict[str, int] = {"core module": 0x00, "func": 0x01, "value": 0x02,
                                    "type": 0x03, "component": 0x04, "instance": 0x05}  # fmt: skip
EXTERN_KIND_BY_CODE = {v: k for k, v in EXTERN_KIND_CODE.items()}

CORE_EXTERN_KINDS = ("func", "table", "memory", "global", "tag")
"""Core sorts a core instance can export (binary codes 0x00..0x04)."""


def sort_keyword(sort: str) -> str:
    """Text keyword(s) of a sort: ``core func`` stays ``core func``."""
    return sort


# ---------------------------------------------------------------- names
NAME_ATTRS: dict[str, int] = {"implements": 0x00, "versionsuffix": 0x01, "external-id": 0x02}
NAME_ATTR_BY_CODE = {v: k for k, v in NAME_ATTRS.items()}


# ---------------------------------------------------------------- canonical options
@dataclass(frozen=True, slots=True)
class CanonOptInfo:
    text: str
    """Keyword (``memory``) or whole token (``string-encoding=utf8``)."""
    code: int
    index: str | None = None
    """Sort of the index immediate, if any."""


CANON_OPTS: tuple[CanonOptInfo, ...] = (
    CanonOptInfo("string-encoding=utf8", 0x00),
    CanonOptInfo("string-encoding=utf16", 0x01),
    CanonOptInfo("string-encoding=latin1+utf16", 0x02),
    CanonOptInfo("memory", 0x03, "core memory"),
    CanonOptInfo("realloc", 0x04, "core func"),
    CanonOptInfo("post-return", 0x05, "core func"),
    CanonOptInfo("async", 0x06),
    CanonOptInfo("callback", 0x07, "core func"),
)
CANON_OPT_BY_CODE = {o.code: o for o in CANON_OPTS}
CANON_OPT_BY_NAME = {o.text: o for o in CANON_OPTS}
STRING_ENCODINGS = {"string-encoding=utf8": "utf8", "string-encoding=utf16": "utf16",
                    "string-encoding=latin1+utf16": "latin1+utf16"}  # fmt: skip


# ---------------------------------------------------------------- canonical definitions
@dataclass(frozen=True, slots=True)
class CanonInfo:
    name: str
    code: int
    imms: tuple[str, ...]
    sig: str | None = None
    """Core signature of the defined core function, when fixed: ``"params->results"``
    with ``i``/``I`` for i32/i64, ``p`` for the canonical memory's address type and
    ``c`` for the ``coreval`` immediate. None: computed by the validator."""
    gate: str = "async"
    """Feature family (🔀 ``async``, 🧵 ``threading``, 📝 ``error-context``,
    🧵② ``shared-everything-threads``, or ``mvp``)."""
    type_kind: str | None = None
    """What the ``type`` immediate must be: ``resource``, ``stream`` or ``future``."""


def _c(name: str, code: int, imms: tuple[str, ...] = (), sig: str | None = None,
       gate: str = "async", type_kind: str | None = None) -> CanonInfo:
    return CanonInfo(name, code, imms, sig, gate, type_kind)


CANON: tuple[CanonInfo, ...] = (
    _c("lift", 0x00, ("lift-func", "opts", "type"), gate="mvp"),
    _c("lower", 0x01, ("lower-func", "opts"), gate="mvp"),
    _c("resource.new", 0x02, ("type",), None, "mvp", "resource"),
    _c("resource.drop", 0x03, ("type",), "i->", "mvp", "resource"),
    _c("resource.rep", 0x04, ("type",), None, "mvp", "resource"),
    _c("backpressure.inc", 0x24, (), "->"),
    _c("backpressure.dec", 0x25, (), "->"),
    _c("task.return", 0x09, ("resultlist", "opts")),
    _c("task.cancel", 0x05, (), "->"),
    _c("context.get", 0x0A, ("coreval", "u32"), "->c"),
    _c("context.set", 0x0B, ("coreval", "u32"), "c->"),
    _c("subtask.cancel", 0x06, ("async",), "i->i"),
    _c("subtask.drop", 0x0D, (), "i->"),
    _c("stream.new", 0x0E, ("type",), "->I", type_kind="stream"),
    _c("stream.read", 0x0F, ("type", "opts"), "iii->i", type_kind="stream"),
    _c("stream.write", 0x10, ("type", "opts"), "iii->i", type_kind="stream"),
    _c("stream.cancel-read", 0x11, ("type", "async"), "i->i", type_kind="stream"),
    _c("stream.cancel-write", 0x12, ("type", "async"), "i->i", type_kind="stream"),
    _c("stream.drop-readable", 0x13, ("type",), "i->", type_kind="stream"),
    _c("stream.drop-writable", 0x14, ("type",), "i->", type_kind="stream"),
    _c("future.new", 0x15, ("type",), "->I", type_kind="future"),
    _c("future.read", 0x16, ("type", "opts"), "ii->i", type_kind="future"),
    _c("future.write", 0x17, ("type", "opts"), "ii->i", type_kind="future"),
    _c("future.cancel-read", 0x18, ("type", "async"), "i->i", type_kind="future"),
    _c("future.cancel-write", 0x19, ("type", "async"), "i->i", type_kind="future"),
    _c("future.drop-readable", 0x1A, ("type",), "i->", type_kind="future"),
    _c("future.drop-writable", 0x1B, ("type",), "i->", type_kind="future"),
    _c("error-context.new", 0x1C, ("opts",), "ii->i", "error-context"),
    _c("error-context.debug-message", 0x1D, ("opts",), "ii->", "error-context"),
    _c("error-context.drop", 0x1E, (), "i->", "error-context"),
    _c("waitable-set.new", 0x1F, (), "->i"),
    _c("waitable-set.wait", 0x20, ("cancellable", "memory"), "ip->i"),
    _c("waitable-set.poll", 0x21, ("cancellable", "memory"), "ip->i"),
    _c("waitable-set.drop", 0x22, (), "i->"),
    _c("waitable.join", 0x23, (), "ii->"),
    _c("thread.index", 0x26, (), "->i", "threading"),
    _c("thread.new-indirect", 0x27, ("coretype", "table"), "ii->i", "threading"),
    _c("thread.resume-later", 0x28, (), "i->", "threading"),
    _c("thread.suspend", 0x29, ("cancellable",), "->i", "threading"),
    _c("thread.yield", 0x0C, ("cancellable",), "->i"),
    _c("thread.suspend-then-resume", 0x2A, ("cancellable",), "i->i", "threading"),
    _c("thread.yield-then-resume", 0x2B, ("cancellable",), "i->i", "threading"),
    _c("thread.suspend-then-promote", 0x2C, ("cancellable",), "i->i", "threading"),
    _c("thread.yield-then-promote", 0x2D, ("cancellable",), "i->i", "threading"),
    _c("thread.spawn-ref", 0x40, ("shared", "coretype"), None, "shared-everything-threads"),
    _c("thread.spawn-indirect", 0x41, ("shared", "coretype", "table"), "ii->i",
       "shared-everything-threads"),
    _c("thread.available-parallelism", 0x42, ("shared",), "->i", "shared-everything-threads"),
)
CANON_BY_CODE: dict[int, CanonInfo] = {c.code: c for c in CANON}
CANON_BY_NAME: dict[str, CanonInfo] = {c.name: c for c in CANON}

FLAG_IMMS = {"async": "async", "cancellable": "cancellable", "shared": "shared"}
"""Boolean immediates and the text keyword that sets them."""
