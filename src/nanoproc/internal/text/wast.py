"""WAST scripts: the spec test suite's command language (spec interpreter README).

:func:`parse_wast` turns a script into a list of commands, each a dataclass with
the 1-based ``line`` it starts on. Text modules are parsed to :class:`Module` right
away (the suite only puts well-formed text there); ``module binary`` keeps its
bytes and ``module quote`` its source text, for the runner to decode or parse when
it runs the command (so assert_malformed fails at that point, not here).

Script-level names (``$M`` in ``(module $M ...)``, ``(register "m" $M)``,
``(invoke $M "f")``) are kept with their ``$``. Values follow the ops.py
conventions: integers signed, floats as IEEE bit patterns (keeping NaN payloads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..syntax.module import Module
from ..syntax.types import ABSTRACT_HEAP_TYPES, F32, F64, I32, I64, HeapType, NumType
from .component_wast import CompValue, bare_value, is_component_value
from .cursor import Cursor, uint_of
from .instrs import _SHAPES, literal, number, v128_literal
from .lexer import ATOM, ID, Node, Source, Tok, decode_name, read_sexprs
from .numbers import OutOfRange, parse_float, parse_int
from .wat import guarded, parse_module

# ---------------------------------------------------------------- values (arguments)


@dataclass(frozen=True, slots=True)
class NumValue:
    """``(i32.const 1)`` etc.: ``value`` is a signed int (i32/i64) or a bit pattern (f32/f64)."""

    type: NumType
    value: int


@dataclass(frozen=True, slots=True)
class VecValue:
    """``(v128.const shape lane*)`` as its 16 little-endian bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class RefNullValue:
    """``(ref.null ht)``: an abstract heap type name, a type index, or a ``$id`` string."""

    heap: HeapType


@dataclass(frozen=True, slots=True)
class RefExternValue:
    """``(ref.extern N)``: the host reference number N, as an externref."""

    n: int


@dataclass(frozen=True, slots=True)
class RefHostValue:
    """``(ref.host N)``: legacy spelling of a host reference."""

    n: int


Value = (
    NumValue
    | VecValue
    | RefNullValue
    | RefExternValue
    | RefHostValue
    | CompValue
)

# ---------------------------------------------------------------- expected results

NAN_CANONICAL = "nan:canonical"
NAN_ARITHMETIC = "nan:arithmetic"


@dataclass(frozen=True, slots=True)
class NumResult:
    """An expected number: exact ``value`` (as in NumValue), or ``nan`` set to
    ``"nan:canonical"`` / ``"nan:arithmetic"`` (then ``value`` is None)."""

    type: NumType
    value: int | None
    nan: str | None = None


