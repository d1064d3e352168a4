"""Per-instance binding: the globals dict generated code runs in, and lazy stubs.

Code objects are shared by all instances of a module; an instance turns them into
functions with ``types.FunctionType(code, G)``, where ``G`` is its own globals dict:
functions ``f<idx>`` (its own, and imported ones bound directly, so a call into
another instance is a plain Python call), memory views ``M<m>`` (rebound by a
listener after growth), tables' element lists ``T<t>``, globals, and the helpers.

Instantiation translates nothing: every defined function starts as a stub that,
on its first call, gets the translated code (translating it if no instance did
yet), binds it, and replaces itself in ``G``, in ``FuncInst.call`` and in the
globals of instances that imported it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

from ..exec.instance import ModuleInstance
from .artifact import ModuleArtifact, TranslationOptions
from .helpers import TEMPLATE, host_caller


class InstanceState:
    """What the interp tier keeps per instance (``ModuleInstance.tier_state``)."""

    __slots__ = ("inst", "art", "options", "G", "unresolved", "importers", "listeners")

    def __init__(self, inst: ModuleInstance, art: ModuleArtifact,
                 options: TranslationOptions) -> None:
        self.inst = inst
        self.art = art
        self.options = options
        G: dict[str, Any] = TEMPLATE.copy()
        self.G = G
        G["INST"] = inst
        self.importers: dict[int, list[tuple[dict[str, Any], str]]] = {}
        """Function index -> (globals, name) of importers bound to its stub."""
        self.listeners: list[Callable[[memoryview], None]] = []
        funcs = inst.funcs
        nimp = art.num_imported
        for i in range(nimp):
            fi = funcs[i]
            name = f"f{i}"
            if fi.host:
                G[name] = host_caller(fi, inst)
                continue
            G[name] = fi.call
            owner = fi.instance.tier_state if fi.instance is not None else None
            if isinstance(owner, InstanceState) and fi.index in owner.unresolved:
                owner.importers.setdefault(fi.index, []).append((G, name))
        self.unresolved = set(range(nimp, len(funcs)))
        for i in range(nimp, len(funcs)):
            stub = _stub(self, i)
            funcs[i].call = stub
            G[f"f{i}"] = stub
        for m, mem in enumerate(inst.memories):
            G[f"M{m}"] = mem.view
            G[f"MEM{m}"] = mem
            listener = _view_listener(G, f"M{m}")
            self.listeners.append(listener)
            mem.bind(listener)
        for t, tab in enumerate(inst.tables):
            G[f"T{t}"] = tab.elems
            G[f"TAB{t}"] = tab
        mutable = art.global_types
        for g, gi in enumerate(inst.globals):
            if mutable[g].mutable:
                G[f"G{g}"] = gi
            else:
                G[f"g{g}"] = gi.value

    def resolve(self, idx: int) -> Callable[..., Any]:
        """Bind defined function ``idx`` (translating it if needed); returns it."""
        t = self.art.translated(idx, self.options)
        G = self.G
        if t.consts:
            G.update(t.consts)
        funcs = self.inst.funcs
        for f in t.funcrefs:
            G[f"F{f}"] = funcs[f]
        for f in t.tail_targets:
            key = f"b{f}"
            if key not in G:
                G[key] = _body_stub(self, f)
        fn = FunctionType(t.code, G)
        if t.body_code is not None:
            body = FunctionType(t.body_code, G)
            G[f"b{idx}"] = body
            fn.tail_body = body  # type: ignore[attr-defined]
        name = f"f{idx}"
        G[name] = fn
        funcs[idx].call = fn
        for g, key in self.importers.pop(idx, ()):
            g[key] = fn
        self.unresolved.discard(idx)
        return fn


def _stub(state: InstanceState, idx: int) -> Callable[..., Any]:
    def stub(*args: Any) -> Any:
        return state.resolve(idx)(*args)

    return stub


def _body_stub(state: InstanceState, idx: int) -> Callable[..., Any]:
    """Stand-in for ``b<idx>`` (a tail-call target's body) until ``idx`` is bound."""

    def body(*args: Any) -> Any:
        state.resolve(idx)
        return state.G[f"b{idx}"](*args)

    return body


def _view_listener(G: dict[str, Any], key: str) -> Callable[[memoryview], None]:
    def listener(view: memoryview) -> None:
        G[key] = view

    return listener
