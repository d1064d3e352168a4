"""Resolving WIT packages (WIT.md "Name resolution", "Worlds", "use", "include",
"Feature Gates").

:func:`load` reads a package from a ``.wit`` file or a directory (its ``*.wit`` files
plus one package per entry of ``deps/``), and resolves all of them, dependencies
first, into a :class:`~.model.Resolve`. Resolution follows wit-parser's order so that
printing gives the same text as ``wasm-tools component wit``: interfaces and worlds
in dependency order (``use`` and ``include`` edges, source order otherwise), types
of an interface in dependency order with ``use``\\ d names first, worlds elaborated
with the interfaces they transitively need.
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

from . import ast as A
from .errors import Span, WitError
from .model import (
    Function,
    Interface,
    Package,
    PackageName,
    Resolve,
    Stability,
    Type,
    TypeDef,
    World,
    WorldItem,
    WorldKey,
)
from .parser import parse_file


class Excluded:
    """A name whose definition a disabled feature gate removed."""

    def __init__(self, kind: str, span: Span) -> None:
        self.kind = kind
        self.span = span


# ---------------------------------------------------------------- loading
def load(path: str | Path, *, features: frozenset[str] = frozenset(),
         all_features: bool = False) -> tuple[Resolve, int, list[int]]:  # fmt: skip
    """Resolve the package at ``path``: (the Resolve, the root package's id, the ids
    of the other packages, in dependency order)."""
    p = Path(path)
    groups: list[list[A.File]] = []
    if p.is_dir():
        deps = p / "deps"
        if deps.is_dir():
            for entry in sorted(deps.iterdir()):
                if entry.is_dir():
                    groups.append(_parse_dir(entry))
                elif entry.suffix == ".wit":
                    groups.append([_parse(entry)])
        main = _parse_dir(p)
        if not main:
            raise WitError(f"no .wit files found in {p}")
    elif p.is_file():
        main = [_parse(p)]
    else:
        raise WitError(f"{p}: no such file or directory")
    r = Resolver(features, all_features)
    root = r.load_groups(main, groups)
    others = [pid for pid in r.order if pid != root]
    return r.resolve, root, others


def load_text(text: str, name: str = "<input>.wit", *,
              features: frozenset[str] = frozenset()) -> tuple[Resolve, int, list[int]]:  # fmt: skip
    """Resolve WIT given as text (one file, dependencies as nested packages)."""
    r = Resolver(features, False)
    root = r.load_groups([parse_file(name, text)], [])
    return r.resolve, root, [pid for pid in r.order if pid != root]


def _parse(path: Path) -> A.File:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise WitError(f"{path}: not UTF-8 (byte offset {e.start})") from None
    except OSError as e:
        raise WitError(f"{path}: {e.strerror or e}") from None
    return parse_file(str(path), text)


def _parse_dir(p: Path) -> list[A.File]:
    return [_parse(f) for f in sorted(p.glob("*.wit")) if f.is_file()]


class _Unresolved:
    """One package's parsed files before resolution."""

    def __init__(self, name: A.PackageName, files: list[A.File], docs: list[str]) -> None:
        self.name = name
        self.files = files
        self.docs = docs

    def key(self) -> tuple[str, str, str | None]:
        return (self.name.namespace, self.name.name, self.name.version)


