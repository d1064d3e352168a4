"""Per-instance binding: the globals dict generated code runs in, and lazy stubs.

Code objects are shared by all instances of a module; an instance turns them into
functions with ``types.FunctionType(code, G)``, where ``G`` is its own globals dict:
functions ``f<idx>`` (its own, and imported ones bound directly, so a call into
another instance is a plain Python call), memory views ``M<m>`` (rebound by a
listener after growth), tables' element lists ``T<t>``, globals, and the helpers.

Instantiation translates nothing and makes nothing per function: a defined
function's ``FuncInst.call`` is unset until first read, which binds the translated
code (translating it if no instance did yet). Binding a function puts a stub for
each function it calls into ``G``; a stub's first call binds its function, which
then replaces it in ``G``, in ``FuncInst.call`` and in the globals of instances
that imported it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

from ..exec.entities import CALL_SLOT, FuncInst
from ..exec.instance import ModuleInstance
from ..exec.memory import MemoryInst
from .artifact import ModuleArtifact, TranslationOptions
from .helpers import TEMPLATE, host_caller, host_caller_factory


class InstanceState:
    """What the interp tier keeps per instance (``ModuleInstance.tier_state``)."""

    __slots__ = ("inst", "art", "options", "G", "importers", "listeners", "overrides")

    def __init__(self, inst: ModuleInstance, art: ModuleArtifact,
                 options: TranslationOptions) -> None:
        self.inst = inst
        self.art = art
        self.options = options
        self.importers: dict[int, list[tuple[dict[str, Any], str]]] | None = None
        """Function index -> (globals, name) of importers bound to its stub."""
        self.listeners: list[Callable[[memoryview], None]] | None = None
        """Listeners of imported memories (which hold them weakly)."""
        self.overrides: dict[int, Callable[..., Any]] | None = None
        """Function index -> what callers use instead of its translation (a composing
        backend's native code); see :meth:`override`."""
        binder = art.binder
        if binder is None:
            binder = art.binder = _binder(art)
        G: dict[str, Any] = binder(self, inst)
        self.G = G
        if options.fuel or options.epochs:
            G["ST"] = inst.store
            G["ENG"] = inst.store.engine
        # Defined functions get no stand-in here: FuncInst.call resolves on first
        # read, and a caller's binding puts stubs for its callees into G.

    def bind_import(self, G: dict[str, Any], fi: FuncInst, name: str) -> None:
        """Bind imported Wasm function ``fi`` as ``name`` (a host function's is bound
        by the binder itself): its code if bound, else a stub."""
        try:
            G[name] = CALL_SLOT(fi)
        except AttributeError:  # another instance's function, not bound yet
            owner = fi.instance.tier_state
            if not isinstance(owner, InstanceState):  # another tier's: bind it now
                G[name] = fi.call
                return
            G[name] = _stub(owner, fi.index)
            if owner.importers is None:
                owner.importers = {}
            owner.importers.setdefault(fi.index, []).append((G, name))

    def listen(self, G: dict[str, Any], m: int, mem: MemoryInst) -> None:
        """Follow imported memory ``m``'s growth (its view is rebound in ``G``)."""
        listener = _view_listener(G, m)
        if self.listeners is None:
            self.listeners = []
        self.listeners.append(listener)
        mem.bind(listener)

    def refresh_views(self, view: memoryview) -> None:
        """Rebind the views (and casts) of own memories that grew."""
        G = self.G
        if not G:  # released
            return
        for m, mem in enumerate(self.inst.memories):
            name = f"M{m}"
            if G.get(name) is not mem.view:
                G[name] = mem.view
                if f"MI{m}" in G:
                    _install_casts(G, m, mem.view)

    def release(self) -> None:
        """Empty ``G`` (functions and ``G`` refer to each other): the store died."""
        self.G.clear()
        self.importers = None

    def resolve(self, idx: int) -> Callable[..., Any]:
        """Bind defined function ``idx`` (translating it if needed); returns it."""
        art = self.art
        options = self.options
        t = art.code.get((idx, options)) or art.translated(idx, options)
        art.used[idx] = None
        G = self.G
        if t.consts:
            G.update(t.consts)
        for m in t.cast_memories:
            if f"MI{m}" not in G:
                _install_casts(G, m, self.inst.memories[m].view)
        funcs = self.inst.funcs
        for f in t.funcrefs:
            G[f"F{f}"] = funcs[f]
        fnames = art.func_names
        for f in t.callees:
            name = fnames[f]
            if name not in G:
                G[name] = _stub(self, f)
        for f in t.tail_targets:
            key = f"b{f}"
            if key not in G:
                G[key] = _body_stub(self, f)
        # the trailing ``dp``, when the engine has a depth budget (see callgraph)
        defaults = (options.stack_frames,) if options.stack_frames else None
        fn = FunctionType(t.code, G, None, defaults)
        if t.body_code is not None:
            body = FunctionType(t.body_code, G, None, defaults)
            G[f"b{idx}"] = body
            fn.tail_body = body  # type: ignore[attr-defined]
        G[fnames[idx]] = fn
        funcs[idx].call = fn
        if self.importers:
            for g, key in self.importers.pop(idx, ()):
                g[key] = fn
        overrides = self.overrides
        if overrides:
            # Read after the writes above: an override made meanwhile (by another
            # thread) is put back, never lost.
            other = overrides.get(idx)
            if other is not None:
                self._install(idx, other)
        return fn

    def override(self, idx: int, fn: Callable[..., Any]) -> None:
        """Make callers of defined function ``idx`` (this instance's code, its
        ``FuncInst.call`` and importers not bound yet) call ``fn`` instead.

        Safe from another thread while code runs: ``fn`` is recorded first, and a
        concurrent :meth:`resolve` re-installs it after writing its own binding.
        ``fn`` must take the depth budget ``dp`` as an optional last argument when
        the engine has one (``options.stack_frames``)."""
        if self.overrides is None:
            self.overrides = {}
        self.overrides[idx] = fn
        self._install(idx, fn)

    def _install(self, idx: int, fn: Callable[..., Any]) -> None:
        G = self.G
        if not G and not self.inst.funcs:  # released
            return
        G[self.art.func_names[idx]] = fn
        self.inst.funcs[idx].call = fn
        if self.importers:
            for g, key in self.importers.pop(idx, ()):
                g[key] = fn

    def refresh_tables(self) -> None:
        """Rebind the tables' element lists (another tier replaced a table's list)."""
        G = self.G
        if not G:
            return
        _, table_names, _ = self.art.entity_names
        for tab, (elems_name, _tab_name) in zip(self.inst.tables, table_names):
            G[elems_name] = tab.elems


STRAIGHT_IMPORTS = 64
"""Imported functions up to which the binder binds each with lines of its own."""


def _binder(art: ModuleArtifact) -> Callable[[InstanceState, ModuleInstance], dict[str, Any]]:
    """``bind(state, inst) -> G``: an instance's globals dict, made by one function
    generated per module (its entities' names written out: instantiating a small
    module is a hot path, and the loops over its index spaces cost more than the
    dict). Imported functions: a host function gets a caller wrapper, another
    instance's its code or a stub; imported memories a growth listener; own
    memories the state's ``refresh_views`` (held strongly: they live as long)."""
    mem_names, table_names, global_names = art.entity_names
    mod = art.module
    nmem = len(mem_names)
    ntab = len(table_names)
    ntags = sum(1 for imp in mod.imports if imp.kind == "tag") + len(mod.tags)
    items = ["'__builtins__': BUILTINS", "'INST': inst"]
    pre: list[str] = []
    post: list[str] = []
    if nmem:
        pre.append("mems = inst.memories")
        for m, (view_name, mem_name) in enumerate(mem_names):
            pre.append(f"m{m} = mems[{m}]")
            items += [f"{mem_name!r}: m{m}", f"{view_name!r}: m{m}.view"]
            if m < art.num_imported_mems:
                post.append(f"state.listen(G, {m}, m{m})")
            else:
                post.append(f"m{m}.bind(state.refresh_views, owner=True)")
    if ntab:
        pre.append("tabs = inst.tables")
        for t, (elems_name, tab_name) in enumerate(table_names):
            pre.append(f"t{t} = tabs[{t}]")
            items += [f"{elems_name!r}: t{t}.elems", f"{tab_name!r}: t{t}"]
    if ntags:
        pre.append("tags = inst.tags")
        items += [f"'X{k}': tags[{k}]" for k in range(ntags)]
    if global_names:
        pre.append("gls = inst.globals")
        for g, (name, mutable) in enumerate(global_names):
            items.append(f"{name!r}: gls[{g}]" if mutable else f"{name!r}: gls[{g}].value")
    lines = ["def bind(state, inst):", *("    " + x for x in pre),
             "    G = {" + ", ".join(items) + "}"]
    fnames = art.func_names
    ns: dict[str, Any] = {"BUILTINS": TEMPLATE["__builtins__"], "host_caller": host_caller,
                          "NIMP": art.num_imported, "FNAMES": fnames[:art.num_imported]}
    if art.num_imported > STRAIGHT_IMPORTS:
        lines += ["    for fi, name in zip(inst.funcs[:NIMP], FNAMES):",
                  "        if fi.host: G[name] = host_caller(fi, inst)",
                  "        else: state.bind_import(G, fi, name)"]  # fmt: skip
    elif art.num_imported:
        lines.append("    funcs = inst.funcs")
        for i in range(art.num_imported):
            # a host function's wrapper factory, by arity (the type is the import's;
            # whether it wants its caller is the function's)
            arity = len(art.func_types[i].params)
            ns[f"H{i}"] = host_caller_factory(arity, False)
            ns[f"C{i}"] = host_caller_factory(arity, True)
            lines.append(f"    fi = funcs[{i}]")
            lines.append(f"    if fi.host: G[{fnames[i]!r}] = (C{i} if fi.needs_caller else H{i})"
                         "(fi.call, inst)")
            lines.append(f"    else: state.bind_import(G, fi, {fnames[i]!r})")
    lines += ["    " + x for x in post]
    lines.append("    return G")
    exec(compile("\n".join(lines) + "\n", f"<nanoproc interp binding {art.name or ''}>",
                 "exec"), ns)  # fmt: skip
    return ns["bind"]  # type: ignore[no-any-return]


def _stub(state: InstanceState, idx: int) -> Callable[..., Any]:
    """Stand-in for ``f<idx>`` in G until ``idx`` is bound."""

    def stub(*args: Any) -> Any:
        return state.resolve(idx)(*args)

    return stub


def _body_stub(state: InstanceState, idx: int) -> Callable[..., Any]:
    """Stand-in for ``b<idx>`` (a tail-call target's body) until ``idx`` is bound."""

    def body(*args: Any) -> Any:
        state.resolve(idx)
        return state.G[f"b{idx}"](*args)

    return body


def _install_casts(G: dict[str, Any], m: int, view: memoryview) -> None:
    """Memory ``m``'s view cast to 4- and 8-byte items, for aligned loads."""
    G[f"MI{m}"] = view.cast("I")
    G[f"MQ{m}"] = view.cast("Q")
    G[f"MD{m}"] = view.cast("d")


def _view_listener(G: dict[str, Any], m: int) -> Callable[[memoryview], None]:
    """Rebinds memory ``m``'s view, and its casts once code uses them (after growth)."""
    name = f"M{m}"
    cast_name = f"MI{m}"

    def listener(view: memoryview) -> None:
        G[name] = view
        if cast_name in G:
            _install_casts(G, m, view)

    return listener