@dataclass(frozen=True, slots=True)
class VecResult:
    """An expected v128, lane by lane in ``shape`` (``"i8x16"`` ... ``"f64x2"``).

    Each lane is an int (signed for integer shapes, bit pattern for float shapes) or
    one of the NaN pattern strings for float shapes.
    """

    shape: str
    lanes: tuple[int | str, ...]

    def exact_bytes(self) -> bytes | None:
        """The 16 bytes when no lane is a NaN pattern, else None."""
        _, bits, _ = _SHAPES[self.shape]
        out = bytearray()
        for lane in self.lanes:
            if isinstance(lane, str):
                return None
            out += (lane & ((1 << bits) - 1)).to_bytes(bits // 8, "little")
        return bytes(out)


@dataclass(frozen=True, slots=True)
class RefResult:
    """An expected reference.

    ``kind``: ``null`` (``heap`` given, or None for any null), ``func`` (``index``: a
    function index, or ``heap`` a ``$name`` as written, or neither for any funcref),
    ``extern``/``host`` (``index``: the host number, or None for any non-null one),
    or an abstract type any non-null value of which matches: ``any``, ``eq``,
    ``i31``, ``struct``, ``array``, ``exn``.
    """

    kind: str
    index: int | None = None
    heap: HeapType | None = None


@dataclass(frozen=True, slots=True)
class EitherResult:
    """``(either r1 r2 ...)``: the actual result list must match one alternative."""

    options: tuple[Result, ...]


Result = (
    NumResult
    | VecResult
    | RefResult
    | EitherResult
    | CompValue
)

# ---------------------------------------------------------------- actions


@dataclass(slots=True)
class Invoke:
    line: int
    module: str | None
    name: str
    args: tuple[Value, ...]


@dataclass(slots=True)
class Get:
    line: int
    module: str | None
    name: str


Action = (
    Invoke
    | Get
)

# ---------------------------------------------------------------- commands


@dataclass(slots=True)
class ModuleCommand:
    """A module definition: ``(module ...)``, ``(module binary ...)``, ``(module quote ...)``.

    ``kind`` is ``text`` (``module`` holds the parsed Module), ``binary`` (``binary``
    holds the bytes) or ``quote`` (``quote`` holds the concatenated source, to be
    parsed with parse_wat when run). ``definition`` marks ``(module definition ...)``:
    compile, do not instantiate (``(module instance ...)`` instantiates it later).
    """

    line: int
    name: str | None
    kind: str
    module: Module | None = None
    binary: bytes | None = None
    quote: str | None = None
    definition: bool = False
    component: bool = False
    """``(component ...)``: ``module`` holds a syntax.component.Component."""


@dataclass(slots=True)
class ModuleInstance:
    """``(module instance $inst? $def?)``: instantiate a module definition."""

    line: int
    instance: str | None
    module: str | None
    component: bool = False


@dataclass(slots=True)
class Register:
    """``(register "name" $M?)``: make a module's exports importable as ``name``."""

    line: int
    as_name: str
    module: str | None


@dataclass(slots=True)
class ActionCommand:
    line: int
    action: Action


@dataclass(slots=True)
class AssertReturn:
    line: int
    action: Action
    results: tuple[Result, ...]


@dataclass(slots=True)
class AssertTrap:
    """Either ``action`` traps, or instantiating ``module`` traps (one of them is None)."""

    line: int
    action: Action | None
    module: ModuleCommand | None
    message: str


@dataclass(slots=True)
class AssertExhaustion:
    line: int
    action: Action
    message: str


@dataclass(slots=True)
class AssertException:
    line: int
    action: Action


@dataclass(slots=True)
class AssertMalformed:
    line: int
    module: ModuleCommand
    message: str


@dataclass(slots=True)
class AssertInvalid:
    line: int
    module: ModuleCommand
    message: str


@dataclass(slots=True)
class AssertUnlinkable:
    line: int
    module: ModuleCommand
    message: str


@dataclass(slots=True)
class AssertUninstantiable:
    """Legacy spelling of ``(assert_trap (module ...) msg)``."""

    line: int
    module: ModuleCommand
    message: str


Command = (
    ModuleCommand
    | ModuleInstance
    | Register
    | ActionCommand
    | AssertReturn
    | AssertTrap
    | AssertExhaustion
    | AssertException
    | AssertMalformed
    | AssertInvalid
    | AssertUnlinkable
    | AssertUninstantiable
)

# ---------------------------------------------------------------- parser


def parse_wast(text: str, *, filename: str | None = None) -> list[Command]:
    """Parse a WAST script. Raises ParseError (and nothing else) if it is malformed."""
    src = Source(text, filename)

    def run() -> list[Command]:
        root = read_sexprs(src)
        top = Cursor(root, src)
        if root.items and all(
            isinstance(i, Node) and i.head() not in _COMMANDS and i.head() not in ("module", "component")
            for i in root.items
        ):
            # A bare module (fields only), as accepted by the reference interpreter.
            return [ModuleCommand(1, None, "text", module=parse_module(top))]
        out: list[Command] = []
        while top.more():
            item = top.next()
            if not isinstance(item, Node):
                raise top.unexpected(item)
            out.append(_command(item, src))
        return out

    return guarded(src, run)


def _command(node: Node, src: Source) -> Command:
    head = node.head()
    if head in ("module", "component"):
        return _module(node, src)
    handler = _COMMANDS.get(head or "")
    if handler is None:
        raise src.error(f"unknown command {head or ''}", node.pos)
    return handler(node, src)


def _line(node: Node, src: Source) -> int:
    return src.line(node.pos)


def _script_name(cur: Cursor) -> str | None:
    item = cur.peek()
    if isinstance(item, Tok) and item.kind == ID:
        cur.i += 1
        return item.text
    return None


def _module(node: Node, src: Source) -> ModuleCommand | ModuleInstance:
    cur = Cursor(node, src, 1)
    line = _line(node, src)
    comp = node.head() == "component"
    if cur.take_keyword("instance"):
        inst = _script_name(cur)
        mod = _script_name(cur)
        cur.expect_end()
        return ModuleInstance(line, inst, mod, component=comp)
    definition = cur.take_keyword("definition")
    save = cur.i
    name = _script_name(cur)
    if cur.take_keyword("binary"):
        data = b"".join(_strings(cur))
        return ModuleCommand(line, name, "binary", binary=data, definition=definition,
                             component=comp)  # fmt: skip
    if cur.take_keyword("quote"):
        # Bytes that are not UTF-8 survive as lone surrogates, which the lexer rejects
        # as malformed when the runner parses the text.
        text = " ".join(b.decode("utf-8", "surrogateescape") for b in _strings(cur))
        return ModuleCommand(line, name, "quote", quote=text, definition=definition,
                             component=comp)  # fmt: skip
    cur.i = save
    if comp:
        from .component_wat import parse_component

        component = parse_component(cur)
        if component.id is not None:
            name = "$" + component.id
        return ModuleCommand(line, name, "text", module=component, definition=definition,  # type: ignore[arg-type]
                             component=True)  # fmt: skip
    module = parse_module(cur)
    if module.id is not None:
        name = "$" + module.id
    return ModuleCommand(line, name, "text", module=module, definition=definition)


def _strings(cur: Cursor) -> list[bytes]:
    out = []
    while cur.more():
        out.append(cur.string())
    return out


def _module_arg(cur: Cursor) -> ModuleCommand:
    item = cur.next("module")
    if not isinstance(item, Node) or item.head() not in ("module", "component"):
        raise cur.unexpected(item)
    mod = _module(item, cur.src)
    if not isinstance(mod, ModuleCommand):
        raise cur.unexpected(item)
    return mod


def _message(cur: Cursor) -> str:
    item = cur.peek()
    raw = cur.string()
    cur.expect_end()
    assert item is not None
    return decode_name(raw, cur.src, item.pos)


# ---------------------------------------------------------------- actions and values
def _action(cur: Cursor) -> Action:
    item = cur.next("action")
    if not isinstance(item, Node) or item.head() not in ("invoke", "get"):
        raise cur.unexpected(item)
    sub = Cursor(item, cur.src, 1)
    line = _line(item, cur.src)
    mod = _script_name(sub)
    name = sub.name()
    if item.head() == "get":
        sub.expect_end()
        return Get(line, mod, name)
    args = []
    while sub.more():
        args.append(_value(sub))
    return Invoke(line, mod, name, tuple(args))


_NUM = {"i32.const": I32, "i64.const": I64, "f32.const": F32, "f64.const": F64}


def _value(cur: Cursor) -> Value:
    sub = cur.list()
    head = sub.keyword().text
    if head in _NUM:
        v = NumValue(_NUM[head], number(sub, head[:3]))
    elif head == "v128.const":
        v = VecValue(v128_literal(sub))  # type: ignore[assignment]
    elif head == "ref.null":
        v = RefNullValue(_heap(sub))  # type: ignore[assignment]
    elif head == "ref.extern":
        v = RefExternValue(sub.u32())  # type: ignore[assignment]
    elif head == "ref.host":
        v = RefHostValue(sub.u32())  # type: ignore[assignment]
    elif is_component_value(head):
        sub.i = 0
        v = bare_value(sub)  # type: ignore[assignment]
    else:
        raise sub.error(f"unexpected token {head}: expected a constant", sub.items[0])
    sub.expect_end()
    return v


def _heap(cur: Cursor) -> HeapType:
    item = cur.next("heap type")
    if isinstance(item, Tok):
        if item.kind == ATOM and item.text in ABSTRACT_HEAP_TYPES:
            return item.text
        if item.kind == ID:
            return item.text
        if item.kind == ATOM:
            return uint_of(item, 32, cur.src)
    raise cur.unexpected(item)


_REF_KINDS = frozenset({"any", "eq", "i31", "struct", "array", "exn"})


def _result(cur: Cursor) -> Result:
    sub = cur.list()
    head = sub.keyword().text
    r: Result
    if head in _NUM:
        t = _NUM[head]
        tok = sub.next("literal")
        if not isinstance(tok, Tok) or tok.kind != ATOM:
            raise sub.unexpected(tok)
        if head[0] == "f" and tok.text in (NAN_CANONICAL, NAN_ARITHMETIC):
            r = NumResult(t, None, tok.text)
        else:
            r = NumResult(t, literal(tok, head[:3], sub))
    elif head == "v128.const":
        r = _vec_result(sub)
    elif head == "either":
        opts = []
        while sub.more():
            opts.append(_result(sub))
        r = EitherResult(tuple(opts))
    elif head == "ref.null":
        r = RefResult("null", heap=_heap(sub) if sub.more() else None)
    elif head in ("ref.func", "ref.extern", "ref.host"):
        kind = head[4:]
        if not sub.more():
            r = RefResult(kind)
        elif kind == "func" and isinstance(sub.peek(), Tok) and sub.peek().kind == ID:  # type: ignore[union-attr]
            r = RefResult(kind, heap=sub.next().text)  # type: ignore[union-attr]
        else:
            r = RefResult(kind, sub.u32())
    elif head.startswith("ref.") and head[4:] in _REF_KINDS:
        r = RefResult(head[4:])
    elif is_component_value(head):
        sub.i = 0
        r = bare_value(sub)  # type: ignore[assignment]
    else:
        raise sub.error(f"unexpected token {head}: expected a result", sub.items[0])
    sub.expect_end()
    return r


def _vec_result(cur: Cursor) -> VecResult:
    shape_tok = cur.keyword()
    shape = _SHAPES.get(shape_tok.text)
    if shape is None:
        raise cur.error(f"unexpected token {shape_tok.text}: expected a v128 shape", shape_tok)
    kind, bits, count = shape
    lanes: list[int | str] = []
    for _ in range(count):
        tok = cur.next("lane")
        if not isinstance(tok, Tok) or tok.kind != ATOM:
            raise cur.error("wrong number of lane literals", tok)
        if kind == "f" and tok.text in (NAN_CANONICAL, NAN_ARITHMETIC):
            lanes.append(tok.text)
            continue
        try:
            v = parse_int(tok.text, bits) if kind == "i" else parse_float(tok.text, bits)
        except OutOfRange:
            raise cur.error("constant out of range", tok) from None
        if v is None:
            raise cur.error(f"unknown operator {tok.text}", tok)
        lanes.append(v)
    return VecResult(shape_tok.text, tuple(lanes))


# ---------------------------------------------------------------- commands
def _register(node: Node, src: Source) -> Command:
    cur = Cursor(node, src, 1)
    name = cur.name()
    mod = _script_name(cur)
    cur.expect_end()
    return Register(_line(node, src), name, mod)


def _invoke_or_get(node: Node, src: Source) -> Command:
    holder = Node([node], node.pos, node.end)
    return ActionCommand(_line(node, src), _action(Cursor(holder, src)))


def _assert_return(node: Node, src: Source) -> Command:
    cur = Cursor(node, src, 1)
    action = _action(cur)
    results = []
    while cur.more():
        results.append(_result(cur))
    return AssertReturn(_line(node, src), action, tuple(results))


def _assert_trap(node: Node, src: Source) -> Command:
    cur = Cursor(node, src, 1)
    if cur.peek_head() == "module":
        mod = _module_arg(cur)
        return AssertTrap(_line(node, src), None, mod, _message(cur))
    action = _action(cur)
    return AssertTrap(_line(node, src), action, None, _message(cur))


def _assert_exhaustion(node: Node, src: Source) -> Command:
    cur = Cursor(node, src, 1)
    action = _action(cur)
    return AssertExhaustion(_line(node, src), action, _message(cur))


def _assert_exception(node: Node, src: Source) -> Command:
    cur = Cursor(node, src, 1)
    action = _action(cur)
    cur.expect_end()
    return AssertException(_line(node, src), action)


def _module_assert(cls: type) -> Callable[[Node, Source], Command]:
    def parse(node: Node, src: Source) -> Command:
        cur = Cursor(node, src, 1)
        mod = _module_arg(cur)
        return cls(_line(node, src), mod, _message(cur))  # type: ignore[no-any-return]

    return parse


_COMMANDS: dict[str, Callable[[Node, Source], Command]] = {
    "register": _register,
    "invoke": _invoke_or_get,
    "get": _invoke_or_get,
    "assert_return": _assert_return,
    "assert_trap": _assert_trap,
    "assert_exhaustion": _assert_exhaustion,
    "assert_exception": _assert_exception,
    "assert_malformed": _module_assert(AssertMalformed),
    "assert_invalid": _module_assert(AssertInvalid),
    "assert_unlinkable": _module_assert(AssertUnlinkable),
    "assert_uninstantiable": _module_assert(AssertUninstantiable),
}