# ---------------------------------------------------------------- the resolver
class Resolver:
    def __init__(self, features: frozenset[str], all_features: bool) -> None:
        self.resolve = Resolve()
        self.features = features
        self.all_features = all_features
        self.order: list[int] = []

    # ------------------------------------------------------------ packages
    def load_groups(self, main: list[A.File], deps: list[list[A.File]]) -> int:
        pool: dict[tuple[str, str, str | None], _Unresolved] = {}
        main_pkg = self._group(main, pool, is_main=True)
        for g in deps:
            self._group(g, pool, is_main=False)
        # packages in name order, each after its dependencies (wit-parser's order)
        keys = sorted(pool, key=lambda k: (k[0], k[1], () if k[2] is None else
                                           (1, _semver_key(k[2]))))  # fmt: skip
        order: list[Any] = []
        visiting: set[Any] = set()

        def visit(k: Any) -> None:
            if k in order:
                return
            for f in pool[k].files:
                for path in _foreign_paths(f):
                    assert path.package is not None
                    dk = (path.package.namespace, path.package.name, path.package.version)
                    if dk == k:
                        continue
                    if dk in visiting:
                        raise WitError(f"package `{_pkg_str(dk)}` depends on itself",
                                       path.package.span)  # fmt: skip
                    if dk in pool:
                        visiting.add(dk)
                        visit(dk)
                        visiting.discard(dk)
            order.append(k)

        for k in keys:
            visit(k)
        for k in keys:
            for f in pool[k].files:
                for path in _foreign_paths(f):
                    assert path.package is not None
                    dk = (path.package.namespace, path.package.name, path.package.version)
                    if dk not in pool:
                        known = ", ".join(str(pool[x].name) for x in keys)
                        raise WitError(f"package '{_pkg_str(dk)}' not found. known packages: "
                                       f"{known}", path.package.span)  # fmt: skip
        ids = {}
        for k in order:
            ids[k] = self.resolve_package(pool[k])
            self.order.append(ids[k])
        return ids[main_pkg]

    def _group(self, files: list[A.File], pool: dict[Any, _Unresolved], is_main: bool) -> Any:
        """Add a group of files (one package, plus nested packages) to ``pool``."""
        name: A.PackageName | None = None
        docs: list[str] = []
        top: list[A.File] = []
        for f in files:
            for nested in f.nested:
                self._add(pool, _Unresolved(nested.package, [nested], nested.docs))  # type: ignore[arg-type]
            if f.package is not None:
                if name is not None and str(name) != str(f.package):
                    raise WitError(f"package identifier `{f.package}` does not match previous "
                                   f"package name of `{name}`", f.package.span)  # fmt: skip
                name = f.package
                if f.docs:
                    if docs:
                        raise WitError("found doc comments on multiple 'package' items",
                                       f.package.span)  # fmt: skip
                    docs = f.docs
            top.append(f)
        if name is None:
            if any(f.items for f in top) or not any(f.nested for f in files):
                where = top[0].path if top else "input"
                raise WitError(f"no `package` header was found in any WIT file for this package "
                               f"({where})")  # fmt: skip
            last = files[-1].nested[-1].package
            assert last is not None
            return (last.namespace, last.name, last.version)
        up = _Unresolved(name, top, docs)
        self._add(pool, up)
        return up.key()

    @staticmethod
    def _add(pool: dict[Any, _Unresolved], up: _Unresolved) -> None:
        prev = pool.get(up.key())
        if prev is not None:
            raise WitError(f"package `{up.name}` is defined more than once", up.name.span)
        pool[up.key()] = up

    # ------------------------------------------------------------ one package
    def resolve_package(self, up: _Unresolved) -> int:
        R = self.resolve
        name = PackageName(up.name.namespace, up.name.name, up.name.version)
        pid = len(R.packages)
        R.packages.append(Package(name, _docs(up.docs)))
        R.package_names[name.key()] = pid
        self.pid = pid
        self.pkg_version = up.name.version
        # the package-wide names, and each file's names
        package_items: dict[str, tuple[str, Any, int]] = {}
        for fi, f in enumerate(up.files):
            for item in f.items:
                if isinstance(item, (A.Interface, A.World)):
                    if item.name.name in package_items:
                        raise WitError(f"duplicate item named `{item.name.name}`", item.name.span)
                    kind = "interface" if isinstance(item, A.Interface) else "world"
                    package_items[item.name.name] = (kind, item, fi)
        file_ns: list[dict[str, Any]] = []
        for f in up.files:
            ns: dict[str, Any] = {}
            for item in f.items:
                if isinstance(item, A.TopUse):
                    nm = item.as_ if item.as_ is not None else item.path.name
                    target: Any = ("foreign", item.path) if item.path.package is not None else \
                        ("local", item.path.name)  # fmt: skip
                else:
                    nm = item.name
                    target = ("local", item.name)
                if nm.name in ns:
                    raise WitError(f"duplicate name `{nm.name}` in this file", nm.span)
                ns[nm.name] = target
            file_ns.append(ns)
        # dependency order of interfaces and worlds
        deps: dict[str, list[A.Id]] = {n: [] for n in package_items}
        for fi, f in enumerate(up.files):
            ns = file_ns[fi]
            for item in f.items:
                if isinstance(item, A.Interface):
                    for sub in item.items:
                        if isinstance(sub, A.Use) and sub.path.package is None:
                            self._local_dep(ns, package_items, sub.path.name, deps[item.name.name])
                elif isinstance(item, A.World):
                    for sub in item.items:
                        if isinstance(sub, A.Include) and sub.path.package is None:
                            self._local_dep(ns, package_items, sub.path.name, deps[item.name.name])
                elif isinstance(item, A.TopUse) and item.path.package is None:
                    if item.path.name.name not in package_items:
                        raise WitError(f"interface or world `{item.path.name.name}` does not exist",
                                       item.path.name.span)  # fmt: skip
        for f in up.files:
            for item in f.items:
                if isinstance(item, A.TopUse) and item.path.package is not None:
                    self._foreign(item.path.package, item.path.name, "interface")
        order = _toposort(list(package_items), deps, "interface or world")
        self.ids: dict[str, tuple[str, int] | Excluded] = {}
        self.file_ns = file_ns
        self.package_items = package_items
        ifaces, worlds = [], []
        for n in order:
            kind, item, fi = package_items[n]
            st = self.stability(item.gate)
            if not self.included(st, item.name.span):
                self.ids[n] = Excluded(kind, item.name.span)
                if kind == "interface":
                    for sub in item.items:
                        if not isinstance(sub, A.Use) and self.stability(sub.gate).kind == "unknown":
                            raise WitError("found a reference to a interface which is excluded "
                                           "due to its feature not being activated; this type is "
                                           "not gated by a feature but its interface is",
                                           sub.name.span)  # fmt: skip
                continue
            if kind == "interface":
                iid = R.add_interface(Interface(n, None))
                self.ids[n] = ("interface", iid)
                ifaces.append((iid, item, fi))
            else:
                wid = R.add_world(World(n))
                self.ids[n] = ("world", wid)
                worlds.append((wid, item, fi))
        for iid, item, fi in ifaces:
            self.cur_file = fi
            self.resolve_interface(iid, item.items, item.docs, item.gate)
            R.interfaces[iid].package = pid
        for wid, item, fi in worlds:
            self.cur_file = fi
            self.resolve_world(wid, item)
        for wid, _item, _fi in worlds:
            self.process_includes(wid)
            self.elaborate_world(wid)
        pkg = R.packages[pid]
        for iid, _, _ in ifaces:
            pkg.interfaces[R.interfaces[iid].name] = iid  # type: ignore[index]
        for wid, _, _ in worlds:
            R.worlds[wid].package = pid
            pkg.worlds[R.worlds[wid].name] = wid
        return pid

    def _local_dep(self, ns: dict[str, Any], items: dict[str, Any], name: A.Id,
                   out: list[A.Id]) -> None:  # fmt: skip
        target = ns.get(name.name)
        if target is not None:
            if target[0] == "foreign":
                return
            out.append(target[1])
            return
        if name.name in items:
            out.append(name)
            return
        raise WitError(f"interface or world `{name.name}` does not exist", name.span)

    # ------------------------------------------------------------ gates
    def stability(self, g: A.Gate) -> Stability:
        dep = g.deprecated[0] if g.deprecated else None
        if g.since is not None:
            return Stability("stable", since=g.since[0], deprecated=dep)
        if g.unstable is not None:
            return Stability("unstable", feature=g.unstable[0], deprecated=dep)
        return Stability()

    def included(self, st: Stability, span: Span) -> bool:
        if st.kind == "unstable":
            return self.all_features or st.feature in self.features
        if st.kind == "stable":
            if self.pkg_version is None:
                raise WitError("package must have a version to use `@since`", span)
            if _semver_key(st.since) > _semver_key(self.pkg_version):  # type: ignore[arg-type]
                name = self.resolve.packages[self.pid].name
                raise WitError(f"feature gate cannot reference unreleased version {st.since} of "
                               f"package [{name}] (current version {self.pkg_version})", span)  # fmt: skip
        return True

    # ------------------------------------------------------------ paths
    def lookup(self, path: A.UsePath, want: str) -> int:
        """The interface (or world) a use-path names."""
        if path.package is not None:
            return self._foreign(path.package, path.name, want)
        name = path.name
        target = self.file_ns[self.cur_file].get(name.name)
        if target is not None and target[0] == "foreign":
            p: A.UsePath = target[1]
            assert p.package is not None
            return self._foreign(p.package, p.name, want)
        real = target[1].name if target is not None else name.name
        got = self.ids.get(real)
        if got is None:
            raise WitError(f"interface or world `{name.name}` does not exist", name.span)
        if isinstance(got, Excluded):
            raise WitError(f"found a reference to a {got.kind} which is excluded due to its "
                           "feature not being activated", name.span)  # fmt: skip
        kind, idx = got
        if kind != want:
            raise WitError(f"name `{name.name}` is defined as {'an' if kind == 'interface' else 'a'}"
                           f" {kind}, not {'an' if want == 'interface' else 'a'} {want}", name.span)
        return idx

    def _foreign(self, pkg: A.PackageName, name: A.Id, want: str) -> int:
        R = self.resolve
        pid = R.package_names.get((pkg.namespace, pkg.name, pkg.version))
        if pid is None:
            raise WitError(f"package '{pkg}' not found", pkg.span)
        items = R.packages[pid].interfaces if want == "interface" else R.packages[pid].worlds
        got = items.get(name.name)
        if got is None:
            raise WitError(f"{want} '{name.name}' not found in package '{pkg.namespace}:"
                           f"{pkg.name}'", name.span)  # fmt: skip
        return got

    # ------------------------------------------------------------ interfaces
    def resolve_interface(self, iid: int, items: list[Any], docs: list[str], gate: A.Gate) -> None:
        R = self.resolve
        iface = R.interfaces[iid]
        iface.docs = _docs(docs)
        iface.stability = self.stability(gate)
        scope = self.resolve_types(("interface", iid), items)
        funcs: list[Function] = []
        names_seen = dict(scope)
        for item in items:
            if isinstance(item, A.FuncItem):
                st = self.stability(item.gate)
                if item.name.name in names_seen:
                    raise WitError(f"name `{item.name.name}` is defined more than once",
                                   item.name.span)  # fmt: skip
                names_seen[item.name.name] = "func"
                if not self.included(st, item.name.span):
                    continue
                f = self.function(item.name.name, "freestanding", None, item.func, scope,
                                  item.docs, st, item.gate.external_id)  # fmt: skip
                funcs.append(f)
            elif isinstance(item, A.TypeDef) and item.kind == "resource":
                rid = scope.get(item.name.name)
                if isinstance(rid, int):
                    funcs += self.resource_funcs(item, rid, scope)
        for name, tid in scope.items():
            if isinstance(tid, int):
                iface.types[name] = tid
        for f in funcs:
            iface.functions[f.name] = f

    def resolve_types(self, owner: tuple[str, int], items: list[Any]) -> dict[str, Any]:
        """Define the types of an interface or world (``use``\\ d first, then the
        definitions in dependency order). Returns name -> type id (or Excluded)."""
        R = self.resolve
        scope: dict[str, Any] = {}
        for u in items:
            if not isinstance(u, A.Use):
                continue
            st = self.stability(u.gate)
            if not self.included(st, u.span):
                for un in u.names:
                    nm = un.as_ if un.as_ is not None else un.name
                    scope[nm.name] = Excluded("type", nm.span)
                continue
            src = self.lookup(u.path, "interface")
            src_types = R.interfaces[src].types
            for un in u.names:
                target = src_types.get(un.name.name)
                if target is None:
                    if u.path.package is not None:
                        raise WitError(f"type `{un.name.name}` not defined in interface",
                                       un.name.span)  # fmt: skip
                    fn = R.interfaces[src].functions.get(un.name.name)
                    if fn is not None:
                        raise WitError(f"cannot import function `{un.name.name}`", un.name.span)
                    raise WitError(f"name `{un.name.name}` does not exist", un.name.span)
                nm = un.as_ if un.as_ is not None else un.name
                if nm.name in scope:
                    raise WitError(f"name `{nm.name}` is defined more than once", nm.span)
                scope[nm.name] = R.add_type(TypeDef("alias", target, nm.name, owner, None, st,
                                                    u.gate.external_id))  # fmt: skip
        defs: dict[str, A.TypeDef] = {}
        deps: dict[str, list[A.Id]] = {}
        for item in items:
            if isinstance(item, A.Use):
                for un in item.names:
                    nm = un.as_ if un.as_ is not None else un.name
                    deps[nm.name] = []
            elif isinstance(item, A.TypeDef):
                if item.name.name in defs or item.name.name in scope:
                    raise WitError(f"name `{item.name.name}` is defined more than once",
                                   item.name.span)  # fmt: skip
                defs[item.name.name] = item
                d: list[A.Id] = []
                _collect_deps(item, d)
                deps[item.name.name] = d
        order = _toposort(list(deps), deps, "type")
        for n in order:
            td = defs.get(n)
            if td is None:
                continue
            st = self.stability(td.gate)
            if not self.included(st, td.name.span):
                scope[n] = Excluded("type", td.name.span)
                for rf in td.funcs:
                    if self.included(self.stability(rf.gate), rf.name.span):
                        raise WitError("found a reference to a type which is excluded due to its "
                                       "feature not being activated", rf.name.span)  # fmt: skip
                continue
            kind, data = self.typedef(td, scope)
            scope[n] = R.add_type(TypeDef(kind, data, n, owner, _docs(td.docs), st,
                                          td.gate.external_id))  # fmt: skip
        return scope

    def typedef(self, td: A.TypeDef, scope: dict[str, Any]) -> tuple[str, Any]:
        k = td.kind
        if k == "alias":
            t = td.alias
            if isinstance(t, A.TyHandle):
                return ("borrow" if t.borrow else "own"), self.resource_ref(t.resource, scope)
            return "alias", self.ty(t, scope)
        if k == "resource":
            ctors = 0
            seen: set[str] = set()
            for f in td.funcs:
                if f.kind == "constructor":
                    ctors += 1
                    if ctors > 1:
                        raise WitError("duplicate constructors", f.name.span)
                elif f.name.name in seen:
                    raise WitError(f"duplicate function name `{f.name.name}`", f.name.span)
                else:
                    seen.add(f.name.name)
            return "resource", None
        if k == "record":
            self._unique([c.name for c in td.fields], "field")
            return "record", [(c.name.name, self.ty(c.type, scope), _docs(c.docs))
                              for c in td.fields]  # fmt: skip
        if k == "variant":
            self._unique([c.name for c in td.fields], "case")
            return "variant", [(c.name.name, None if c.type is None else self.ty(c.type, scope),
                                _docs(c.docs)) for c in td.fields]  # fmt: skip
        if k == "enum":
            self._unique([c.name for c in td.fields], "case")
            return "enum", [(c.name.name, None, _docs(c.docs)) for c in td.fields]
        if k == "flags":
            self._unique([c.name for c in td.fields], "flag")
            return "flags", [(c.name.name, None, _docs(c.docs)) for c in td.fields]
        raise AssertionError(k)

    @staticmethod
    def _unique(names: list[A.Id], what: str) -> None:
        seen: set[str] = set()
        for n in names:
            if n.name.lower() in seen:
                raise WitError(f"{what} `{n.name}` is defined more than once", n.span)
            seen.add(n.name.lower())

    def name_ref(self, n: A.Id, scope: dict[str, Any]) -> int:
        got = scope.get(n.name)
        if got is None:
            raise WitError(f"type `{n.name}` does not exist", n.span)
        if isinstance(got, Excluded):
            raise WitError("found a reference to a type which is excluded due to its feature not "
                           "being activated", n.span)  # fmt: skip
        if not isinstance(got, int):
            raise WitError(f"cannot use {got} `{n.name}` as a type", n.span)
        return got

    def resource_ref(self, n: A.Id, scope: dict[str, Any]) -> int:
        tid = self.name_ref(n, scope)
        cur = tid
        R = self.resolve
        while True:
            t = R.types[cur]
            if t.kind == "resource":
                return tid
            if t.kind == "alias" and isinstance(t.data, int):
                cur = t.data
                continue
            raise WitError(f"type `{n.name}` used in a handle must be a resource", n.span)

    def ty(self, t: Any, scope: dict[str, Any]) -> Type:
        """A type expression: a primitive name or the id of a type (anonymous types
        are new TypeDefs without a name)."""
        R = self.resolve
        if isinstance(t, A.TyPrim):
            return t.name
        if isinstance(t, A.TyName):
            return self.name_ref(t.name, scope)
        if isinstance(t, A.TyHandle):
            rid = self.resource_ref(t.resource, scope)
            if not t.borrow:
                return rid
            return R.add_type(TypeDef("borrow", rid))
        if isinstance(t, A.TyList):
            return R.add_type(TypeDef("list", (self.ty(t.elem, scope), t.length)))
        if isinstance(t, A.TyMap):
            k = self.ty(t.key, scope)
            if not isinstance(k, str) or k in ("f32", "f64", "error-context"):
                raise WitError("invalid map key type: map keys must be bool, u8, u16, u32, u64, "
                               "s8, s16, s32, s64, char, or string", t.span)  # fmt: skip
            return R.add_type(TypeDef("map", (k, self.ty(t.value, scope))))
        if isinstance(t, A.TyTuple):
            return R.add_type(TypeDef("tuple", [self.ty(x, scope) for x in t.types]))
        if isinstance(t, A.TyOption):
            return R.add_type(TypeDef("option", self.ty(t.type, scope)))
        if isinstance(t, A.TyResult):
            ok = None if t.ok is None else self.ty(t.ok, scope)
            err = None if t.err is None else self.ty(t.err, scope)
            return R.add_type(TypeDef("result", (ok, err)))
        if isinstance(t, A.TyFuture):
            return R.add_type(TypeDef("future", None if t.type is None else self.ty(t.type, scope)))
        if isinstance(t, A.TyStream):
            return R.add_type(TypeDef("stream", None if t.type is None else self.ty(t.type, scope)))
        raise AssertionError(t)

    # ------------------------------------------------------------ functions
    def function(self, name: str, kind: str, resource: int | None, f: A.Func,
                 scope: dict[str, Any], docs: list[str], st: Stability,
                 external_id: str | None, rname: str = "") -> Function:  # fmt: skip
        params: list[tuple[str, Type]] = []
        if kind == "method":
            assert resource is not None
            params.append(("self", self.resolve.add_type(TypeDef("borrow", resource))))
        seen = {p for p, _ in params}
        for pn, pt in f.params:
            if pn.name in seen:
                raise WitError(f"param `{pn.name}` is defined more than once", pn.span)
            seen.add(pn.name)
            params.append((pn.name, self.ty(pt, scope)))
        result: Type | None = None
        if kind == "constructor":
            assert resource is not None
            if f.result is None:
                result = resource
            else:
                result = self.ty(f.result, scope)
                rt = self.resolve.types[result] if isinstance(result, int) else None
                if rt is None or rt.kind != "result":
                    raise WitError("if a constructor return type is declared it must be a "
                                   "`result`", f.span)  # fmt: skip
                if rt.data[0] != resource:
                    raise WitError("the `ok` type must be the resource being constructed", f.span)
        elif f.result is not None:
            result = self.ty(f.result, scope)
        if result is not None and self.contains_borrow(result, set()):
            raise WitError(f"function `{name}` returns a type which contains a `borrow<T>` which "
                           "is not supported", f.span)  # fmt: skip
        return Function(name, kind, params, result, f.is_async, resource, _docs(docs), st,
                        external_id)  # fmt: skip

    def contains_borrow(self, t: Type, seen: set[int]) -> bool:
        if isinstance(t, str) or t in seen:
            return False
        seen.add(t)
        td = self.resolve.types[t]
        k, d = td.kind, td.data
        if k == "borrow":
            return True
        if k in ("record", "variant"):
            return any(x is not None and self.contains_borrow(x, seen) for _, x, _ in d)
        if k in ("alias", "option"):
            return self.contains_borrow(d, seen)
        if k in ("list",):
            return self.contains_borrow(d[0], seen)
        if k in ("map", "result"):
            return any(x is not None and self.contains_borrow(x, seen) for x in d)
        if k == "tuple":
            return any(self.contains_borrow(x, seen) for x in d)
        return False

    def resource_funcs(self, td: A.TypeDef, rid: int, scope: dict[str, Any]) -> list[Function]:
        out = []
        r = td.name.name
        for rf in td.funcs:
            st = self.stability(rf.gate)
            if not self.included(st, rf.name.span):
                continue
            if rf.kind == "constructor":
                name = f"[constructor]{r}"
            else:
                name = f"[{rf.kind}]{r}.{rf.name.name}"
            out.append(self.function(name, rf.kind, rid, rf.func, scope, rf.docs, st,
                                     rf.gate.external_id))  # fmt: skip
        return out

    # ------------------------------------------------------------ worlds
    def resolve_world(self, wid: int, w: A.World) -> None:
        R = self.resolve
        world = R.worlds[wid]
        world.docs = _docs(w.docs)
        world.stability = self.stability(w.gate)
        scope = self.resolve_types(("world", wid), [i for i in w.items
                                                    if isinstance(i, (A.Use, A.TypeDef))])  # fmt: skip
        for inc in w.items:
            if isinstance(inc, A.Include):
                st = self.stability(inc.gate)
                if not self.included(st, inc.span):
                    continue
                src = self.lookup(inc.path, "world")
                world.includes.append((st, src, inc.names, inc.span))
        for name, tid in scope.items():
            if isinstance(tid, int):
                world.imports[("name", name)] = WorldItem("type", type=tid,
                                                          stability=R.types[tid].stability)
        seen_ifaces: dict[bool, set[int]] = {False: set(), True: set()}
        for item in w.items:
            if isinstance(item, A.TypeDef) and item.kind == "resource":
                rid = scope.get(item.name.name)
                if isinstance(rid, int):
                    for f in self.resource_funcs(item, rid, scope):
                        world.imports[("name", f.name)] = WorldItem("func", func=f,
                                                                    stability=f.stability)
                continue
            if not isinstance(item, A.ImportExport):
                continue
            st = self.stability(item.gate)
            ext = item.extern
            span = ext.span or (ext.name.span if ext.name else Span("", "", 0))
            if not self.included(st, span):
                continue
            desc = "export" if item.export else "import"
            dst = world.exports if item.export else world.imports
            wi: WorldItem
            if ext.kind == "func":
                assert ext.name is not None and ext.func is not None
                f = self.function(ext.name.name, "freestanding", None, ext.func, scope, item.docs,
                                  st, item.gate.external_id)  # fmt: skip
                key: WorldKey = ("name", ext.name.name)
                wi = WorldItem("func", func=f, stability=st)
            elif ext.kind == "interface":
                assert ext.name is not None and ext.items is not None
                iid = R.add_interface(Interface(None, self.pid))
                self.resolve_interface(iid, ext.items, item.docs, item.gate)
                key = ("name", ext.name.name)
                wi = WorldItem("interface", iface=iid, stability=R.interfaces[iid].stability,
                               external_id=item.gate.external_id)  # fmt: skip
            else:
                assert ext.path is not None
                iid = self.lookup(ext.path, "interface")
                if ext.kind == "path":
                    key = ("iface", iid)
                    if iid in seen_ifaces[item.export]:
                        raise WitError(f"interface cannot be {desc}ed more than once", span)
                    seen_ifaces[item.export].add(iid)
                else:
                    assert ext.name is not None
                    key = ("name", ext.name.name)
                wi = WorldItem("interface", iface=iid, stability=st, docs=_docs(item.docs),
                               external_id=item.gate.external_id)  # fmt: skip
            prev = dst.get(key)
            if prev is not None:
                kind = {"interface": "interface", "func": "func", "type": "type"}[prev.kind]
                raise WitError(f"{desc} `{key[1]}` conflicts with prior {kind} of same name", span)
            dst[key] = wi

    def process_includes(self, wid: int) -> None:
        R = self.resolve
        world = R.worlds[wid]
        includes, world.includes = world.includes, []
        for _st, src, names, span in includes:
            other = R.worlds[src]
            renames = {a.name: b.name for a, b in names}
            used = set()
            cloner = _Cloner(R, ("world", src), ("world", wid))
            for items, dst, desc in ((other.imports, world.imports, "import"),
                                     (other.exports, world.exports, "export")):  # fmt: skip
                for key, item in items.items():
                    if key[0] == "name":
                        n = renames.get(key[1], key[1])
                        if key[1] in renames:
                            used.add(key[1])
                        new = cloner.item(item, n)
                        nk = ("name", n)
                        if nk in dst:
                            raise WitError(f"{desc} of `{n}` shadows previously {desc}ed items",
                                           span)  # fmt: skip
                        dst[nk] = new
                    elif key not in dst:
                        dst[key] = item
            for a, _b in names:
                if a.name not in used:
                    raise WitError(f"no import or export kebab-name `{a.name}`. Note that an ID "
                                   "does not support renaming", span)  # fmt: skip
        for items, desc in ((world.imports, "import"), (world.exports, "export")):
            seen: dict[str, str] = {}
            for key in items:
                if key[0] != "name":
                    continue
                low = key[1].lower()
                if low in seen and seen[low] != key[1]:
                    raise WitError(f"{desc} `{key[1]}` in world `{world.name}` conflicts with "
                                   f"{desc} `{seen[low]}` (kebab-case identifiers are "
                                   "case-insensitive)")  # fmt: skip
                seen[low] = key[1]

    def elaborate_world(self, wid: int) -> None:
        """Add the interfaces the world's items transitively need (WIT.md
        "Transitive imports and worlds"), in wit-parser's order."""
        R = self.resolve
        world = R.worlds[wid]

        def sort_key(item: WorldItem) -> int:
            if item.kind == "interface":
                return 0
            if item.kind == "type":
                t = R.types[item.type]  # type: ignore[index]
                if t.kind == "alias" and isinstance(t.data, int) and \
                        R.types[t.data].owner != t.owner:  # fmt: skip
                    return 1
                return 2
            assert item.func is not None
            return 3 if item.func.resource is None else 4

        new_imports: dict[WorldKey, WorldItem] = {}
        for key, item in sorted(world.imports.items(), key=lambda kv: sort_key(kv[1])):
            if item.kind == "interface":
                self._elaborate_import(new_imports, key, item)
            elif item.kind == "func":
                new_imports[key] = item
            else:
                dep = R.type_interface_dep(item.type)  # type: ignore[arg-type]
                if dep is not None:
                    self._elaborate_import(new_imports, ("iface", dep),
                                           WorldItem("interface", iface=dep,
                                                     stability=R.types[item.type].stability))  # type: ignore[index]
                new_imports[key] = item
        new_exports: dict[WorldKey, WorldItem] = {}
        export_ifaces: dict[WorldKey, WorldItem] = {}
        for key, item in world.exports.items():
            if item.kind == "interface":
                export_ifaces[key] = item
            else:
                new_exports[key] = item
        required: set[int] = set()

        def add_export(key: WorldKey, item: WorldItem, exporting: bool) -> bool:
            if key in new_exports:
                return exporting
            iid = item.iface
            assert iid is not None
            if not exporting and iid in required:
                return True
            for dep in R.interface_direct_deps(iid):
                dk: WorldKey = ("iface", dep)
                sub = WorldItem("interface", iface=dep, stability=item.stability,
                                external_id=item.external_id)  # fmt: skip
                if not add_export(dk, sub, exporting and dk in export_ifaces):
                    return False
            if exporting:
                if iid in required:
                    return False
                new_exports[key] = item
            else:
                required.add(iid)
                if key not in new_imports:
                    new_imports[key] = item
            return True

        for key, item in export_ifaces.items():
            if not add_export(key, item, True):
                name = key[1] if key[0] == "name" else R.interface_path(key[1])
                raise WitError(f"failed to process export `{name}`: interface transitively "
                               "depends on an interface in incompatible ways")  # fmt: skip
        world.imports = dict(sorted(new_imports.items(), key=lambda kv: sort_key(kv[1])))
        world.exports = new_exports

    def _elaborate_import(self, out: dict[WorldKey, WorldItem], key: WorldKey,
                          item: WorldItem) -> None:  # fmt: skip
        if key in out:
            return
        R = self.resolve
        assert item.iface is not None
        for dep in R.interface_direct_deps(item.iface):
            self._elaborate_import(out, ("iface", dep),
                                   WorldItem("interface", iface=dep, stability=item.stability))
        out[key] = item


