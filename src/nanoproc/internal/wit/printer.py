"""WIT text from a :class:`~.model.Resolve`, laid out as ``wasm-tools component wit``
prints it (two-space indentation, blank lines between items of an interface,
``use`` statements first, world items grouped as interfaces, types, functions,
exports), so that the two tools' outputs can be compared directly."""

from __future__ import annotations

from .model import Function, Resolve, Stability, Type, WorldItem, WorldKey

KEYWORDS = frozenset({
    "use", "type", "func", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64",
    "float32", "float64", "char", "resource", "record", "flags", "variant", "enum", "bool",
    "string", "option", "result", "future", "stream", "list", "own", "borrow", "_", "as",
    "from", "static", "interface", "tuple", "world", "import", "export", "package", "with",
    "include", "constructor", "error-context", "async", "map",
})  # fmt: skip


def esc(name: str) -> str:
    return f"%{name}" if name in KEYWORDS else name


class _Out:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.indent = 0
        self.needs_indent = False

    def s(self, text: str) -> None:
        if self.needs_indent:
            self.parts.append("  " * self.indent)
            self.needs_indent = False
        self.parts.append(text)

    def newline(self) -> None:
        self.parts.append("\n")
        self.needs_indent = True

    def semicolon(self) -> None:
        self.s(";")
        self.newline()

    def start(self) -> None:
        self.s(" {")
        self.indent += 1
        self.newline()

    def end(self) -> None:
        self.indent = max(0, self.indent - 1)
        self.s("}")
        self.newline()

    def text(self) -> str:
        return "".join(self.parts)


