"""The component syntax tree (component model Explainer, "Grammar"; Binary.md).

A component is a sequence of *sections* in definition order, exactly as in the binary
format: each section holds one kind of definition (types, imports, canonical
functions, ...) and a text component puts each run of same-kind definitions into one
section, as ``wasm-tools parse`` does. Index spaces are implicit: every definition
appends to the index space of its *sort*, in order, so the validator and the
runtime walk the sections once.

Sorts are strings: ``func``, ``value``, ``type``, ``component``, ``instance`` and the
core sorts prefixed with ``core `` (``core func``, ``core table``, ``core memory``,
``core global``, ``core tag``, ``core type``, ``core module``, ``core instance``).

Component-level value types are a primitive name (``"u32"``, ``"string"``, ...) or a
type index (``int``). Core types reuse :mod:`.types`; embedded core modules reuse
:class:`.module.Module`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .module import Import, Module
from .types import RecType

PRIMITIVES = (
    "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64",
    "f32", "f64", "char", "string", "error-context",
)  # fmt: skip
"""Primitive value types, in binary opcode order (0x7f downwards, error-context 0x64)."""

ValType = str | int
"""A component value type: a primitive name or a type index."""

CORE_SORTS = ("func", "table", "memory", "global", "tag", "type", "module", "instance")
SORTS = ("func", "value", "type", "component", "instance") + tuple("core " + s for s in CORE_SORTS)


# ---------------------------------------------------------------- names
@dataclass(frozen=True, slots=True)
class ExternName:
    """An import/export name with its attributes (Binary.md ``nameattributes``).

    ``form`` is the binary prefix byte (0x00, 0x01: plain; 0x02: with an attribute
    list) so that decode -> encode gives the same bytes. ``attrs`` are
    ``(kind, value)`` pairs in encoded order: ``implements``, ``versionsuffix``,
    ``external-id``.
    """

    name: str
    attrs: tuple[tuple[str, str], ...] = ()
    form: int = 0

    def attr(self, kind: str) -> str | None:
        for k, v in self.attrs:
            if k == kind:
                return v
        return None

    @property
    def implements(self) -> str | None:
        return self.attr("implements")

    @property
    def version_suffix(self) -> str | None:
        return self.attr("versionsuffix")

    @property
    def external_id(self) -> str | None:
        return self.attr("external-id")


# ---------------------------------------------------------------- defined value types
@dataclass(frozen=True, slots=True)
class PrimType:
    """``(type u32)``: a primitive used as a type definition."""

    name: str


@dataclass(frozen=True, slots=True)
class RecordType:
    fields: tuple[tuple[str, ValType], ...]


@dataclass(frozen=True, slots=True)
class VariantType:
    cases: tuple[tuple[str, ValType | None], ...]


@dataclass(frozen=True, slots=True)
class ListType:
    elem: ValType
    length: int | None = None
    """Fixed length (🔧 fixed-length lists), else None."""


@dataclass(frozen=True, slots=True)
class TupleType:
    types: tuple[ValType, ...]


@dataclass(frozen=True, slots=True)
class FlagsType:
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnumType:
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OptionType:
    type: ValType


@dataclass(frozen=True, slots=True)
class ResultType:
    ok: ValType | None = None
    err: ValType | None = None


@dataclass(frozen=True, slots=True)
class OwnType:
    type: int


@dataclass(frozen=True, slots=True)
class BorrowType:
    type: int


@dataclass(frozen=True, slots=True)
class StreamType:
    type: ValType | None = None


@dataclass(frozen=True, slots=True)
class FutureType:
    type: ValType | None = None


@dataclass(frozen=True, slots=True)
class MapType:
    key: ValType
    value: ValType


DefValType = (
    PrimType | RecordType | VariantType | ListType | TupleType | FlagsType | EnumType | OptionType | ResultType | OwnType | BorrowType | StreamType | FutureType | MapType
)  # fmt: skip


# ---------------------------------------------------------------- other type definitions
@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple[tuple[str, ValType], ...] = ()
    result: ValType | None = None
    is_async: bool = False


@dataclass(frozen=True, slots=True)
class ResourceType:
    rep: str = "i32"
    """Core representation type: ``i32`` (or ``i64`` with 🐘)."""
    dtor: int | None = None
    """Core function index of the destructor."""


@dataclass(frozen=True, slots=True)
class ExternDesc:
    """The type of an import or export (Binary.md ``externtype``).

    ``kind``: ``core module``, ``func``, ``component``, ``instance`` (``index`` is a
    type index; a core type index for modules), ``type`` (``bound`` is ``eq`` with
    ``index`` the type, or ``sub`` for ``(sub resource)``), ``value`` (``bound`` is
    ``eq`` with ``index`` a value index, or ``type`` with ``valtype``).
    """

    kind: str
    index: int = 0
    bound: str | None = None
    valtype: ValType | None = None


@dataclass(frozen=True, slots=True)
class CoreTypeDecl:
    type: CoreType


@dataclass(frozen=True, slots=True)
class TypeDecl:
    type: DefType


@dataclass(frozen=True, slots=True)
class AliasDecl:
    alias: Alias


@dataclass(frozen=True, slots=True)
class ImportDecl:
    name: ExternName
    desc: ExternDesc


@dataclass(frozen=True, slots=True)
class ExportDecl:
    name: ExternName
    desc: ExternDesc


Decl = CoreTypeDecl | TypeDecl | AliasDecl | ImportDecl | ExportDecl


@dataclass(frozen=True, slots=True)
class ComponentTypeDef:
    decls: tuple[Decl, ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceTypeDef:
    decls: tuple[Decl, ...] = ()


DefType = DefValType | FuncType | ResourceType | ComponentTypeDef | InstanceTypeDef


# ---------------------------------------------------------------- core types
@dataclass(frozen=True, slots=True)
class CoreImportDecl:
    import_: Import


@dataclass(frozen=True, slots=True)
class CoreTypeDeclM:
    """A type definition inside a core module type."""

    type: RecType


@dataclass(frozen=True, slots=True)
class CoreOuterAlias:
    """``(alias outer ct idx (type))`` inside a core module type."""

    count: int
    index: int


@dataclass(frozen=True, slots=True)
class CoreExportDecl:
    name: str
    kind: str
    """``func``, ``table``, ``memory``, ``global``, ``tag``."""
    desc: object
    """As :class:`.module.Import` descriptions: a type index for functions, else the type."""


ModuleDecl = CoreImportDecl | CoreTypeDeclM | CoreOuterAlias | CoreExportDecl


@dataclass(frozen=True, slots=True)
class ModuleTypeDef:
    decls: tuple[ModuleDecl, ...] = ()


CoreType = RecType | ModuleTypeDef


# ---------------------------------------------------------------- aliases
@dataclass(frozen=True, slots=True)
class ExportAlias:
    """``(alias export $i "name" (sort))``."""

    sort: str
    instance: int
    name: str


@dataclass(frozen=True, slots=True)
class CoreExportAlias:
    """``(alias core export $i "name" (core sort))``; ``sort`` includes ``core ``."""

    sort: str
    instance: int
    name: str


@dataclass(frozen=True, slots=True)
class OuterAlias:
    """``(alias outer ct idx (sort))``: sort is ``core module``, ``core type``,
    ``component`` or ``type``."""

    sort: str
    count: int
    index: int


Alias = ExportAlias | CoreExportAlias | OuterAlias


# ---------------------------------------------------------------- definitions
@dataclass(slots=True)
class CoreModuleDef:
    """An embedded core module; ``binary`` is its exact bytes when decoded."""

    module: Module
    binary: bytes | None = None


@dataclass(frozen=True, slots=True)
class CoreInstantiate:
    module: int
    args: tuple[tuple[str, int], ...] = ()
    """``(name, core instance index)``."""


@dataclass(frozen=True, slots=True)
class CoreInlineExports:
    exports: tuple[tuple[str, str, int], ...] = ()
    """``(name, core sort, index)``; the sort includes ``core ``."""


@dataclass(frozen=True, slots=True)
class CoreTypeDef:
    type: CoreType


@dataclass(slots=True)
class ComponentDef:
    component: Component


@dataclass(frozen=True, slots=True)
class Instantiate:
    component: int
    args: tuple[tuple[str, str, int], ...] = ()
    """``(name, sort, index)``."""


@dataclass(frozen=True, slots=True)
class InlineExports:
    exports: tuple[tuple[ExternName, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class TypeDef:
    type: DefType


@dataclass(frozen=True, slots=True)
class CanonOpt:
    """A canonical option: ``string-encoding=utf8`` etc., ``memory``, ``realloc``,
    ``post-return``, ``async``, ``callback`` (``index`` for the four with one)."""

    name: str
    index: int | None = None


@dataclass(frozen=True, slots=True)
class Canon:
    """A canonical definition; ``op`` names a row of ``component_ops.CANON`` and
    ``args`` its immediates in that row's order (options as a tuple of CanonOpt)."""

    op: str
    args: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class Start:
    """🪙 ``(start f (value i)* (result (value))*)``."""

    func: int
    args: tuple[int, ...] = ()
    results: int = 0