class _Cloner:
    """Copies an included world's own types and functions into the including world,
    renamed and with references between them rewritten (wit-parser's Cloner)."""

    def __init__(self, R: Resolve, src: tuple[str, int], dst: tuple[str, int]) -> None:
        self.R = R
        self.src = src
        self.dst = dst
        self.map: dict[int, int] = {}

    def item(self, item: WorldItem, name: str) -> WorldItem:
        if item.kind == "func":
            assert item.func is not None
            nf = self.func(item.func, name)
            return WorldItem("func", func=nf, stability=item.stability, docs=item.docs,
                             external_id=item.external_id)  # fmt: skip
        if item.kind == "type":
            assert item.type is not None
            t = self.R.types[item.type]
            nt = TypeDef(t.kind, self.data(t), name, self.dst, t.docs, t.stability, t.external_id)
            new = self.R.add_type(nt)
            self.map[item.type] = new
            return WorldItem("type", type=new, stability=item.stability)
        return item

    def func(self, f: Function, name: str | None = None) -> Function:
        res = None if f.resource is None else self.ty(f.resource)
        assert res is None or isinstance(res, int)
        nm = name if name is not None else f.name
        if name is not None and f.resource is not None and res != f.resource:
            rname = self.R.types[res].name  # type: ignore[index]
            old = self.R.types[f.resource].name
            nm = f.name.replace(f"]{old}", f"]{rname}", 1)
        return Function(nm, f.kind, [(n, self.ty(t)) for n, t in f.params],
                        None if f.result is None else self.ty(f.result), f.is_async, res,
                        f.docs, f.stability, f.external_id)  # fmt: skip

    def ty(self, t: Type) -> Type:
        if isinstance(t, str):
            return t
        got = self.map.get(t)
        if got is not None:
            return got
        td = self.R.types[t]
        if td.owner is not None:
            return t
        data = self.data(td)
        if data == td.data:
            return t
        new = self.R.add_type(TypeDef(td.kind, data))
        self.map[t] = new
        return new

    def data(self, td: TypeDef) -> Any:
        k, d = td.kind, td.data
        m = self.ty
        if k in ("record", "variant", "enum", "flags"):
            return [(n, None if x is None else m(x), docs) for n, x, docs in d]
        if k in ("alias", "option", "own", "borrow"):
            return m(d) if d is not None else None
        if k in ("future", "stream"):
            return None if d is None else m(d)
        if k == "list":
            return (m(d[0]), d[1])
        if k == "map":
            return (m(d[0]), m(d[1]))
        if k == "tuple":
            return [m(x) for x in d]
        if k == "result":
            return (None if d[0] is None else m(d[0]), None if d[1] is None else m(d[1]))
        return d


