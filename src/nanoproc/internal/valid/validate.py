"""Module-level validation (spec 3.4, "Modules"): types, imports, definitions,
segments, exports and start, then every function body."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import DecodeError, ValidationError
from ..syntax.module import Expr, Module
from ..syntax.ops import REF_FUNC
from ..syntax.types import (
    ArrayType,
    FuncType,
    GlobalType,
    Limits,
    MemType,
    NumType,
    RecType,
    RefType,
    StructType,
    SubType,
    TableType,
    TagType,
    ValType,
)
from . import canon
from .code import check_const, check_func
from .context import Context, Invalid, TableInfo
from .fused import ModuleTables
from .moduletypes import ModuleTypes
from .subtyping import match_comptype, match_valtype


def validate_module(module: Module, bodies: bool = True, release: bool = False,
                    wasm: bytes | None = None) -> ModuleTypes:
    """Validate ``module``; return its canonical types.

    ``bodies=False`` skips the function bodies (for bytes known to be valid: the
    compile cache holds code made from them; see api.module). ``release``: a body
    decoded lazily for the check is dropped again after it (kept as bytes until
    needed), so validating a big module holds one body at a time, not all of them.
    With ``wasm`` (the module's bytes) and ``release``, a big module's bodies are
    checked by this process and worker processes together (see internal.workers).
    Raises ValidationError, or DecodeError if lazily decoding a function body fails.
    """
    try:
        if wasm is not None and release:
            return _validate_parallel(module, bodies, wasm)
        return _validate(module, bodies, release)
    except (ValidationError, DecodeError):
        raise
    except Invalid as e:
        raise ValidationError(e.message) from None
    except RecursionError:
        raise ValidationError("module too deeply nested to validate") from None
    except Exception as e:  # a malformed tree must not surface as a Python error
        raise ValidationError(f"invalid module ({type(e).__name__}: {e})") from e


PARALLEL_BYTES = 16 << 20
"""Code section size from which ``parallel`` validation uses worker processes."""
CHUNKS_PER_JOB = 8


_SOURCE: dict[int, bytes] = {}


def _validate_parallel(module: Module, bodies: bool, wasm: bytes) -> ModuleTypes:
    _SOURCE[id(module)] = wasm
    try:
        return _validate(module, bodies, True, parallel=True)
    finally:
        _SOURCE.pop(id(module), None)


def _validate(module: Module, bodies: bool = True, release: bool = False,
              parallel: bool = False) -> ModuleTypes:
    ctx = _module_context(module)
    base = len(ctx.funcs) - len(module.funcs)
    ninstrs = 0
    if bodies:
        got = _check_bodies_native(module, ctx, base, release, parallel)
        if got is not None:
            ninstrs = got
        elif parallel and _code_bytes(module) >= PARALLEL_BYTES:
            ninstrs = _check_bodies_in_parallel(module, ctx, base)
        else:
            ninstrs = _check_bodies(module, ctx, base, 0, len(module.funcs), release)
    return ModuleTypes(
        type_ids=tuple(ctx.type_ids),
        func_type_ids=tuple(ctx.func_type_ids),
        func_types=tuple(ctx.funcs),
        table_types=tuple(
            TableType(t.elem, lim) for t, lim in zip(ctx.tables, _table_limits(module))
        ),
        global_types=tuple(GlobalType(t, m) for t, m in ctx.globals),
        tag_type_ids=tuple(_tag_ids(ctx, module)),
        elem_types=tuple(ctx.elems),
        num_instrs=ninstrs,
    )


def _check_bodies(module: Module, ctx: Context, base: int, start: int, stop: int,
                  release: bool, fast: ModuleTables | None = None) -> int:
    ninstrs = 0
    funcs = module.funcs
    if fast is None and stop > start:
        fast = ModuleTables(ctx)
    for i in range(start, stop):
        f = funcs[i]
        lazy = release and f.body is None and f.lazy is not None
        ninstrs += check_func(ctx, base + i, f, fast)
        if lazy:
            f.body = None
            f.offsets = None
    return ninstrs


def _check_bodies_native(module: Module, ctx: Context, base: int, release: bool,
                         parallel: bool) -> int | None:  # fmt: skip
    """Check every body: the native filter first, then the Python checks for the bodies
    it is not sure of (in function order, so the first error is the first invalid
    body's). None if the native filter is not used for this module."""
    from . import native

    funcs = module.funcs
    if not funcs or _code_bytes(module) < native.min_code_bytes():
        return None
    hook = next((f.lazy for f in funcs if f.lazy is not None), None)
    raw_spans = getattr(hook, "raw_spans", None)
    if raw_spans is None:
        return None
    data, spans = raw_spans(funcs)
    if not isinstance(data, bytes) or not native.available():
        return None
    indices = [i for i, sp in enumerate(spans) if sp is not None and funcs[i].body is None]
    verdicts = native.check_bodies(ctx, module, base, data, [spans[i] for i in indices], indices)
    ninstrs = 0
    unsure = [True] * len(funcs)
    for i, n in zip(indices, verdicts):
        if n >= 0:
            unsure[i] = False
            ninstrs += n
    rest = [i for i, u in enumerate(unsure) if u]
    if parallel and _bytes_of(module, rest) >= PARALLEL_BYTES:
        return None  # many bodies outside the native subset: the parallel path checks all
    fast = ModuleTables(ctx) if rest else None
    for i in rest:
        ninstrs += _check_bodies(module, ctx, base, i, i + 1, release, fast)
    return ninstrs


def _bytes_of(module: Module, indices: list[int]) -> int:
    """Code bytes of the bodies ``indices`` (the last one's counted as zero)."""
    funcs = module.funcs
    last = len(funcs) - 1
    return sum(funcs[i + 1].code_offset - funcs[i].code_offset for i in indices if i < last)


def _code_bytes(module: Module) -> int:
    funcs = module.funcs
    if len(funcs) < 2:
        return 0
    return funcs[-1].code_offset - funcs[0].code_offset


def body_checker(module: Module) -> Callable[[int, int], object]:
    """For a worker process: ``check(start, stop)`` validates bodies ``start`` to
    ``stop`` (indices into ``module.funcs``) after the module-level checks (done
    once); returns the instruction count, or None if a body is invalid (the parent
    checks that chunk again itself, for the exact error)."""
    ctx = _module_context(module)
    base = len(ctx.funcs) - len(module.funcs)
    fast = ModuleTables(ctx)

    def check(start: int, stop: int) -> object:
        try:
            return _check_bodies(module, ctx, base, start, stop, True, fast)
        except (ValidationError, DecodeError, Invalid):
            return None

    return check


def _check_bodies_in_parallel(module: Module, ctx: Context, base: int) -> int:
    """Validate every body, this process and worker processes (each decodes the
    module itself) taking chunks of similar byte size; the first error in function
    order is raised."""
    import hashlib
    import os

    from ..workers import Worker, run_tasks

    wasm = _SOURCE.get(id(module))
    funcs = module.funcs
    jobs = os.cpu_count() or 1
    if wasm is None or jobs < 2:
        return _check_bodies(module, ctx, base, 0, len(funcs), True)
    digest = hashlib.sha256(wasm).hexdigest()
    total = _code_bytes(module)
    nchunks = jobs * CHUNKS_PER_JOB
    bounds = [0]
    step = total / nchunks
    first = funcs[0].code_offset
    k = 1
    for i, f in enumerate(funcs):
        if f.code_offset - first >= k * step:
            bounds.append(i)
            k += 1
    bounds.append(len(funcs))
    chunks = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
    fast = ModuleTables(ctx)

    def here(chunk: tuple[int, int]) -> object:
        try:
            return _check_bodies(module, ctx, base, chunk[0], chunk[1], True, fast)
        except (ValidationError, DecodeError) as e:
            return e
        except Invalid as e:
            return ValidationError(e.message)

    def remote(w: Worker, i: int, chunk: tuple[int, int]) -> object:
        return w.run("validate", i, digest, wasm, chunk[0], chunk[1])

    results = run_tasks(chunks, jobs - 1, here, remote, here_too=True)
    ninstrs = 0
    for chunk, r in zip(chunks, results):
        if r is None:  # a worker found an error: find it again here, exactly
            r = here(chunk)
        if isinstance(r, BaseException):
            raise r  # the first invalid chunk in function order
        ninstrs += int(r)  # type: ignore[call-overload]
    return ninstrs


def _module_context(module: Module) -> Context:
    """The context after the module-level checks (everything but the bodies)."""
    ctx = Context(module)
    _check_types(ctx, module.types)
    _check_imports(ctx, module)
    for f in module.funcs:
        ctx.funcs.append(ctx.functype(f.typeidx))
        ctx.func_type_ids.append(ctx.type_ids[f.typeidx])
    nimported_globals = len(ctx.globals)
    ctx.refs = frozenset(_declared_refs(module))
    for table in module.tables:
        info = _table_type(ctx, table.type)
        if table.init is not None:
            check_const(ctx, table.init, info.elem, nimported_globals)
        elif not info.elem.nullable:
            raise Invalid("type mismatch: table of non-nullable references needs an initializer")
        ctx.tables.append(info)
    for mem in module.memories:
        ctx.mems.append(_mem_type(mem.type))
    for tag in module.tags:
        ctx.tags.append(_tag_type(ctx, tag.type))
    for g in module.globals:
        gt = _global_type(ctx, g.type)
        check_const(ctx, g.init, gt[0], len(ctx.globals))
        ctx.globals.append(gt)
    _check_elems(ctx, module)
    _check_datas(ctx, module)
    _check_exports(ctx, module)
    _check_start(ctx, module)
    return ctx


# ---------------------------------------------------------------- types
def _storage_types(st: SubType) -> list[object]:
    """The value and packed types a type definition mentions."""
    ct = st.comp
    if isinstance(ct, FuncType):
        return [*ct.params, *ct.results]
    if isinstance(ct, StructType):
        return [f.storage for f in ct.fields]
    if isinstance(ct, ArrayType):
        return [ct.field.storage]
    raise Invalid(f"invalid composite type {ct!r}")


def _check_types(ctx: Context, groups: list[RecType]) -> None:
    """Check and canonicalise the type section, one recursion group at a time.

    A group may refer to itself and to earlier groups; a supertype must come before
    its subtype. References are checked before the group enters the process-wide
    registry, so only well-scoped groups are ever registered.
    """
    for rec in groups:
        first = len(ctx.type_ids)
        end = first + len(rec.subtypes)
        for k, st in enumerate(rec.subtypes):
            _check_arity(st)
            for t in _storage_types(st):
                if isinstance(t, RefType):
                    h = t.heap
                    if isinstance(h, int) and not 0 <= h < end:
                        raise Invalid(f"unknown type {h}")
                    if not isinstance(h, int):
                        ctx.heap(h)
            for x in st.supers:
                if not (isinstance(x, int) and 0 <= x < end):
                    raise Invalid(f"unknown type {x}")
            if len(st.supers) > 1:
                raise Invalid(f"sub type {first + k} has more than one supertype")
            if st.supers and st.supers[0] >= first + k:
                raise Invalid(f"sub type {first + k} must be declared after its supertype")
        ids = canon.canonicalize_group(rec, first, ctx.type_ids)
        ctx.type_ids.extend(ids)
        ctx.defs.extend(canon.definition(i) for i in ids)
        for k, cid in enumerate(ids):
            _check_supertype(first + k, cid)


MAX_FUNC_ARITY = 1000
"""Most parameters, and most results, of a function type (wasmtime's limits)."""


def _check_arity(st: SubType) -> None:
    ct = st.comp
    if isinstance(ct, FuncType):
        if len(ct.params) > MAX_FUNC_ARITY:
            raise Invalid("function params size is out of bounds")
        if len(ct.results) > MAX_FUNC_ARITY:
            raise Invalid("function returns size is out of bounds")


def _check_supertype(index: int, cid: int) -> None:
    sup = canon.supertype(cid)
    if sup is None:
        return
    mine, theirs = canon.definition(cid), canon.definition(sup)
    if theirs.final:
        raise Invalid(f"sub type {index}: its supertype is final")
    if not match_comptype(mine.comp, theirs.comp):
        raise Invalid(f"sub type {index} does not match its supertype")


# ---------------------------------------------------------------- entity types
def _limits(lim: Limits, bound: int, what: str, bound_text: str) -> None:
    if lim.min > bound or (lim.max is not None and lim.max > bound):
        raise Invalid(f"{what} size must be at most {bound_text}")
    if lim.max is not None and lim.min > lim.max:
        raise Invalid("size minimum must not be greater than maximum")


def _mem_type(mt: MemType) -> NumType:
    if not isinstance(mt, MemType):
        raise Invalid(f"invalid memory type {mt!r}")
    lim = mt.limits
    log = 16 if lim.page_size_log2 is None else lim.page_size_log2
    if log not in (0, 16):
        raise Invalid("invalid custom page size")
    width = 64 if lim.addr64 else 32
    pages = 1 << (width - log)
    if lim.addr64:
        text = f"2^{width - log} pages" if log else "2^64 bytes"
    else:
        text = "65536 pages (4GiB)" if log == 16 else f"{pages} pages (4GiB)"
    _limits(lim, pages, "memory", text)
    if lim.shared and lim.max is None:
        raise Invalid("shared memory must have maximum")
    return lim.addr_type


def _table_type(ctx: Context, tt: TableType) -> TableInfo:
    if not isinstance(tt, TableType):
        raise Invalid(f"invalid table type {tt!r}")
    elem = ctx.ref(tt.elem)
    lim = tt.limits
    _limits(lim, (1 << 64) - 1 if lim.addr64 else (1 << 32) - 1, "table",
            "2^64-1" if lim.addr64 else "2^32-1")  # fmt: skip
    return TableInfo(elem, lim.addr_type)


def _table_limits(module: Module) -> list[Limits]:
    return [t.limits for t in module.table_types()]


def _global_type(ctx: Context, gt: GlobalType) -> tuple[ValType, bool]:
    if not isinstance(gt, GlobalType):
        raise Invalid(f"invalid global type {gt!r}")
    return ctx.val(gt.type), bool(gt.mutable)


def _tag_type(ctx: Context, tt: TagType) -> FuncType:
    if not isinstance(tt, TagType):
        raise Invalid(f"invalid tag type {tt!r}")
    ft = ctx.functype(tt.typeidx)
    if ft.results:
        raise Invalid("non-empty tag result type")
    return ft


def _tag_ids(ctx: Context, module: Module) -> list[int]:
    return [ctx.type_ids[t.typeidx] for t in module.tag_types()]


def _check_imports(ctx: Context, module: Module) -> None:
    for imp in module.imports:
        d = imp.desc
        if imp.kind == "func":
            if not isinstance(d, int) or isinstance(d, bool):
                raise Invalid(f"invalid function import {d!r}")
            ctx.funcs.append(ctx.functype(d))
            ctx.func_type_ids.append(ctx.type_ids[d])
        elif imp.kind == "table":
            ctx.tables.append(_table_type(ctx, d))  # type: ignore[arg-type]
        elif imp.kind == "memory":
            ctx.mems.append(_mem_type(d))  # type: ignore[arg-type]
        elif imp.kind == "global":
            ctx.globals.append(_global_type(ctx, d))  # type: ignore[arg-type]
        elif imp.kind == "tag":
            ctx.tags.append(_tag_type(ctx, d))  # type: ignore[arg-type]
        else:
            raise Invalid(f"invalid import kind {imp.kind!r}")


# ---------------------------------------------------------------- segments, exports, start
def _const_exprs(module: Module) -> Iterable[Expr]:
    for t in module.tables:
        if t.init is not None:
            yield t.init
    for g in module.globals:
        yield g.init
    for e in module.elems:
        yield from e.init
        if e.offset is not None:
            yield e.offset
    for d in module.datas:
        if d.offset is not None:
            yield d.offset


def _declared_refs(module: Module) -> Iterable[int]:
    """C.refs: function indices that occur in the module outside function bodies."""
    for expr in _const_exprs(module):
        for ins in expr:
            if ins[0] is REF_FUNC:
                yield ins[1]
    for ex in module.exports:
        if ex.kind == "func":
            yield ex.index


def _check_elems(ctx: Context, module: Module) -> None:
    nglobals = len(ctx.globals)
    for seg in module.elems:
        rt = ctx.ref(seg.type)
        for expr in seg.init:
            check_const(ctx, expr, rt, nglobals)
        if seg.mode == "active":
            table = ctx.table(seg.table)
            if not match_valtype(rt, table.elem):
                raise Invalid("type mismatch: element segment does not match the table")
            if seg.offset is None:
                raise Invalid("active element segment without offset")
            check_const(ctx, seg.offset, table.addr, nglobals)
        elif seg.mode not in ("passive", "declarative"):
            raise Invalid(f"invalid element segment mode {seg.mode!r}")
        ctx.elems.append(rt)


def _check_datas(ctx: Context, module: Module) -> None:
    ctx.ndatas = len(module.datas)
    for seg in module.datas:
        if seg.mode == "active":
            addr = ctx.mem(seg.memory)
            if seg.offset is None:
                raise Invalid("active data segment without offset")
            check_const(ctx, seg.offset, addr, len(ctx.globals))
        elif seg.mode != "passive":
            raise Invalid(f"invalid data segment mode {seg.mode!r}")


def _check_exports(ctx: Context, module: Module) -> None:
    names: set[str] = set()
    for ex in module.exports:
        if ex.name in names:
            raise Invalid("duplicate export name")
        names.add(ex.name)
        x = ex.index
        if ex.kind == "func":
            ctx.func(x)
        elif ex.kind == "table":
            ctx.table(x)
        elif ex.kind == "memory":
            ctx.mem(x)
        elif ex.kind == "global":
            if not (isinstance(x, int) and 0 <= x < len(ctx.globals)):
                raise Invalid(f"unknown global {x}")
        elif ex.kind == "tag":
            ctx.tag(x)
        else:
            raise Invalid(f"invalid export kind {ex.kind!r}")


def _check_start(ctx: Context, module: Module) -> None:
    if module.start is None:
        return
    ft = ctx.func(module.start)
    if ft.params or ft.results:
        raise Invalid("start function must have type [] -> []")