@dataclass(frozen=True, slots=True)
class ImportDef:
    name: ExternName
    desc: ExternDesc


@dataclass(frozen=True, slots=True)
class ExportDef:
    name: ExternName
    sort: str
    index: int
    desc: ExternDesc | None = None
    """Ascribed type, if any."""


@dataclass(frozen=True, slots=True)
class ValueDef:
    """🪙 ``(value t v)``; ``data`` is the binary encoding of the value."""

    type: ValType
    data: bytes


@dataclass(frozen=True, slots=True)
class CustomSection:
    name: str
    data: bytes


Definition = (
    CoreModuleDef | CoreInstantiate | CoreInlineExports | CoreTypeDef | ComponentDef | Instantiate | InlineExports | ExportAlias | CoreExportAlias | OuterAlias | TypeDef | Canon | Start | ImportDef | ExportDef | ValueDef | CustomSection
)  # fmt: skip


@dataclass(slots=True)
class Section:
    """One binary section: ``id`` (Binary.md section ids) and its definitions."""

    id: int
    items: list[Definition] = field(default_factory=list)


SECTION_CUSTOM = 0
SECTION_CORE_MODULE = 1
SECTION_CORE_INSTANCE = 2
SECTION_CORE_TYPE = 3
SECTION_COMPONENT = 4
SECTION_INSTANCE = 5
SECTION_ALIAS = 6
SECTION_TYPE = 7
SECTION_CANON = 8
SECTION_START = 9
SECTION_IMPORT = 10
SECTION_EXPORT = 11
SECTION_VALUE = 12