# ---------------------------------------------------------------- helpers
def _docs(lines: list[str]) -> str | None:
    """Doc comments as wit-parser keeps them: markers removed, common indentation
    removed, lines joined."""
    docs = []
    for d in lines:
        if d.startswith("/**"):
            body = d[3:-2]
        else:
            body = d.lstrip("/")
        docs.append(body.rstrip())
    nonempty = [d for d in docs if d]
    if nonempty:
        ws = min(len(d) - len(d.lstrip()) for d in nonempty)
        if ws:
            docs = [d[ws:] if d.startswith(" " * ws) else d for d in docs]
    if not docs:
        return None
    out = []
    for d in docs:
        if not d:
            out.append("")
        else:
            out.extend(d.splitlines())
    text = "\n".join(out)
    text = text.rstrip("\n")
    return text


def _collect_deps(td: A.TypeDef, out: list[A.Id]) -> None:
    if td.kind == "alias":
        _ty_deps(td.alias, out)
    elif td.kind in ("record", "variant"):
        for c in td.fields:
            if c.type is not None:
                _ty_deps(c.type, out)


def _ty_deps(t: Any, out: list[A.Id]) -> None:
    if isinstance(t, A.TyName):
        out.append(t.name)
    elif isinstance(t, A.TyHandle):
        out.append(t.resource)
    elif isinstance(t, A.TyList):
        _ty_deps(t.elem, out)
    elif isinstance(t, A.TyMap):
        _ty_deps(t.key, out)
        _ty_deps(t.value, out)
    elif isinstance(t, A.TyTuple):
        for x in t.types:
            _ty_deps(x, out)
    elif isinstance(t, A.TyOption):
        _ty_deps(t.type, out)
    elif isinstance(t, A.TyResult):
        for x in (t.ok, t.err):
            if x is not None:
                _ty_deps(x, out)
    elif isinstance(t, (A.TyFuture, A.TyStream)) and t.type is not None:
        _ty_deps(t.type, out)


