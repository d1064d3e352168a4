"""The WIT parser (WIT.md grammar): text to :mod:`.ast`.

Errors say what was expected and what was found, at file:line:column, in the words
of wit-parser where the two agree (``expected '{', found keyword `type```).
"""

from __future__ import annotations

from typing import Any

from . import ast as A
from .errors import Span, WitError
from .lexer import Lexer, Token

PRIMS = frozenset({"bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64",
                   "char", "string", "error-context"})  # fmt: skip


def parse_file(path: str, text: str) -> A.File:
    """Parse one ``.wit`` file."""
    return _Parser(path, text).file()


class _Parser:
    def __init__(self, path: str, text: str) -> None:
        self.lx = Lexer(path, text)
        self.path = path
        self.tok: Token | None = None

    # ------------------------------------------------------------ tokens
    def peek(self) -> Token:
        if self.tok is None:
            self.tok = self.lx.next()
        return self.tok

    def take(self) -> Token:
        t = self.peek()
        self.tok = None
        return t

    def span(self, pos: int) -> Span:
        return self.lx.span(pos)

    def error(self, msg: str, tok: Token | None = None) -> WitError:
        t = tok if tok is not None else self.peek()
        return WitError(msg, self.span(t.pos))

    def expected(self, what: str, tok: Token | None = None) -> WitError:
        t = tok if tok is not None else self.peek()
        return self.error(f"expected {what}, found {t.describe()}", t)

    def eat(self, kind: str, text: str | None = None) -> Token | None:
        t = self.peek()
        if t.kind == kind and (text is None or t.text == text):
            return self.take()
        return None

    def expect(self, kind: str, what: str | None = None) -> Token:
        t = self.peek()
        if t.kind != kind:
            raise self.expected(what or f"'{kind}'")
        return self.take()

    def keyword(self, word: str) -> Token:
        t = self.peek()
        if t.kind != "kw" or t.text != word:
            raise self.expected(f"keyword `{word}`")
        return self.take()

    def is_kw(self, word: str) -> bool:
        t = self.peek()
        return t.kind == "kw" and t.text == word

    def ident(self) -> A.Id:
        t = self.peek()
        if t.kind != "id":
            raise self.expected("an identifier or string")
        self.take()
        return A.Id(t.text, self.span(t.pos + (1 if t.explicit else 0)))

    # ------------------------------------------------------------ file
    def file(self) -> A.File:
        first = self.peek()
        docs = list(first.docs)
        package = None
        gate = self.gate()
        if self.is_kw("package"):
            start = self.take()
            name = self.package_name()
            if self.eat(";"):
                if gate_set(gate):
                    raise self.error("attributes not allowed on a package declaration", start)
                package = name
                docs = list(start.docs) or docs
                out = A.File(package, docs, [], path=self.path)
                self.items(out.items, out.nested, top=True)
                return out
            out = A.File(None, [], [], path=self.path)
            out.nested.append(self.nested_package(name, list(start.docs)))
            self.items(out.items, out.nested, top=True)
            return out
        out = A.File(None, [], [], path=self.path)
        self.items(out.items, out.nested, top=True, gate=gate)
        return out

    def nested_package(self, name: A.PackageName, docs: list[str]) -> A.File:
        self.expect("{", "'{'")
        inner = A.File(name, docs, [], path=self.path)
        self.items(inner.items, None, top=False)
        self.expect("}", "'}'")
        return inner

    def items(self, items: list[Any], nested: list[A.File] | None, *, top: bool,
              gate: A.Gate | None = None) -> None:  # fmt: skip
        while True:
            t = self.peek()
            if t.kind == "eof" or (not top and t.kind == "}"):
                if gate is not None and gate_set(gate):
                    raise self.expected("`world`, `interface` or `use`")
                return
            docs = list(t.docs)
            g = gate if gate is not None else self.gate()
            gate = None
            t = self.peek()
            if t.kind == "kw" and t.text == "interface":
                self.take()
                name = self.ident()
                items.append(A.Interface(name, self.interface_items(), docs, g))
            elif t.kind == "kw" and t.text == "world":
                self.take()
                name = self.ident()
                items.append(A.World(name, self.world_items(), docs, g))
            elif t.kind == "kw" and t.text == "use":
                self.take()
                path = self.use_path()
                as_ = self.ident() if self.eat("kw", "as") else None
                self.expect(";", "';'")
                items.append(A.TopUse(path, as_, self.span(t.pos)))
            elif t.kind == "kw" and t.text == "package" and nested is not None:
                self.take()
                pname = self.package_name()
                if self.peek().kind == ";":
                    raise self.error("the package declaration must come first in a file", t)
                nested.append(self.nested_package(pname, docs))
            else:
                raise self.expected("`world`, `interface` or `use`")

    # ------------------------------------------------------------ names
    def package_name(self) -> A.PackageName:
        start = self.peek()
        parts = [self.ident()]
        while self.eat(":"):
            parts.append(self.ident())
        if len(parts) < 2:
            raise self.expected("':'")
        if len(parts) > 2:
            raise self.error("nested namespaces are not supported", start)
        version = None
        if self.peek_raw("@"):
            version = self.version()
        return A.PackageName(parts[0].name, parts[1].name, version, self.span(start.pos))

    def peek_raw(self, ch: str) -> bool:
        """Whether the next token is ``ch`` (consumed if so, without looking beyond)."""
        t = self.peek()
        if t.kind == ch:
            self.take()
            return True
        return False

    def version(self) -> str:
        if self.tok is not None:  # pragma: no cover - '@' was taken with nothing after
            raise self.error("expected a version")
        text, _ = self.lx.version()
        return text

    def use_path(self) -> A.UsePath:
        first = self.ident()
        t = self.peek()
        if t.kind == ":" and t.pos == first.span.pos + len(first.name):
            self.take()
            pkg = self.ident()
            while self.eat(":"):
                raise self.error("nested namespaces are not supported", t)
            self.expect("/", "'/'")
            name = self.ident()
            if self.peek().kind == "/":
                raise self.error("nested packages are not supported", self.peek())
            version = None
            if self.peek_raw("@"):
                version = self.version()
            return A.UsePath(name, A.PackageName(first.name, pkg.name, version, first.span))
        return A.UsePath(first)

    # ------------------------------------------------------------ attributes
    def gate(self) -> A.Gate:
        g = A.Gate()
        while self.peek().kind == "@":
            at = self.take()
            name = self.peek()
            if name.kind != "id":
                raise self.expected("an identifier")
            self.take()
            self.expect("(", "'('")
            if name.text in ("since", "deprecated"):
                key = self.ident()
                if key.name != "version":
                    raise self.error(f"expected `version`, found `{key.name}`", at)
                self.expect("=", "'='")
                ver, pos = self.lx.version()
                if name.text == "since":
                    if g.since is not None:
                        raise self.error("cannot specify @since twice", at)
                    g.since = (ver, self.span(at.pos))
                else:
                    if g.deprecated is not None:
                        raise self.error("cannot specify @deprecated twice", at)
                    g.deprecated = (ver, self.span(at.pos))
            elif name.text == "unstable":
                key = self.ident()
                if key.name != "feature":
                    raise self.error(f"expected `feature`, found `{key.name}`", at)
                self.expect("=", "'='")
                feature = self.ident()
                if g.unstable is not None:
                    raise self.error("cannot specify @unstable twice", at)
                g.unstable = (feature.name, self.span(at.pos))
            elif name.text == "external-id":
                s = self.expect("str", "a string")
                if g.external_id is not None:
                    raise self.error("cannot specify @external-id twice", at)
                g.external_id = s.text
            else:
                raise self.error(f"unsupported attribute `@{name.text}`", at)
            self.expect(")", "')'")
        if g.since is not None and g.unstable is not None:
            raise WitError("cannot specify both @since and @unstable", g.since[1])
        if g.deprecated is not None and g.since is None and g.unstable is None:
            raise WitError("cannot specify both @deprecated without @since or @unstable",
                           g.deprecated[1])  # fmt: skip
        return g

    # ------------------------------------------------------------ interfaces
    def interface_items(self) -> list[Any]:
        self.expect("{", "'{'")
        items: list[Any] = []
        while not self.eat("}"):
            docs = list(self.peek().docs)
            g = self.gate()
            t = self.peek()
            if t.kind == "kw" and t.text == "use":
                items.append(self.use_item(g))
            elif t.kind == "kw" and t.text in ("record", "variant", "enum", "flags",
                                                "resource", "type"):  # fmt: skip
                items.append(self.typedef(docs, g))
            elif t.kind == "id":
                name = self.ident()
                self.expect(":", "':'")
                func = self.func_type()
                self.expect(";", "';'")
                items.append(A.FuncItem(name, func, docs, g))
            elif t.kind == "eof":
                raise self.expected("'}'")
            else:
                raise self.expected("`type`, `resource` or `func`")
        return items

    def use_item(self, g: A.Gate) -> A.Use:
        start = self.keyword("use")
        path = self.use_path()
        self.expect(".", "'.'")
        self.expect("{", "'{'")
        names: list[A.UseName] = []
        while not self.eat("}"):
            name = self.ident()
            as_ = self.ident() if self.eat("kw", "as") else None
            names.append(A.UseName(name, as_))
            if not self.eat(","):
                self.expect("}", "'}'")
                break
        self.expect(";", "';'")
        return A.Use(path, names, g, self.span(start.pos))

    def func_type(self) -> A.Func:
        start = self.peek()
        is_async = bool(self.eat("kw", "async"))
        self.keyword("func")
        params = self.params()
        result = self.ty() if self.eat("->") else None
        return A.Func(is_async, params, result, self.span(start.pos))

    def params(self) -> list[tuple[A.Id, Any]]:
        self.expect("(", "'('")
        out: list[tuple[A.Id, Any]] = []
        while not self.eat(")"):
            name = self.ident()
            self.expect(":", "':'")
            out.append((name, self.ty()))
            if not self.eat(","):
                self.expect(")", "')'")
                break
        return out

    def typedef(self, docs: list[str], g: A.Gate) -> A.TypeDef:
        kw = self.take().text
        name = self.ident()
        if kw == "type":
            self.expect("=", "'='")
            ty = self.ty()
            self.expect(";", "';'")
            return A.TypeDef("alias", name, docs, g, alias=ty)
        if kw == "resource":
            td = A.TypeDef("resource", name, docs, g)
            if self.eat(";"):
                return td
            self.expect("{", "'{'")
            td.has_body = True
            while not self.eat("}"):
                fdocs = list(self.peek().docs)
                fg = self.gate()
                t = self.peek()
                if t.kind == "kw" and t.text == "constructor":
                    self.take()
                    params = self.params()
                    result = self.ty() if self.eat("->") else None
                    self.expect(";", "';'")
                    func = A.Func(False, params, result, self.span(t.pos))
                    td.funcs.append(A.ResourceFunc("constructor", A.Id("constructor",
                                                   self.span(t.pos)), func, fdocs, fg))  # fmt: skip
                elif t.kind == "id":
                    fname = self.ident()
                    self.expect(":", "':'")
                    kind = "method"
                    is_async = bool(self.eat("kw", "async"))
                    if self.eat("kw", "static"):
                        kind = "static"
                        if is_async:
                            raise self.expected("keyword `func`")
                        is_async = bool(self.eat("kw", "async"))
                    fstart = self.peek()
                    self.keyword("func")
                    params = self.params()
                    result = self.ty() if self.eat("->") else None
                    self.expect(";", "';'")
                    func = A.Func(is_async, params, result, self.span(fstart.pos))
                    td.funcs.append(A.ResourceFunc(kind, fname, func, fdocs, fg))
                else:
                    raise self.expected("`constructor` or identifier")
            return td
        self.expect("{", "'{'")
        td = A.TypeDef(kw, name, docs, g)
        while not self.eat("}"):
            cdocs = list(self.peek().docs)
            cname = self.ident()
            cty = None
            if kw == "record":
                self.expect(":", "':'")
                cty = self.ty()
            elif kw == "variant" and self.eat("("):
                cty = self.ty()
                self.expect(")", "')'")
            td.fields.append(A.Case(cname, cty, cdocs))
            if not self.eat(","):
                self.expect("}", "'}'")
                break
        if not td.fields and kw in ("record", "variant", "enum"):
            raise WitError(f"empty {kw}", name.span)
        return td

    # ------------------------------------------------------------ types
    def ty(self, depth: int = 0) -> Any:
        if depth >= 100:
            raise self.error("type nesting too deep")
        self.depth = depth
        t = self.peek()
        if t.kind == "id":
            return A.TyName(self.ident())
        if t.kind != "kw":
            raise self.expected("a type")
        self.take()
        w = t.text
        sp = self.span(t.pos)
        if w in PRIMS:
            return A.TyPrim(w)
        if w == "list":
            self.expect("<", "'<'")
            elem = self.ty(depth + 1)
            length = None
            if self.eat(","):
                n = self.peek()
                if n.kind != "int":
                    raise self.expected("fixed-length")
                self.take()
                length = int(n.text)
                if length == 0:
                    raise self.error("fixed-length lists must have a non-zero length", n)
            self.expect(">", "'>'")
            return A.TyList(elem, length, sp)
        if w == "map":
            self.expect("<", "'<'")
            k = self.ty(depth + 1)
            self.expect(",", "','")
            v = self.ty(depth + 1)
            self.expect(">", "'>'")
            return A.TyMap(k, v, sp)
        if w == "tuple":
            self.expect("<", "'<'")
            types = []
            while not self.eat(">"):
                types.append(self.ty(depth + 1))
                if not self.eat(","):
                    self.expect(">", "'>'")
                    break
            return A.TyTuple(types, sp)
        if w == "option":
            self.expect("<", "'<'")
            inner = self.ty(depth + 1)
            self.expect(">", "'>'")
            return A.TyOption(inner, sp)
        if w == "result":
            if not self.eat("<"):
                return A.TyResult(None, None, sp)
            if self.eat("kw", "_"):
                self.expect(",", "','")
                err = self.ty(depth + 1)
                self.expect(">", "'>'")
                return A.TyResult(None, err, sp)
            ok = self.ty(depth + 1)
            err = self.ty(depth + 1) if self.eat(",") else None
            self.expect(">", "'>'")
            return A.TyResult(ok, err, sp)
        if w in ("borrow", "own"):
            self.expect("<", "'<'")
            r = self.ident()
            self.expect(">", "'>'")
            return A.TyHandle(w == "borrow", r)
        if w in ("future", "stream"):
            inner = None
            if self.eat("<"):
                inner = self.ty(depth + 1)
                self.expect(">", "'>'")
            return A.TyFuture(inner, sp) if w == "future" else A.TyStream(inner, sp)
        raise self.expected("a type", t)

    # ------------------------------------------------------------ worlds
    def world_items(self) -> list[Any]:
        self.expect("{", "'{'")
        items: list[Any] = []
        while not self.eat("}"):
            docs = list(self.peek().docs)
            g = self.gate()
            t = self.peek()
            if t.kind == "kw" and t.text in ("import", "export"):
                self.take()
                ext = self.extern()
                items.append(A.ImportExport(t.text == "export", ext, docs, g))
            elif t.kind == "kw" and t.text == "use":
                items.append(self.use_item(g))
            elif t.kind == "kw" and t.text == "include":
                self.take()
                path = self.use_path()
                names: list[tuple[A.Id, A.Id]] = []
                if self.eat("kw", "with"):
                    self.expect("{", "'{'")
                    while not self.eat("}"):
                        a = self.ident()
                        self.keyword("as")
                        b = self.ident()
                        names.append((a, b))
                        if not self.eat(","):
                            self.expect("}", "'}'")
                            break
                else:
                    self.expect(";", "';'")
                items.append(A.Include(path, names, g, self.span(t.pos)))
            elif t.kind == "kw" and t.text in ("record", "variant", "enum", "flags",
                                                "resource", "type"):  # fmt: skip
                items.append(self.typedef(docs, g))
            elif t.kind == "eof":
                raise self.expected("'}'")
            else:
                raise self.expected("`import`, `export`, `include`, `use`, or type definition")
        return items

    def extern(self) -> A.Extern:
        first = self.peek()
        if first.kind != "id":
            raise self.expected("an identifier or string")
        name = self.ident()
        t = self.peek()
        if t.kind == ":" and t.pos == name.span.pos + len(name.name):
            # `a:b/c` (an interface of a package) unless spaced `a: ...`
            after = self.lx.text[t.pos + 1:t.pos + 2]
            if after and not after.isspace():
                self.tok = t
                path = self._package_path(name)
                self.expect(";", "';'")
                return A.Extern("path", None, path=path, span=name.span)
        if self.eat(":"):
            t = self.peek()
            if t.kind == "kw" and t.text in ("func", "async"):
                func = self.func_type()
                self.expect(";", "';'")
                return A.Extern("func", name, func=func, span=name.span)
            if t.kind == "kw" and t.text == "interface":
                self.take()
                return A.Extern("interface", name, items=self.interface_items(), span=name.span)
            if t.kind == "id":
                path = self.use_path()
                self.expect(";", "';'")
                return A.Extern("named-path", name, path=path, span=name.span)
            raise self.expected("keyword `func`")
        self.expect(";", "';'")
        return A.Extern("path", None, path=A.UsePath(name), span=name.span)

    def _package_path(self, first: A.Id) -> A.UsePath:
        self.expect(":", "':'")
        pkg = self.ident()
        if self.peek().kind != "/":
            raise self.error("expected an interface of a package (`ns:pkg/interface`)", self.peek())
        self.take()
        name = self.ident()
        version = None
        if self.peek_raw("@"):
            version = self.version()
        return A.UsePath(name, A.PackageName(first.name, pkg.name, version, first.span))


def gate_set(g: A.Gate) -> bool:
    return any(x is not None for x in (g.since, g.unstable, g.deprecated, g.external_id))
