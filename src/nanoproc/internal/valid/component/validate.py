"""Component validation (Explainer.md, Binary.md, CanonicalABI.md "Canonical
Definitions").

:func:`validate_component` walks the definitions of a component in order, keeping
one :class:`State` per enclosing component, component type and instance type (for
``outer`` aliases), and returns a :class:`ComponentInfo`: the component's type and
the validated type of every entry of its index spaces, which the runtime reads
instead of re-deriving types. The rules and their order follow wasmparser, since the
component spec tests quote its messages; the resource bookkeeping (imported,
defined and explicitly exported resources, fresh resources per instantiation) is
what makes resource types abstract and generative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import DecodeError, ValidationError
from ...syntax import component as C
from ...syntax import component_ops as O
from ...syntax.module import Module
from ...syntax.types import (
    FuncType,
    GlobalType,
    MemType,
    RecType,
    RefType,
    SubType,
    TableType,
)
from .. import canon
from ..validate import validate_module
from . import abi
from . import subtype as S
from .names import (
    Name,
    NameError_,
    check_label,
    check_semver,
    interface_version,
    parse_name,
    unique_key,
)
from .types import (
    CompT,
    CoreEntity,
    CoreInstT,
    DBorrow,
    DEnum,
    DFlags,
    DFuture,
    DList,
    DMap,
    DOption,
    DOwn,
    DPrim,
    DRecord,
    DResult,
    DStream,
    DTuple,
    DVariant,
    Entity,
    FuncT,
    InstT,
    Item,
    ModT,
    Remap,
    RId,
    T,
    contains_borrow,
    free_vars_entity,
    free_vars_t,
)

MAX_TYPE_DEPTH = 100


class Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(eq=False)
class CanonOpts:
    """Validated canonical options (indices into the component's core spaces)."""

    string_encoding: str = "utf8"
    memory: int | None = None
    ptr: str = "i32"
    realloc: int | None = None
    post_return: int | None = None
    is_async: bool = False
    callback: int | None = None


@dataclass(eq=False)
class ComponentInfo:
    """What validation found about one component, for the runtime."""

    type: CompT
    types: list[T] = field(default_factory=list)
    funcs: list[T] = field(default_factory=list)
    instances: list[T] = field(default_factory=list)
    components: list[T] = field(default_factory=list)
    core_funcs: list[int] = field(default_factory=list)
    core_modules: list[ModT] = field(default_factory=list)
    core_instances: list[CoreInstT] = field(default_factory=list)
    children: list[ComponentInfo] = field(default_factory=list)
    """Infos of the nested components, in definition order."""
    module_types: list[Any] = field(default_factory=list)
    """ModuleTypes of the embedded core modules, in definition order."""
    canon_opts: list[CanonOpts] = field(default_factory=list)
    """Options of each canon lift/lower (and builtin with options), in definition order."""
    resource_reps: dict[RId, str] = field(default_factory=dict)
    """Locally defined resources and their core representation type."""


def validate_component(comp: C.Component) -> ComponentInfo:
    """Validate ``comp``. Raises ValidationError (or DecodeError from a lazily
    decoded core function body)."""
    try:
        return _validate(comp, [])
    except Invalid as e:
        raise ValidationError(e.message) from None
    except (ValidationError, DecodeError):
        raise
    except RecursionError:
        raise ValidationError("component too deeply nested to validate") from None


def _validate(comp: C.Component, stack: list[State]) -> ComponentInfo:
    st = State("component")
    stack.append(st)
    try:
        for item in comp.definitions():
            st.definition(item, stack)
        ty = st.finish()
    finally:
        stack.pop()
    return st.info(ty)


# ---------------------------------------------------------------- name contexts
class _NameContext:
    """Top-level resource names of one scope, to check ``[method]r.f`` names. Keyed
    by the type use: a function must use the type the import/export introduced."""

    def __init__(self) -> None:
        self.by_use: dict[T, str] = {}
        self.names: set[str] = set()

    def register(self, name: str, t: T) -> None:
        self.by_use.setdefault(t, name)
        self.names.add(name)

    def resource_name(self, res: T, expected: str) -> None:
        got = self.by_use.get(res)
        if got is None:
            raise Invalid("resource used in function does not have a name in this context")
        if got != expected:
            raise Invalid(f"function does not match expected resource name `{got}`")


# ---------------------------------------------------------------- the state
class State:
    """One component, component type or instance type under validation."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.core_types: list[tuple[str, Any]] = []
        """("sub", canonical id) or ("module", ModT)."""
        self.core_funcs: list[int] = []
        self.core_tags: list[int] = []
        self.core_modules: list[ModT] = []
        self.core_instances: list[CoreInstT] = []
        self.core_memories: list[MemType] = []
        self.core_tables: list[TableType] = []
        self.core_globals: list[GlobalType] = []
        self.types: list[T] = []
        self.funcs: list[T] = []
        self.values: list[list[Any]] = []
        self.instances: list[T] = []
        self.components: list[T] = []
        self.imports: dict[str, Item] = {}
        self.import_names: dict[tuple[str, ...], str] = {}
        self.exports: dict[str, Item] = {}
        self.export_names: dict[tuple[str, ...], str] = {}
        self.imported_resources: dict[RId, list[int]] = {}
        self.defined_resources: dict[RId, str | None] = {}
        self.explicit_resources: dict[RId, list[int]] = {}
        self.exported_types: set[T] = set()
        self.imported_types: set[T] = set()
        self.export_ctx = _NameContext()
        self.import_ctx = _NameContext()
        self.context_type: str | None = None
        self.has_start = False
        self.children: list[ComponentInfo] = []
        self.module_types: list[Any] = []
        self.canon_opts: list[CanonOpts] = []

    def info(self, ty: CompT) -> ComponentInfo:
        return ComponentInfo(
            ty, self.types, self.funcs, self.instances, self.components, self.core_funcs,
            self.core_modules, self.core_instances, self.children, self.module_types,
            self.canon_opts,
            {r: rep for r, rep in self.defined_resources.items() if rep is not None},
        )  # fmt: skip

    # ------------------------------------------------------------ lookups
    def core_type_at(self, i: int) -> tuple[str, Any]:
        if i >= len(self.core_types):
            raise Invalid(f"unknown type {i}: type index out of bounds")
        return self.core_types[i]

    def type_at(self, i: int) -> T:
        if i >= len(self.types):
            raise Invalid(f"unknown type {i}: type index out of bounds")
        return self.types[i]

    def defined_at(self, i: int) -> T:
        t = self.type_at(i)
        if t.kind != "defined":
            raise Invalid(f"type index {i} is not a defined type")
        return t

    def resource_at(self, i: int) -> T:
        t = self.type_at(i)
        if t.kind != "resource":
            raise Invalid(f"type index {i} is not a resource type")
        return t

    def func_type_at(self, i: int) -> FuncT:
        t = self.type_at(i)
        if t.kind != "func":
            raise Invalid(f"type index {i} is not a function type")
        return t.data  # type: ignore[no-any-return]

    def func_at(self, i: int) -> T:
        if i >= len(self.funcs):
            raise Invalid(f"unknown function {i}: function index out of bounds")
        return self.funcs[i]

    def component_at(self, i: int) -> T:
        if i >= len(self.components):
            raise Invalid(f"unknown component {i}: component index out of bounds")
        return self.components[i]

    def instance_at(self, i: int) -> T:
        if i >= len(self.instances):
            raise Invalid(f"unknown instance {i}: instance index out of bounds")
        return self.instances[i]

    def value_at(self, i: int) -> Any:
        if i >= len(self.values):
            raise Invalid(f"unknown value {i}: value index out of bounds")
        slot = self.values[i]
        if slot[1]:
            raise Invalid(f"value {i} cannot be used more than once")
        slot[1] = True
        return slot[0]

    def core_func_at(self, i: int) -> int:
        if i >= len(self.core_funcs):
            raise Invalid(f"unknown core function {i}: function index out of bounds")
        return self.core_funcs[i]

    def module_at(self, i: int) -> ModT:
        if i >= len(self.core_modules):
            raise Invalid(f"unknown module {i}: module index out of bounds")
        return self.core_modules[i]

    def core_instance_at(self, i: int) -> CoreInstT:
        if i >= len(self.core_instances):
            raise Invalid(f"unknown core instance {i}: instance index out of bounds")
        return self.core_instances[i]

    def memory_at(self, i: int) -> MemType:
        if i >= len(self.core_memories):
            raise Invalid(f"unknown memory {i}: memory index out of bounds")
        return self.core_memories[i]

    def table_at(self, i: int) -> TableType:
        if i >= len(self.core_tables):
            raise Invalid(f"unknown table {i}: table index out of bounds")
        return self.core_tables[i]

    def global_at(self, i: int) -> GlobalType:
        if i >= len(self.core_globals):
            raise Invalid(f"unknown global {i}: global index out of bounds")
        return self.core_globals[i]

    def tag_at(self, i: int) -> int:
        if i >= len(self.core_tags):
            raise Invalid(f"unknown tag {i}: tag index out of bounds")
        return self.core_tags[i]

    # ------------------------------------------------------------ definitions
    def definition(self, item: Any, stack: list[State]) -> None:
        if isinstance(item, C.CustomSection):
            return
        handler = _HANDLERS.get(type(item))
        if handler is None:
            raise Invalid(f"unsupported definition {type(item).__name__}")
        handler(self, item, stack)

    def d_core_module(self, item: C.CoreModuleDef, stack: list[State]) -> None:
        try:
            mt = validate_module(item.module)
        except ValidationError as e:
            raise Invalid(e.message) from None
        self.module_types.append(mt)
        self.core_modules.append(module_type_of(item.module, mt))

    def d_core_instance(self, item: Any, stack: list[State]) -> None:
        if isinstance(item, C.CoreInstantiate):
            self.core_instances.append(self.instantiate_core(item))
        else:
            self.core_instances.append(self.core_bag(item))

    def instantiate_core(self, item: C.CoreInstantiate) -> CoreInstT:
        mt = self.module_at(item.module)
        args: dict[str, CoreInstT] = {}
        for name, idx in item.args:
            inst = self.core_instance_at(idx)
            if name in args:
                raise Invalid(f"duplicate module instantiation argument named `{name}`")
            args[name] = inst
        for (mod, name), expected in mt.imports.items():
            arg = args.get(mod)
            if arg is None:
                raise Invalid(f"missing module instantiation argument named `{mod}`")
            got = arg.exports.get(name)
            if got is None:
                raise Invalid(f"module instantiation argument `{mod}` does not export an item "
                              f"named `{name}`")  # fmt: skip
            try:
                S.core_entity(got, expected)
            except S.Mismatch as e:
                raise Invalid(f"type mismatch for export `{name}` of module instantiation "
                              f"argument `{mod}`\n{e.message}") from None  # fmt: skip
        return CoreInstT(dict(mt.exports))

    def core_bag(self, item: C.CoreInlineExports) -> CoreInstT:
        exports: dict[str, CoreEntity] = {}
        for name, sort, idx in item.exports:
            if sort == "core func":
                e = CoreEntity("func", self.core_func_at(idx))
            elif sort == "core table":
                e = CoreEntity("table", self.table_at(idx))
            elif sort == "core memory":
                e = CoreEntity("memory", self.memory_at(idx))
            elif sort == "core global":
                e = CoreEntity("global", self.global_at(idx))
            elif sort == "core tag":
                e = CoreEntity("tag", self.tag_at(idx))
            else:
                raise Invalid(f"invalid core instance export kind {sort}")
            if name in exports:
                raise Invalid(f"duplicate instantiation export name `{name}` already defined")
            exports[name] = e
        return CoreInstT(exports)

    def d_core_type(self, item: C.CoreTypeDef, stack: list[State]) -> None:
        self.add_core_type(item.type, stack)

    def add_core_type(self, t: C.CoreType, stack: list[State]) -> None:
        if isinstance(t, C.ModuleTypeDef):
            self.core_types.append(("module", self.module_type_def(t, stack)))
            return
        first = len(self.core_types)
        prior = [cid if kind == "sub" else -1 for kind, cid in self.core_types]
        ids = _canonical_group(t, first, prior)
        self.core_types.extend(("sub", i) for i in ids)

    def module_type_def(self, t: C.ModuleTypeDef, stack: list[State]) -> ModT:
        ids: list[int] = []
        mt = ModT()
        for d in t.decls:
            if isinstance(d, C.CoreTypeDeclM):
                ids.extend(_canonical_group(d.type, len(ids), ids))
            elif isinstance(d, C.CoreOuterAlias):
                if d.count == 0:
                    if d.index >= len(ids):
                        raise Invalid(f"unknown type {d.index}: type index out of bounds")
                    ids.append(ids[d.index])
                    continue
                outer = _outer(stack, d.count - 1, include_current=True)
                kind, cid = outer.core_type_at(d.index)
                if kind != "sub":
                    raise Invalid("not implemented: aliasing core module types into a core "
                                  "module's types index space")  # fmt: skip
                ids.append(cid)
            elif isinstance(d, C.CoreImportDecl):
                imp = d.import_
                e = _core_entity_of(imp.kind, imp.desc, ids)
                key = (imp.module, imp.name)
                if key in mt.imports:
                    raise Invalid(f"duplicate import name `{imp.module}:{imp.name}`")
                mt.imports[key] = e
            else:
                e = _core_entity_of(d.kind, d.desc, ids)
                if d.name in mt.exports:
                    raise Invalid(f"export name `{d.name}` already defined")
                mt.exports[d.name] = e
        return mt

    def d_component(self, item: C.ComponentDef, stack: list[State]) -> None:
        info = _validate(item.component, stack)
        self.children.append(info)
        self.components.append(T("component", info.type))

    def d_instance(self, item: Any, stack: list[State]) -> None:
        if isinstance(item, C.Instantiate):
            self.instances.append(self.instantiate_component(item))
        else:
            self.instances.append(self.component_bag(item))

    def instantiate_component(self, item: C.Instantiate) -> T:
        ct: CompT = self.component_at(item.component).data
        args: dict[str, Entity] = {}
        for name, sort, idx in item.args:
            e = self.sortidx_entity(sort, idx, created_alias=False)
            if name in args:
                raise Invalid(f"instantiation argument `{name}` conflicts with previous "
                              f"argument `{name}`")  # fmt: skip
            args[name] = e
        try:
            mapping = S.open_instance_type(args, ct, "import")
        except S.Mismatch as e:
            raise Invalid(e.message) from None
        fresh = []
        for rid, _ in ct.defined_resources:
            new = RId()
            mapping.resources[rid] = new
            fresh.append(new)
        exports, _ = mapping.items(ct.exports)
        explicit = {mapping.resources.get(r, r): p for r, p in ct.explicit_resources.items()}
        for r in fresh:
            self.defined_resources[r] = None
        return T("instance", InstT(exports, [], explicit))

    def component_bag(self, item: C.InlineExports) -> T:
        exports: dict[str, Item] = {}
        explicit: dict[RId, list[int]] = {}
        names: dict[tuple[str, ...], str] = {}
        ctx = _NameContext()
        for ename, sort, idx in item.exports:
            e = self.sortidx_entity(sort, idx, created_alias=False)
            if e.kind == "instance":
                for rid, path in e.a.data.explicit_resources.items():
                    explicit[rid] = [len(exports)] + path
            elif e.kind == "type" and e.a.kind == "resource":
                explicit[e.a.data] = [len(exports)]
            _validate_extern(ctx, ename, "export", e, names, exports)
        return T("instance", InstT(exports, [], explicit))

    def sortidx_entity(self, sort: str, idx: int, created_alias: bool) -> Entity:
        if sort == "core module":
            return Entity("module", self.module_at(idx))
        if sort == "func":
            return Entity("func", self.func_at(idx))
        if sort == "value":
            self.check_values()
            return Entity("value", self.value_at(idx))
        if sort == "type":
            t = self.type_at(idx)
            return Entity("type", t.alias() if created_alias else t, t)
        if sort == "instance":
            return Entity("instance", self.instance_at(idx))
        if sort == "component":
            return Entity("component", self.component_at(idx))
        raise Invalid(f"invalid sort {sort}")

    def check_values(self) -> None:
        raise Invalid("support for component model `value`s is not enabled")

    # ------------------------------------------------------------ aliases
    def d_alias(self, item: Any, stack: list[State]) -> None:
        if self.kind != "component":
            ok = (isinstance(item, C.ExportAlias) and item.sort in ("type", "instance")) or (
                isinstance(item, C.OuterAlias) and item.sort in ("type", "core type"))
            if not ok:
                raise Invalid("aliases in a component or instance type may only refer to "
                              "types or instances")  # fmt: skip
        if isinstance(item, C.ExportAlias):
            self.alias_export(item)
        elif isinstance(item, C.CoreExportAlias):
            self.alias_core_export(item)
        else:
            self.alias_outer(item, stack)

    def alias_export(self, item: C.ExportAlias) -> None:
        if item.sort == "value":
            self.check_values()
        inst: InstT = self.instance_at(item.instance).data
        it = inst.exports.get(item.name)
        if it is None:
            raise Invalid(f"instance {item.instance} has no export named `{item.name}`")
        e = it.ty
        want = {"core module": "module"}.get(item.sort, item.sort)
        if e.kind != want:
            desc = {"core module": "module"}.get(item.sort, item.sort)
            raise Invalid(f"export `{item.name}` for instance {item.instance} is not a {desc}")
        self.add_entity(e, None)

    def alias_core_export(self, item: C.CoreExportAlias) -> None:
        inst = self.core_instance_at(item.instance)
        e = inst.exports.get(item.name)
        if e is None:
            raise Invalid(f"core instance {item.instance} has no export named `{item.name}`")
        word = item.sort[5:]
        if e.kind != word:
            desc = "function" if word == "func" else word
            raise Invalid(f"export `{item.name}` for core instance {item.instance} is not a {desc}")
        if word == "func":
            self.core_funcs.append(e.t)
        elif word == "table":
            self.core_tables.append(e.t)
        elif word == "memory":
            self.core_memories.append(e.t)
        elif word == "global":
            self.core_globals.append(e.t)
        elif word == "tag":
            self.core_tags.append(e.t)
        else:
            raise Invalid(f"core instances cannot export a {word}")

    def alias_outer(self, item: C.OuterAlias, stack: list[State]) -> None:
        target = _outer(stack, item.count)
        if item.sort == "core module":
            self.core_modules.append(target.module_at(item.index))
        elif item.sort == "component":
            self.components.append(target.component_at(item.index))
        elif item.sort == "core type":
            self.core_types.append(target.core_type_at(item.index))
        else:
            t = target.type_at(item.index)
            pos = len(stack) - item.count
            if pos < len(stack) and stack[pos].kind == "component":
                free: set[RId] = set()
                free_vars_t(t, free)
                if free:
                    raise Invalid("cannot alias outer type which transitively refers to resources "
                                  "not defined in the current component")  # fmt: skip
            self.types.append(t)

    # ------------------------------------------------------------ types
    def d_type(self, item: C.TypeDef, stack: list[State]) -> None:
        self.add_type(item.type, stack)

    def add_type(self, t: Any, stack: list[State]) -> None:
        if isinstance(t, C.FuncType):
            self.types.append(T("func", self.func_type(t)))
        elif isinstance(t, C.ComponentTypeDef):
            self.types.append(T("component", _component_type(t, stack)))
        elif isinstance(t, C.InstanceTypeDef):
            self.types.append(T("instance", _instance_type(t, stack)))
        elif isinstance(t, C.ResourceType):
            if self.kind != "component":
                raise Invalid("resources can only be defined within a concrete component")
            if t.rep == "i64":
                raise Invalid("resources with `i64` require the `cm64` feature to be enabled")
            if t.rep != "i32":
                raise Invalid("resources can only be represented by `i32` or `i64`")
            if t.dtor is not None:
                cid = self.core_func_at(t.dtor)
                ft = canon.definition(cid).comp
                if not (isinstance(ft, FuncType) and [str(p) for p in ft.params] == [t.rep]
                        and not ft.results):  # fmt: skip
                    raise Invalid(f"core function {t.dtor} has wrong signature for a destructor")
            rid = RId()
            self.defined_resources[rid] = t.rep
            self.types.append(T("resource", rid))
        else:
            d = self.defined(t)
            if _depth(d) > MAX_TYPE_DEPTH:
                raise Invalid("type nesting is too deep")
            self.types.append(T("defined", d))

    def valtype(self, v: C.ValType) -> Any:
        if isinstance(v, str):
            self.check_prim(v)
            return v
        return self.defined_at(v)

    def check_prim(self, p: str) -> None:
        if p == "error-context":
            raise Invalid("`error-context` requires the component model error-context feature")

    def defined(self, t: Any) -> Any:
        if isinstance(t, C.PrimType):
            self.check_prim(t.name)
            return DPrim(t.name)
        if isinstance(t, C.RecordType):
            if not t.fields:
                raise Invalid("record type must have at least one field")
            fields = []
            seen: dict[str, str] = {}
            for name, ft in t.fields:
                _label(name, "record field")
                vt = self.valtype(ft)
                prev = seen.get(name.lower())
                if prev is not None:
                    raise Invalid(f"record field name `{name}` conflicts with previous field "
                                  f"name `{prev}`")  # fmt: skip
                seen[name.lower()] = name
                fields.append((name, vt))
            return DRecord(tuple(fields))
        if isinstance(t, C.VariantType):
            if not t.cases:
                raise Invalid("variant type must have at least one case")
            cases = []
            seen = {}
            for name, ct in t.cases:
                _label(name, "variant case")
                vt = None if ct is None else self.valtype(ct)
                prev = seen.get(name.lower())
                if prev is not None:
                    raise Invalid(f"variant case name `{name}` conflicts with previous case name "
                                  f"`{prev}`")  # fmt: skip
                seen[name.lower()] = name
                cases.append((name, vt))
            return DVariant(tuple(cases))
        if isinstance(t, C.ListType):
            if t.length is not None and t.length < 1:
                raise Invalid("Fixed-length lists must have more than zero elements")
            if t.length is not None and t.length > 10_000:
                raise Invalid("fixed-length list element count is out of bounds")
            return DList(self.valtype(t.elem), t.length)
        if isinstance(t, C.MapType):
            return DMap(self.valtype(t.key), self.valtype(t.value))
        if isinstance(t, C.TupleType):
            if not t.types:
                raise Invalid("tuple type must have at least one type")
            return DTuple(tuple(self.valtype(x) for x in t.types))
        if isinstance(t, C.FlagsType):
            if not t.labels:
                raise Invalid("flags must have at least one entry")
            if len(t.labels) > 32:
                raise Invalid("cannot have more than 32 flags")
            _unique_labels(t.labels, "flag", "flag")
            return DFlags(t.labels)
        if isinstance(t, C.EnumType):
            if not t.labels:
                raise Invalid("enum type must have at least one variant")
            _unique_labels(t.labels, "enum tag", "tag")
            return DEnum(t.labels)
        if isinstance(t, C.OptionType):
            return DOption(self.valtype(t.type))
        if isinstance(t, C.ResultType):
            ok = None if t.ok is None else self.valtype(t.ok)
            err = None if t.err is None else self.valtype(t.err)
            return DResult(ok, err)
        if isinstance(t, C.OwnType):
            return DOwn(self.resource_at(t.type))
        if isinstance(t, C.BorrowType):
            return DBorrow(self.resource_at(t.type))
        if isinstance(t, C.FutureType):
            return DFuture(None if t.type is None else self.valtype(t.type))
        if isinstance(t, C.StreamType):
            vt = None if t.type is None else self.valtype(t.type)
            prim = vt if isinstance(vt, str) else (vt.data.name if vt is not None and
                                                   isinstance(vt.data, DPrim) else None)  # fmt: skip
            if prim == "char":
                raise Invalid("`stream<char>` is not valid at this time, use `stream<u8>` with a "
                              "defined by encoding instead for now")  # fmt: skip
            return DStream(vt)
        raise Invalid(f"unknown defined type {t!r}")

    def func_type(self, t: C.FuncType) -> FuncT:
        seen: dict[str, str] = {}
        params = []
        for name, pt in t.params:
            _label(name, "function parameter")
            prev = seen.get(name.lower())
            if prev is not None:
                raise Invalid(f"function parameter name `{name}` conflicts with previous parameter "
                              f"name `{prev}`")  # fmt: skip
            seen[name.lower()] = name
            params.append((name, self.valtype(pt)))
        result = None
        if t.result is not None:
            result = self.valtype(t.result)
            if contains_borrow(result):
                raise Invalid("function result cannot contain a `borrow` type")
        return FuncT(tuple(params), result, t.is_async)

    # ------------------------------------------------------------ imports and exports
    def extern_desc(self, d: C.ExternDesc) -> Entity:
        if d.kind == "core module":
            kind, mt = self.core_type_at(d.index)
            if kind != "module":
                raise Invalid(f"core type index {d.index} is not a module type")
            return Entity("module", mt)
        if d.kind == "func":
            t = self.type_at(d.index)
            if t.kind != "func":
                raise Invalid(f"type index {d.index} is not a function type")
            return Entity("func", t)
        if d.kind == "value":
            self.check_values()
        if d.kind == "type":
            if d.bound == "eq":
                ref = self.type_at(d.index)
                return Entity("type", ref.alias(), ref)
            rt = T("resource", RId())
            return Entity("type", rt, rt)
        if d.kind == "instance":
            t = self.type_at(d.index)
            if t.kind != "instance":
                raise Invalid(f"type index {d.index} is not an instance type")
            return Entity("instance", t)
        if d.kind == "component":
            t = self.type_at(d.index)
            if t.kind != "component":
                raise Invalid(f"type index {d.index} is not a component type")
            return Entity("component", t)
        raise Invalid(f"invalid extern kind {d.kind}")

    def d_import(self, item: C.ImportDef, stack: list[State]) -> None:
        self.add_import(item.name, item.desc)

    def add_import(self, name: C.ExternName, desc: C.ExternDesc) -> None:
        e = self.extern_desc(desc)
        e = self.add_entity(e, (name.name, "import"))
        _validate_extern(self.import_ctx, name, "import", e, self.import_names, self.imports)

    def d_export(self, item: C.ExportDef, stack: list[State]) -> None:
        actual = self.sortidx_entity(item.sort, item.index, created_alias=True)
        if item.desc is not None:
            ascribed = self.extern_desc(item.desc)
            try:
                S.entity(actual, ascribed)
            except S.Mismatch as err:
                raise Invalid("ascribed type of export is not compatible with item's type\n"
                              + err.message) from None  # fmt: skip
            actual = ascribed
        self.add_export(item.name, actual)

    def add_export(self, name: C.ExternName, e: Entity) -> None:
        e = self.add_entity(e, (name.name, "export"))
        _validate_extern(self.export_ctx, name, "export", e, self.export_names, self.exports)

    def add_entity(self, e: Entity, named: tuple[str, str] | None) -> Entity:
        """Push ``e`` on its index space (doing the resource bookkeeping of an import
        or export); check that an import/export only uses named types."""
        kind = None if named is None else named[1]
        k = e.kind
        if k == "module":
            self.core_modules.append(e.a)
        elif k == "component":
            self.components.append(e.a)
        elif k == "instance":
            if kind == "import":
                e = Entity("instance", self.prepare_instance_import(e.a))
            elif kind == "export":
                e = Entity("instance", self.prepare_instance_export(e.a))
            self.instances.append(e.a)
        elif k == "func":
            self.funcs.append(e.a)
        elif k == "value":
            self.values.append([e.a, kind == "export"])
        else:
            created, referenced = e.a, e.b
            self.types.append(created)
            if created.kind == "resource":
                if kind == "import":
                    if created is referenced:
                        self.imported_resources[created.data] = [len(self.imports)]
                elif kind == "export":
                    if created is referenced:
                        self.defined_resources[created.data] = None
                    self.explicit_resources[created.data] = [len(self.exports)]
        if named is not None:
            name, kind2 = named
            if not self.register_named(name, kind2, e):
                raise Invalid(f"{e.desc()} not valid to be used as {kind2}")
        return e

    def prepare_instance_import(self, t: T) -> T:
        inst: InstT = t.data
        if not inst.defined_resources:
            return t
        mapping = Remap()
        for old in inst.defined_resources:
            new = RId()
            mapping.resources[old] = new
            self.imported_resources[new] = [len(self.imports)] + inst.explicit_resources[old]
        exports, _ = mapping.items(inst.exports)
        explicit = {mapping.resources.get(r, r): p for r, p in inst.explicit_resources.items()}
        return T("instance", InstT(exports, [], explicit))

    def prepare_instance_export(self, t: T) -> T:
        inst: InstT = t.data
        if inst.defined_resources:
            mapping = Remap()
            for old in inst.defined_resources:
                new = RId()
                mapping.resources[old] = new
                self.defined_resources[new] = None
            exports, _ = mapping.items(inst.exports)
            explicit = {mapping.resources.get(r, r): p for r, p in inst.explicit_resources.items()}
            inst = InstT(exports, [], explicit)
            t = T("instance", inst)
        for rid, path in inst.explicit_resources.items():
            self.explicit_resources[rid] = [len(self.exports)] + path
        return t

    def register_named(self, name: str | None, kind: str, e: Entity) -> bool:
        """Check that every type ``e`` refers to has an external name; register the
        names ``e`` introduces (wasmparser's validate_and_register_named_types)."""
        if e.kind == "type" and name is not None and e.a.kind == "resource":
            ctx = self.import_ctx if kind == "import" else self.export_ctx
            ctx.register(name, e.a)
        if self.kind == "instance type":
            return True
        named = self.imported_types if kind == "import" else self.exported_types
        if e.kind == "type":
            if not self.all_named(e.b, named):
                return False
            if kind == "import":
                self.imported_types.add(e.a)
            self.exported_types.add(e.a)
            return True
        if e.kind == "instance":
            return all(self.register_named(None, kind, it.ty) for it in e.a.data.exports.values())
        if e.kind == "func":
            return _func_named(e.a.data, named)
        if e.kind == "value":
            return _vt_named(e.a, named)
        return True

    def all_named(self, t: T, named: set[T]) -> bool:
        k = t.kind
        if k in ("resource", "component"):
            return True
        if k == "defined":
            return _defined_inner_named(t.data, named)
        if k == "func":
            return _func_named(t.data, named)
        return self.inst_named(t.data, named)

    def inst_named(self, inst: InstT, named: set[T]) -> bool:
        for it in inst.exports.values():
            e = it.ty
            if e.kind == "func" and not _func_named(e.a.data, named):
                return False
            if e.kind == "type" and not self.all_named(e.a, named):
                return False
            if e.kind == "value" and not isinstance(e.a, str) and \
                    not _defined_inner_named(e.a.data, named):  # fmt: skip
                return False
            if e.kind == "instance" and not self.inst_named(e.a.data, named):
                return False
        return True

    # ------------------------------------------------------------ canonical definitions
    def d_canon(self, item: C.Canon, stack: list[State]) -> None:
        op = item.op
        args: Any = item.args
        info = O.CANON_BY_NAME[op]
        if info.gate == "shared-everything-threads":
            raise Invalid(f"`{op}` requires the shared-everything-threads proposal")
        if info.gate == "error-context":
            raise Invalid(f"`{op}` requires the component model error-context feature")
        if op == "lift":
            self.lift(args[0], args[1], args[2])
        elif op == "lower":
            self.lower(args[0], args[1])
        elif op in ("resource.new", "resource.rep"):
            rep = self.local_resource(args[0])
            sig = ([rep], ["i32"]) if op == "resource.new" else (["i32"], [rep])
            self.core_funcs.append(_intern(*sig))
        elif op == "resource.drop":
            self.resource_at(args[0])
            self.core_funcs.append(_intern(["i32"], []))
        elif op == "task.return":
            self.task_return(args[0], args[1])
        elif op in ("context.get", "context.set"):
            t, slot = args
            if t == "i64":
                raise Invalid(f"64-bit `{op}` requires the component model 64-bit feature")
            if t != "i32":
                raise Invalid(f"`{op}` only supports `i32` or `i64`")
            if self.context_type is None:
                self.context_type = t
            elif self.context_type != t:
                raise Invalid(f"`{op}` type must match previous context type")
            if slot > 1:
                raise Invalid(f"`{op}` immediate must be zero or one: {slot}")
            self.core_funcs.append(_intern([], [t]) if op == "context.get" else _intern([t], []))
        elif op == "thread.new-indirect":
            kind, cid = self.core_type_at(args[0])
            if kind != "sub":
                raise Invalid("expected a core function type")
            ft = canon.definition(cid).comp
            if not isinstance(ft, FuncType):
                raise Invalid("start type must be a function")
            if [str(p) for p in ft.params] != ["i32"]:
                raise Invalid("start function must take a single `i32` argument (currently)")
            if ft.results:
                raise Invalid("start function must not return any values")
            table = self.table_at(args[1])
            if table.elem != RefType(True, "func") or table.limits.addr64 or table.limits.shared:
                raise Invalid("table is not a 32-bit table of (ref null (func))")
            self.core_funcs.append(_intern(["i32", "i32"], ["i32"]))
        elif op in ("waitable-set.wait", "waitable-set.poll"):
            mem = self.memory_at(args[1])
            self.cabi_memory(mem)
            ptr = "i64" if mem.limits.addr64 else "i32"
            self.core_funcs.append(_intern(["i32", ptr], ["i32"]))
        else:
            self.async_builtin(op, info, args)

    def async_builtin(self, op: str, info: O.CanonInfo, args: tuple[Any, ...]) -> None:
        elem: Any = None
        if info.type_kind in ("stream", "future"):
            t = self.defined_at(args[0])
            want = DStream if info.type_kind == "stream" else DFuture
            if not isinstance(t.data, want):
                raise Invalid(f"`{op}` requires a {info.type_kind} type")
            elem = t.data.type
        if "opts" in info.imms:
            opts = self.check_options(args[info.imms.index("opts")])
            self.canon_opts.append(opts)
            if elem is not None:
                self.require_memory(opts)
                if op.endswith(".read") and abi.contains_ptr(elem):
                    self.require_realloc(opts)
            self.check_lower(opts)
        assert info.sig is not None
        ps, rs = info.sig.split("->")
        self.core_funcs.append(_intern([_SIG[c] for c in ps], [_SIG[c] for c in rs]))

    def local_resource(self, idx: int) -> str:
        t = self.resource_at(idx)
        rep = self.defined_resources.get(t.data)
        if rep is None:
            raise Invalid(f"type {idx} is not a local resource")
        return rep

    def cabi_memory(self, mem: MemType) -> None:
        if mem.limits.addr64:
            raise Invalid("64-bit memories require the `cm64` feature to be enabled")
        if mem.limits.shared:
            raise Invalid("mismatch in the shared flag for memories")

    def check_options(self, opts: tuple[C.CanonOpt, ...]) -> CanonOpts:
        out = CanonOpts()
        encoding: str | None = None
        seen: set[str] = set()
        realloc = None
        for o in opts:
            if o.name in O.STRING_ENCODINGS:
                enc = O.STRING_ENCODINGS[o.name]
                if encoding is not None:
                    raise Invalid(f"canonical encoding option `{_enc_name(encoding)}` conflicts "
                                  f"with option `{_enc_name(enc)}`")  # fmt: skip
                encoding = enc
                continue
            if o.name in seen:
                raise Invalid(f"canonical option `{o.name}` is specified more than once")
            seen.add(o.name)
            if o.name == "memory":
                assert o.index is not None
                mem = self.memory_at(o.index)
                self.cabi_memory(mem)
                out.memory = o.index
                out.ptr = "i64" if mem.limits.addr64 else "i32"
            elif o.name == "realloc":
                realloc = o.index
            elif o.name == "post-return":
                out.post_return = o.index
            elif o.name == "async":
                out.is_async = True
            elif o.name == "callback":
                out.callback = o.index
        out.string_encoding = encoding or "utf8"
        if out.callback is not None and not out.is_async:
            raise Invalid("cannot specify callback without async")
        if out.is_async and out.post_return is not None:
            raise Invalid("cannot specify post-return function in async")
        if realloc is not None:
            if out.memory is None:
                raise Invalid("canonical option `realloc` requires `memory` to also be specified")
            cid = self.core_func_at(realloc)
            p = out.ptr
            if not _sig_is(cid, [p, p, p, p], [p]):
                raise Invalid("canonical option `realloc` uses a core function with an incorrect "
                              "signature")  # fmt: skip
            out.realloc = realloc
        return out

    def require_memory(self, opts: CanonOpts) -> None:
        if opts.memory is None:
            raise Invalid("canonical option `memory` is required")

    def require_realloc(self, opts: CanonOpts) -> None:
        self.require_memory(opts)
        if opts.realloc is None:
            raise Invalid("canonical option `realloc` is required")

    def check_lower(self, opts: CanonOpts) -> None:
        if opts.post_return is not None:
            raise Invalid("canonical option `post-return` cannot be specified for lowerings")
        if opts.callback is not None:
            raise Invalid("canonical option `callback` cannot be specified for lowerings")

    def lowered(self, ft: FuncT, opts: CanonOpts, lift: bool) -> tuple[list[str], list[str]]:
        """The core signature of ``ft`` lifted/lowered with ``opts``, checking that the
        options the ABI needs are present (wasmparser's order of checks)."""
        ptr = opts.ptr
        pmax = abi.MAX_FLAT_ASYNC_PARAMS if (not lift and opts.is_async) else abi.MAX_FLAT_PARAMS
        params: list[str] = []
        for _, t in ft.params:
            if abi.contains_ptr(t):
                if lift:
                    self.require_realloc(opts)
                else:
                    self.require_memory(opts)
            flat = abi.flatten(t, ptr)
            if len(params) + len(flat) > pmax:
                params = [ptr]
                self.require_memory(opts)
                if lift:
                    self.require_realloc(opts)
                break
            params.extend(flat)
        results: list[str] = []
        if ft.result is not None and not lift and abi.contains_ptr(ft.result):
            self.require_realloc(opts)
        if not opts.is_async:
            if ft.result is not None:
                flat = abi.flatten(ft.result, ptr)
                if len(flat) > abi.MAX_FLAT_RESULTS:
                    self.require_memory(opts)
                    if lift:
                        results = [ptr]
                    else:
                        params.append(ptr)
                else:
                    results = flat
        elif not lift:
            if ft.result is not None:
                params.append("i32")
                self.require_memory(opts)
            results = ["i32"]
        else:
            if ft.result is not None:
                overflow = len(abi.flatten(ft.result, ptr)) > abi.MAX_FLAT_PARAMS
                if overflow or abi.contains_ptr(ft.result):
                    self.require_memory(opts)
            if opts.callback is not None:
                results = ["i32"]
        return params, results

    def lift(self, core_func: int, opts_imm: tuple[C.CanonOpt, ...], type_idx: int) -> None:
        ft = self.func_type_at(type_idx)
        cid = self.core_func_at(core_func)
        opts = self.check_options(opts_imm)
        core_ft = canon.definition(cid).comp
        assert isinstance(core_ft, FuncType)
        if opts.post_return is not None:
            pr = canon.definition(self.core_func_at(opts.post_return)).comp
            if not (isinstance(pr, FuncType) and pr.params == core_ft.results and not pr.results):
                raise Invalid("canonical option `post-return` uses a core function with an "
                              "incorrect signature")  # fmt: skip
        if opts.is_async and opts.callback is not None:
            cb = canon.definition(self.core_func_at(opts.callback)).comp
            if not (isinstance(cb, FuncType) and [str(p) for p in cb.params] in
                    (["i32", "i32", "i32"], ["i32"])):  # fmt: skip
                raise Invalid("canonical option `callback` uses a core function with an "
                              "incorrect signature")  # fmt: skip
        if opts.is_async and not ft.is_async:
            raise Invalid("the `async` canonical option requires an async function type")
        params, results = self.lowered(ft, opts, lift=True)
        self.canon_opts.append(opts)
        have_p = [str(p) for p in core_ft.params]
        have_r = [str(r) for r in core_ft.results]
        if params != have_p:
            raise Invalid(f"lowered parameter types `{_dbg(params)}` do not match parameter types "
                          f"`{_dbg(have_p)}` of core function {core_func}")  # fmt: skip
        if results != have_r:
            raise Invalid(f"lowered result types `{_dbg(results)}` do not match result types "
                          f"`{_dbg(have_r)}` of core function {core_func}")  # fmt: skip
        self.funcs.append(self.types[type_idx])

    def lower(self, func: int, opts_imm: tuple[C.CanonOpt, ...]) -> None:
        ft: FuncT = self.func_at(func).data
        opts = self.check_options(opts_imm)
        self.check_lower(opts)
        if opts.is_async and not ft.is_async:
            raise Invalid("the `async` canonical option requires an async function type")
        params, results = self.lowered(ft, opts, lift=False)
        self.canon_opts.append(opts)
        self.core_funcs.append(_intern(params, results))

    def task_return(self, result: C.ValType | None, opts_imm: tuple[C.CanonOpt, ...]) -> None:
        rt = None if result is None else self.valtype(result)
        ft = FuncT(() if rt is None else (("v", rt),), None)
        opts = self.check_options(opts_imm)
        if opts.realloc is not None:
            raise Invalid("cannot specify `realloc` option on `task.return`")
        if opts.post_return is not None:
            raise Invalid("cannot specify `post-return` option on `task.return`")
        self.check_lower(opts)
        if opts.is_async:
            raise Invalid("cannot specify `async` option on `task.return`")
        params, results = self.lowered(ft, opts, lift=False)
        self.canon_opts.append(opts)
        self.core_funcs.append(_intern(params, results))

    def d_start(self, item: C.Start, stack: list[State]) -> None:
        raise Invalid("support for component model `value`s is not enabled")

    def d_value(self, item: C.ValueDef, stack: list[State]) -> None:
        raise Invalid("support for component model `value`s is not enabled")

    # ------------------------------------------------------------ finish
    def finish(self) -> CompT:
        ty = CompT(dict(self.imports), dict(self.exports),
                   list(self.imported_resources.items()), [], dict(self.explicit_resources))  # fmt: skip
        free: set[RId] = set()
        for it in ty.imports.values():
            free_vars_entity(it.ty, free)
        for rid in self.defined_resources:
            if rid in free:
                raise Invalid("local resource type found in imports")
        free = set()
        for it in ty.exports.values():
            free_vars_entity(it.ty, free)
        for rid in self.defined_resources:
            if rid not in free:
                continue
            path = ty.explicit_resources.get(rid)
            if path is None:
                raise Invalid("local resource type found in export but not exported itself")
            ty.defined_resources.append((rid, path))
        return ty


# ---------------------------------------------------------------- component/instance types
def _component_type(t: C.ComponentTypeDef, stack: list[State]) -> CompT:
    st = State("component type")
    stack.append(st)
    try:
        for d in t.decls:
            _decl(st, d, stack)
        return st.finish()
    finally:
        stack.pop()


def _instance_type(t: C.InstanceTypeDef, stack: list[State]) -> InstT:
    st = State("instance type")
    stack.append(st)
    try:
        for d in t.decls:
            _decl(st, d, stack)
    finally:
        stack.pop()
    return InstT(dict(st.exports), list(st.defined_resources), dict(st.explicit_resources))


def _decl(st: State, d: C.Decl, stack: list[State]) -> None:
    if isinstance(d, C.CoreTypeDecl):
        st.add_core_type(d.type, stack)
    elif isinstance(d, C.TypeDecl):
        st.add_type(d.type, stack)
    elif isinstance(d, C.AliasDecl):
        st.d_alias(d.alias, stack)
    elif isinstance(d, C.ImportDecl):
        st.add_import(d.name, d.desc)
    else:
        st.add_export(d.name, st.extern_desc(d.desc))


def _outer(stack: list[State], count: int, include_current: bool = True) -> State:
    if count >= len(stack):
        raise Invalid(f"invalid outer alias count of {count}")
    return stack[len(stack) - count - 1]


# ---------------------------------------------------------------- names
def _label(name: str, desc: str) -> None:
    try:
        check_label(name, desc)
    except NameError_ as e:
        raise Invalid(str(e)) from None


def _unique_labels(labels: tuple[str, ...], desc: str, prev_desc: str) -> None:
    seen: dict[str, str] = {}
    for name in labels:
        _label(name, desc)
        prev = seen.get(name.lower())
        if prev is not None:
            raise Invalid(f"{desc} name `{name}` conflicts with previous {prev_desc} name `{prev}`")
        seen[name.lower()] = name


def _validate_extern(ctx: _NameContext, ename: C.ExternName, kind: str, e: Entity,
                     names: dict[tuple[str, ...], str], items: dict[str, Item]) -> None:
    raw = ename.name
    try:
        name = parse_name(raw)
    except NameError_ as err:
        raise Invalid(f"{kind} name `{raw}` is not a valid extern name\n{err}") from None
    if kind == "export" and name.kind in ("dependency", "url", "hash"):
        raise Invalid(f"name `{raw}` is not a valid export name")
    implements = ename.implements
    if implements is not None:
        if name.kind != "label":
            raise Invalid(f"name `{raw}` is not valid with `implements`")
        if e.kind != "instance":
            raise Invalid("only instances can have an `implements`")
        try:
            iname = parse_name(implements)
        except NameError_ as err:
            raise Invalid(f"`{implements}` is not a valid name\n{err}") from None
        if iname.kind != "interface":
            raise Invalid(f"name `{implements}` must be an interface")
    if ename.version_suffix is not None:
        raise Invalid("the `cm-canon-names` feature is not active")
    try:
        _check_name_use(ctx, name, e)
    except Invalid as err:
        raise Invalid(f"{kind} name `{raw}` is not valid\n{err.message}") from None
    key = unique_key(name)
    prev = names.get(key)
    if prev is not None:
        raise Invalid(f"{kind} name `{raw}` conflicts with previous name `{prev}`")
    names[key] = raw
    if raw in items:
        raise Invalid(f"{kind} name `{raw}` conflicts with previous name `{raw}`")
    items[raw] = Item(e, implements, ename.version_suffix, ename.external_id)


def _check_name_use(ctx: _NameContext, name: Name, e: Entity) -> None:
    """``[constructor]``/``[method]``/``[static]`` names and interface versions."""
    if name.kind == "interface":
        version = interface_version(name.raw)
        if version is not None:
            try:
                check_semver(version)
            except NameError_ as err:
                raise Invalid(f"invalid interface version: {err}") from None
        return
    if name.kind not in ("constructor", "method", "static"):
        return
    if e.kind != "func":
        raise Invalid("item is not a func")
    ft: FuncT = e.a.data
    if name.kind == "constructor":
        if ft.is_async:
            raise Invalid("constructor function cannot be async")
        if ft.result is None:
            raise Invalid("function should return one value")
        res = None
        r = ft.result
        if not isinstance(r, str):
            if isinstance(r.data, DOwn):
                res = r.data.res
            elif isinstance(r.data, DResult) and r.data.ok is not None and \
                    not isinstance(r.data.ok, str) and isinstance(r.data.ok.data, DOwn):  # fmt: skip
                res = r.data.ok.data.res
        if res is None:
            raise Invalid("function should return `(own $T)` or `(result (own $T))`")
        ctx.resource_name(res, name.resource)
    elif name.kind == "method":
        if not ft.params:
            raise Invalid("function should have at least one argument")
        pname, pty = ft.params[0]
        if pname != "self":
            raise Invalid("function should have a first argument called `self`")
        if isinstance(pty, str) or not isinstance(pty.data, DBorrow):
            raise Invalid("function should take a first argument of `(borrow $T)`")
        ctx.resource_name(pty.data.res, name.resource)
    else:
        if name.resource not in ctx.names:
            raise Invalid("static resource name is not known in this context")


# ---------------------------------------------------------------- named types
def _vt_named(v: Any, named: set[T]) -> bool:
    if isinstance(v, str):
        return True
    d = v.data
    if isinstance(d, DPrim):
        return True
    if isinstance(d, (DFlags, DEnum, DRecord, DVariant)):
        return v in named
    if isinstance(d, (DOwn, DBorrow)):
        return d.res in named
    return _defined_inner_named(d, named)


def _defined_inner_named(d: Any, named: set[T]) -> bool:
    if isinstance(d, (DPrim, DFlags, DEnum)):
        return True
    if isinstance(d, (DOwn, DBorrow)):
        return d.res in named
    if isinstance(d, DRecord):
        return all(_vt_named(t, named) for _, t in d.fields)
    if isinstance(d, DVariant):
        return all(_vt_named(t, named) for _, t in d.cases if t is not None)
    if isinstance(d, DTuple):
        return all(_vt_named(t, named) for t in d.types)
    if isinstance(d, DResult):
        return all(_vt_named(t, named) for t in (d.ok, d.err) if t is not None)
    if isinstance(d, (DList,)):
        return _vt_named(d.elem, named)
    if isinstance(d, DOption):
        return _vt_named(d.type, named)
    if isinstance(d, DMap):
        return _vt_named(d.key, named) and _vt_named(d.value, named)
    if isinstance(d, (DStream, DFuture)):
        return d.type is None or _vt_named(d.type, named)
    return True


def _func_named(ft: FuncT, named: set[T]) -> bool:
    ts = [t for _, t in ft.params] + ([ft.result] if ft.result is not None else [])
    return all(_vt_named(t, named) for t in ts)


def _depth(d: Any) -> int:
    from .types import def_children

    kids = def_children(d)
    best = 0
    for k in kids:
        if not isinstance(k, str):
            best = max(best, _depth(k.data))
    return best + 1


# ---------------------------------------------------------------- core helpers
_SIG = {"i": "i32", "I": "i64", "c": "i32", "p": "i32"}


def _intern(params: list[str], results: list[str]) -> int:
    from ...syntax.types import NUM_TYPES

    ft = FuncType(tuple(NUM_TYPES[p] for p in params), tuple(NUM_TYPES[r] for r in results))
    return canon.intern_canonical(SubType(ft, True, ()))


def _sig_is(cid: int, params: list[str], results: list[str]) -> bool:
    ft = canon.definition(cid).comp
    return isinstance(ft, FuncType) and [str(p) for p in ft.params] == params and \
        [str(r) for r in ft.results] == results  # fmt: skip


def _dbg(ts: list[str]) -> str:
    return "[" + ", ".join(t.upper() for t in ts) + "]"


def _enc_name(enc: str) -> str:
    return "latin1-utf16" if enc == "latin1+utf16" else enc


def _canonical_group(rec: RecType, first: int, prior: list[int]) -> tuple[int, ...]:
    end = first + len(rec.subtypes)
    for k, st in enumerate(rec.subtypes):
        for ref in _refs_of(st):
            if not 0 <= ref < end:
                raise Invalid(f"unknown type {ref}: type index out of bounds")
            if ref < first and prior[ref] < 0:
                raise Invalid(f"type index {ref} is a module type, not a sub type")
        if len(st.supers) > 1:
            raise Invalid(f"sub type {first + k} has more than one supertype")
        if st.supers and st.supers[0] >= first + k:
            raise Invalid(f"sub type {first + k} must be declared after its supertype")
    try:
        return canon.canonicalize_group(rec, first, prior)
    except ValueError as e:
        raise Invalid(str(e)) from None


def _refs_of(st: SubType) -> list[int]:
    out: list[int] = list(st.supers)

    def note(i: int) -> int:
        out.append(i)
        return i

    canon.map_comptype(st.comp, note)
    return out


def _core_entity_of(kind: str, desc: Any, ids: list[int]) -> CoreEntity:
    """A core import/export description of a module type, with canonical types."""
    if kind in ("func", "tag"):
        idx = desc if kind == "func" else desc.typeidx
        if idx >= len(ids):
            raise Invalid(f"unknown type {idx}: type index out of bounds")
        if canon.kind(ids[idx]) != "func":
            raise Invalid(f"type index {idx} is not a function type")
        return CoreEntity(kind, ids[idx])
    if kind == "table":
        return CoreEntity("table", TableType(_canon_ref(desc.elem, ids), desc.limits))
    if kind == "memory":
        lim = desc.limits
        bound = 1 << 48 if lim.addr64 else 65536
        if lim.min > bound or (lim.max is not None and lim.max > bound):
            raise Invalid(f"memory size must be at most {bound} pages (4GiB)")
        return CoreEntity("memory", desc)
    t = desc.type
    if isinstance(t, RefType):
        t = _canon_ref(t, ids)
    return CoreEntity("global", GlobalType(t, desc.mutable))


def _canon_ref(t: RefType, ids: list[int]) -> RefType:
    if isinstance(t.heap, int):
        if t.heap >= len(ids):
            raise Invalid(f"unknown type {t.heap}: type index out of bounds")
        return RefType(t.nullable, ids[t.heap])
    return t


def module_type_of(module: Module, mt: Any) -> ModT:
    """The ModT of a validated core module (mt: its ModuleTypes)."""
    out = ModT()
    funcs = mt.func_type_ids
    tables = mt.table_types
    globals_ = mt.global_types
    tags = mt.tag_type_ids
    mems = module.memory_types()
    counts = {"func": 0, "table": 0, "memory": 0, "global": 0, "tag": 0}
    for imp in module.imports:
        i = counts[imp.kind]
        counts[imp.kind] = i + 1
        key = (imp.module, imp.name)
        if key in out.imports:
            raise Invalid(f"duplicate import name `{imp.module}:{imp.name}`")
        out.imports[key] = _entity(imp.kind, i, funcs, tables, mems, globals_, tags)
    for ex in module.exports:
        out.exports[ex.name] = _entity(ex.kind, ex.index, funcs, tables, mems, globals_, tags)
    return out


def _entity(kind: str, i: int, funcs: Any, tables: Any, mems: Any, globals_: Any,
            tags: Any) -> CoreEntity:  # fmt: skip
    if kind == "func":
        return CoreEntity("func", funcs[i])
    if kind == "table":
        return CoreEntity("table", tables[i])
    if kind == "memory":
        return CoreEntity("memory", mems[i])
    if kind == "global":
        return CoreEntity("global", globals_[i])
    return CoreEntity("tag", tags[i])


_HANDLERS: dict[type, Any] = {
    C.CoreModuleDef: State.d_core_module,
    C.CoreInstantiate: State.d_core_instance,
    C.CoreInlineExports: State.d_core_instance,
    C.CoreTypeDef: State.d_core_type,
    C.ComponentDef: State.d_component,
    C.Instantiate: State.d_instance,
    C.InlineExports: State.d_instance,
    C.ExportAlias: State.d_alias,
    C.CoreExportAlias: State.d_alias,
    C.OuterAlias: State.d_alias,
    C.TypeDef: State.d_type,
    C.Canon: State.d_canon,
    C.Start: State.d_start,
    C.ImportDef: State.d_import,
    C.ExportDef: State.d_export,
    C.ValueDef: State.d_value,
}