def _toposort(names: list[str], deps: dict[str, list[A.Id]], kind: str) -> list[str]:
    """Dependency order, earliest-defined first among ready items (wit-parser's
    toposort); errors for unknown names and cycles."""
    index = {n: i for i, n in enumerate(names)}
    remaining = [len(deps[n]) for n in names]
    rdeps: list[list[int]] = [[] for _ in names]
    for i, n in enumerate(names):
        for d in deps[n]:
            j = index.get(d.name)
            if j is None:
                raise WitError(f"{kind} `{d.name}` does not exist", d.span)
            rdeps[j].append(i)
    heap = [i for i in range(len(names)) if remaining[i] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        i = heapq.heappop(heap)
        out.append(names[i])
        for j in rdeps[i]:
            remaining[j] -= 1
            if remaining[j] == 0:
                heapq.heappush(heap, j)
    if len(out) == len(names):
        return out
    for i, n in enumerate(names):
        if remaining[i]:
            for d in deps[n]:
                if remaining[index[d.name]]:
                    raise WitError(f"{kind} `{d.name}` depends on itself", d.span)
    raise WitError(f"{kind} dependency cycle")  # pragma: no cover


def _pkg_str(k: tuple[str, str, str | None]) -> str:
    return f"{k[0]}:{k[1]}" + (f"@{k[2]}" if k[2] else "")


def _foreign_paths(f: A.File) -> list[A.UsePath]:
    out: list[A.UsePath] = []

    def iface_items(items: list[Any]) -> None:
        for it in items:
            if isinstance(it, A.Use) and it.path.package is not None:
                out.append(it.path)

    for item in f.items:
        if isinstance(item, A.TopUse):
            if item.path.package is not None:
                out.append(item.path)
        elif isinstance(item, A.Interface):
            iface_items(item.items)
        elif isinstance(item, A.World):
            for it in item.items:
                if isinstance(it, (A.Use, A.Include)) and it.path.package is not None:
                    out.append(it.path)
                elif isinstance(it, A.ImportExport):
                    ext = it.extern
                    if ext.path is not None and ext.path.package is not None:
                        out.append(ext.path)
                    if ext.items is not None:
                        iface_items(ext.items)
    return out


def _semver_key(v: str) -> tuple[Any, ...]:
    core, _, build = v.partition("+")
    main, _, pre = core.partition("-")
    nums = tuple(int(x) for x in main.split("."))
    bkey = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in build.split(".")) \
        if build else ()  # fmt: skip
    if not pre:
        return (*nums, 1, (), bkey)
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*nums, 0, parts, bkey)