class WitPrinter:
    def __init__(self, resolve: Resolve, docs: bool = True) -> None:
        self.r = resolve
        self.out = _Out()
        self.any_items = False
        self.docs = docs

    def print(self, pkg: int, nested: list[int]) -> str:
        self.package(pkg, True)
        for i, p in enumerate(nested):
            if i > 0:
                self.out.newline()
                self.out.newline()
            self.package(p, False)
        return self.out.text()

    # ------------------------------------------------------------ packages
    def package(self, pid: int, main: bool) -> None:
        o = self.out
        p = self.r.packages[pid]
        self.print_docs(p.docs)
        o.s(f"package {esc(p.name.namespace)}:{esc(p.name.name)}")
        if p.name.version:
            o.s(f"@{p.name.version}")
        if main:
            o.semicolon()
            o.newline()
        else:
            o.start()
        for name, iid in p.interfaces.items():
            iface = self.r.interfaces[iid]
            self.print_docs(iface.docs)
            self.stability(iface.stability)
            o.s(f"interface {esc(name)}")
            o.start()
            self.interface(iid)
            o.end()
            if main:
                o.newline()
        for name, wid in p.worlds.items():
            w = self.r.worlds[wid]
            self.print_docs(w.docs)
            self.stability(w.stability)
            o.s(f"world {esc(name)}")
            o.start()
            self.world(wid)
            o.end()
        if not main:
            o.end()

    def new_item(self) -> None:
        if self.any_items:
            self.out.newline()
        self.any_items = True

    # ------------------------------------------------------------ interfaces
    def interface(self, iid: int) -> None:
        prev = self.any_items
        self.any_items = False
        iface = self.r.interfaces[iid]
        resource_funcs: dict[int, list[Function]] = {}
        free: list[Function] = []
        for f in iface.functions.values():
            if f.resource is not None:
                resource_funcs.setdefault(f.resource, []).append(f)
            else:
                free.append(f)
        self.types(("interface", iid), list(iface.types.items()), resource_funcs)
        for f in free:
            self.new_item()
            self.print_docs(f.docs)
            self.stability(f.stability)
            self.external_id(f.external_id)
            self.out.s(f"{esc(f.item_name())}: ")
            self.function(f)
            self.out.semicolon()
        self.any_items = prev

    def types(self, owner: tuple[str, int], types: list[tuple[str, int]],
              resource_funcs: dict[int, list[Function]]) -> None:  # fmt: skip
        r = self.r
        declare: list[int] = []
        imports: list[tuple[tuple[str, int], int, list[tuple[str, str]]]] = []
        for name, tid in types:
            t = r.types[tid]
            if t.kind == "alias" and isinstance(t.data, int):
                other = r.types[t.data]
                if other.owner is not None and other.owner != owner:
                    oname = other.name or ""
                    if imports:
                        po, pt, lst = imports[-1]
                        pty = r.types[pt]
                        if po == other.owner and pty.stability == t.stability and \
                                pty.external_id == t.external_id:  # fmt: skip
                            lst.append((name, oname))
                            continue
                    imports.append((other.owner, tid, [(name, oname)]))
                    continue
            declare.append(tid)
        my_pkg = self._package_of(owner)
        o = self.out
        for iowner, tid, names in imports:
            self.any_items = True
            t = r.types[tid]
            self.stability(t.stability)
            self.external_id(t.external_id)
            o.s("use ")
            self.path_to_interface(iowner[1], my_pkg)
            items = []
            for mine, theirs in names:
                items.append(esc(mine) if mine == theirs else f"{esc(theirs)} as {esc(mine)}")
            o.s(".{" + ", ".join(items) + "}")
            o.semicolon()
        for tid in declare:
            self.new_item()
            t = r.types[tid]
            self.print_docs(t.docs)
            self.stability(t.stability)
            self.external_id(t.external_id)
            if t.kind == "resource":
                self.resource(tid, resource_funcs.get(tid, []))
            else:
                self.declare(tid)

    def _package_of(self, owner: tuple[str, int]) -> int | None:
        if owner[0] == "interface":
            return self.r.interfaces[owner[1]].package
        return self.r.worlds[owner[1]].package

    def resource(self, tid: int, funcs: list[Function]) -> None:
        o = self.out
        t = self.r.types[tid]
        o.s(f"resource {esc(t.name or '')}")
        if not funcs:
            o.semicolon()
            return
        o.start()
        for f in funcs:
            self.print_docs(f.docs)
            self.stability(f.stability)
            self.external_id(f.external_id)
            if f.kind == "method":
                o.s(f"{esc(f.item_name())}: ")
            elif f.kind == "static":
                o.s(f"{esc(f.item_name())}: static ")
            self.function(f)
            o.semicolon()
        o.end()

    def function(self, f: Function) -> None:
        o = self.out
        if f.is_async:
            o.s("async ")
        o.s("constructor(" if f.kind == "constructor" else "func(")
        params = f.params[1:] if f.kind == "method" else f.params
        o.s(", ".join(f"{esc(n)}: {self.type_name(t)}" for n, t in params))
        o.s(")")
        if f.kind == "constructor" and f.result == f.resource:
            return
        if f.result is not None:
            o.s(f" -> {self.type_name(f.result)}")

    # ------------------------------------------------------------ worlds
    def world(self, wid: int) -> None:
        prev = self.any_items
        self.any_items = False
        w = self.r.worlds[wid]
        types: list[tuple[str, int]] = []
        resource_funcs: dict[int, list[Function]] = {}
        func_imports: list[tuple[WorldKey, WorldItem]] = []
        for key, item in w.imports.items():
            if item.kind == "type":
                types.append((key[1], item.type))  # type: ignore[arg-type]
            elif item.kind == "func":
                assert item.func is not None
                if item.func.resource is not None:
                    resource_funcs.setdefault(item.func.resource, []).append(item.func)
                else:
                    func_imports.append((key, item))
            else:
                self.world_item(key, item, w.package, "import")
                self.any_items = True
        self.types(("world", wid), types, resource_funcs)
        for key, item in func_imports:
            self.world_item(key, item, w.package, "import")
            self.any_items = True
        if w.exports:
            self.new_item()
        for key, item in w.exports.items():
            self.world_item(key, item, w.package, "export")
        self.any_items = prev

    def world_item(self, key: WorldKey, item: WorldItem, pkg: int | None, kw: str) -> None:
        o = self.out
        r = self.r
        if item.kind == "interface":
            assert item.iface is not None
            docs = item.docs
            if docs is None and key[0] == "name":
                docs = r.interfaces[item.iface].docs
            self.print_docs(docs)
        elif item.kind == "func":
            assert item.func is not None
            self.print_docs(item.func.docs)
        st = item.stability
        if item.kind == "interface" and key[0] == "name" and \
                r.interfaces[item.iface].name is None:  # type: ignore[index]  # fmt: skip
            st = r.interfaces[item.iface].stability  # type: ignore[index]
        self.stability(st)
        ext = item.external_id
        if item.kind == "func" and item.func is not None and item.func.external_id is not None:
            ext = item.func.external_id
        self.external_id(ext)
        o.s(f"{kw} ")
        if key[0] == "name":
            if item.kind == "interface":
                o.s(f"{esc(key[1])}: ")
                assert item.iface is not None
                if r.interfaces[item.iface].name is None:
                    o.s("interface")
                    o.start()
                    self.interface(item.iface)
                    o.end()
                else:
                    self.path_to_interface(item.iface, pkg)
                    o.semicolon()
            else:
                assert item.func is not None
                o.s(f"{esc(item.func.name)}: ")
                self.function(item.func)
                o.semicolon()
        else:
            self.path_to_interface(key[1], pkg)
            o.semicolon()

    def path_to_interface(self, iid: int, cur_pkg: int | None) -> None:
        i = self.r.interfaces[iid]
        if i.package == cur_pkg:
            self.out.s(esc(i.name or ""))
            return
        assert i.package is not None
        p = self.r.packages[i.package].name
        text = f"{esc(p.namespace)}:{esc(p.name)}/{esc(i.name or '')}"
        if p.version:
            text += f"@{p.version}"
        self.out.s(text)

    # ------------------------------------------------------------ types
    def type_name(self, t: Type) -> str:
        if isinstance(t, str):
            return t
        td = self.r.types[t]
        if td.name is not None:
            return esc(td.name)
        k = td.kind
        if k == "borrow":
            return f"borrow<{esc(self.r.types[td.data].name or '')}>"
        if k == "own":
            return esc(self.r.types[td.data].name or "")
        if k == "tuple":
            return "tuple<" + ", ".join(self.type_name(x) for x in td.data) + ">"
        if k == "option":
            return f"option<{self.type_name(td.data)}>"
        if k == "result":
            ok, err = td.data
            if ok is not None and err is not None:
                return f"result<{self.type_name(ok)}, {self.type_name(err)}>"
            if err is not None:
                return f"result<_, {self.type_name(err)}>"
            if ok is not None:
                return f"result<{self.type_name(ok)}>"
            return "result"
        if k == "list":
            elem, n = td.data
            return f"list<{self.type_name(elem)}>" if n is None else \
                f"list<{self.type_name(elem)}, {n}>"  # fmt: skip
        if k == "map":
            return f"map<{self.type_name(td.data[0])}, {self.type_name(td.data[1])}>"
        if k == "alias":
            return self.type_name(td.data)
        if k in ("future", "stream"):
            return k if td.data is None else f"{k}<{self.type_name(td.data)}>"
        raise ValueError(f"unnamed {k} type")

    def declare(self, tid: int) -> None:
        o = self.out
        t = self.r.types[tid]
        name = esc(t.name or "")
        k = t.kind
        if k in ("record", "variant", "enum", "flags"):
            o.s(f"{k} {name}")
            o.start()
            for cname, cty, cdocs in t.data:
                self.print_docs(cdocs)
                if k == "record":
                    o.s(f"{esc(cname)}: {self.type_name(cty)},")
                elif cty is not None:
                    o.s(f"{esc(cname)}({self.type_name(cty)}),")
                else:
                    o.s(f"{esc(cname)},")
                o.newline()
            o.end()
            return
        if k == "own":
            o.s(f"type {name} = own<{esc(self.r.types[t.data].name or '')}>")
        elif k == "alias":
            o.s(f"type {name} = {self.type_name(t.data)}")
        else:
            anon = self.r.types[tid]
            saved = anon.name
            anon.name = None
            try:
                o.s(f"type {name} = {self.type_name(tid)}")
            finally:
                anon.name = saved
        o.semicolon()

    # ------------------------------------------------------------ attributes
    def print_docs(self, docs: str | None) -> None:
        if not self.docs or docs is None:
            return
        for line in docs.split("\n"):
            self.out.s("///" + (f" {line}" if line else ""))
            self.out.newline()

    def stability(self, st: Stability) -> None:
        o = self.out
        if st.kind == "stable":
            o.s(f"@since(version = {st.since})")
            o.newline()
        elif st.kind == "unstable":
            o.s(f"@unstable(feature = {st.feature})")
            o.newline()
        else:
            return
        if st.deprecated:
            o.s(f"@deprecated(version = {st.deprecated})")
            o.newline()

    def external_id(self, ext: str | None) -> None:
        if ext is None:
            return
        out = []
        for c in ext:
            if c.isascii() and (c.isalnum() or c in "-_./: "):
                out.append(c)
            elif c in '\\"\n\r\t':
                out.append({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
            else:
                out.append(f"\\u{{{ord(c):x}}}")
        self.out.s('@external-id("' + "".join(out) + '")')
        self.out.newline()


def print_wit(resolve: Resolve, pkg: int, nested: list[int]) -> str:
    return WitPrinter(resolve).print(pkg, nested)