SINGLE_ITEM_SECTIONS = frozenset({SECTION_CUSTOM, SECTION_CORE_MODULE, SECTION_COMPONENT,
                                  SECTION_START})  # fmt: skip
"""Sections holding one definition (not a vector)."""


@dataclass(slots=True)
class ComponentNames:
    """The ``component-name`` custom section: the component's name and, per sort,
    index -> name."""

    component: str | None = None
    sorts: dict[str, dict[int, str]] = field(default_factory=dict)


@dataclass(slots=True)
class Component:
    """A component: its sections in order, plus the text ``$id`` and decoded names."""

    sections: list[Section] = field(default_factory=list)
    id: str | None = None
    names: ComponentNames | None = None

    def definitions(self) -> list[Definition]:
        """Every definition, in order (custom sections included)."""
        return [d for s in self.sections for d in s.items]

    def add(self, section_id: int, item: Definition) -> None:
        """Append ``item``, opening a new section unless the last one has this id
        and holds a vector."""
        secs = self.sections
        if secs and secs[-1].id == section_id and section_id not in SINGLE_ITEM_SECTIONS:
            secs[-1].items.append(item)
        else:
            secs.append(Section(section_id, [item]))


def section_of(item: Definition) -> int:
    """The section id a definition belongs in."""
    return _SECTION_OF[type(item)]


_SECTION_OF: dict[type, int] = {
    CoreModuleDef: SECTION_CORE_MODULE,
    CoreInstantiate: SECTION_CORE_INSTANCE,
    CoreInlineExports: SECTION_CORE_INSTANCE,
    CoreTypeDef: SECTION_CORE_TYPE,
    ComponentDef: SECTION_COMPONENT,
    Instantiate: SECTION_INSTANCE,
    InlineExports: SECTION_INSTANCE,
    ExportAlias: SECTION_ALIAS,
    CoreExportAlias: SECTION_ALIAS,
    OuterAlias: SECTION_ALIAS,
    TypeDef: SECTION_TYPE,
    Canon: SECTION_CANON,
    Start: SECTION_START,
    ImportDef: SECTION_IMPORT,
    ExportDef: SECTION_EXPORT,
    ValueDef: SECTION_VALUE,
    CustomSection: SECTION_CUSTOM,
}


def sort_of(item: Definition) -> str | None:
    """The sort whose index space ``item`` adds to (None for custom, start, value
    results, and ``(value)`` definitions handled by callers)."""
    if isinstance(item, (ExportAlias, CoreExportAlias, OuterAlias)):
        return item.sort
    if isinstance(item, ImportDef):
        return desc_sort(item.desc)
    if isinstance(item, ExportDef):
        return item.sort
    if isinstance(item, Canon):
        return "func" if item.op == "lift" else "core func"
    return _SORT_OF.get(type(item))


_SORT_OF: dict[type, str] = {
    CoreModuleDef: "core module",
    CoreInstantiate: "core instance",
    CoreInlineExports: "core instance",
    CoreTypeDef: "core type",
    ComponentDef: "component",
    Instantiate: "instance",
    InlineExports: "instance",
    TypeDef: "type",
    ValueDef: "value",
}


def desc_sort(desc: ExternDesc) -> str:
    """The sort an import of type ``desc`` defines."""
    return desc.kind
