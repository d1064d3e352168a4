"""Import/export names and labels (Explainer.md "Import and Export Definitions",
"Name Uniqueness").

:func:`parse_name` classifies an extern name (``label``, ``[constructor]r``,
``[method]r.m``, ``[static]r.m``, ``ns:pkg/iface@ver``, ...) or raises
:class:`NameError_` with wasmparser's wording; :func:`unique_key` is the canonical form
under which two names conflict ("strongly-unique" names: acronyms compare lowercased,
``[method]l.l`` is ``l``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class NameError_(Exception):
    """A malformed name; the message is the reason."""


def is_kebab(s: str) -> bool:
    """``label`` of the grammar: words (lowercase) or acronyms (uppercase) joined by
    single hyphens, the first starting with a letter."""
    lower = upper = has_digit = False
    first = True
    for c in s:
        if "a" <= c <= "z" and not lower and not upper:
            lower = True
        elif "A" <= c <= "Z" and not lower and not upper:
            upper = True
        elif "0" <= c <= "9" and not lower and not upper and not first:
            has_digit = True
        elif "a" <= c <= "z" and lower:
            pass
        elif "A" <= c <= "Z" and upper:
            pass
        elif "0" <= c <= "9" and (lower or upper):
            has_digit = True
        elif c == "-" and (lower or upper or has_digit):
            lower = upper = has_digit = False
            first = False
        else:
            return False
    return bool(s) and not s.endswith("-")


def check_label(s: str, desc: str) -> str:
    """A record field, case, flag, enum or parameter label."""
    if not is_kebab(s):
        if not s:
            raise NameError_(f"{desc} name cannot be empty")
        raise NameError_(f"{desc} name `{s}` is not in kebab case")
    return s


@dataclass(frozen=True, slots=True)
class Name:
    """A parsed extern name: ``kind`` is ``label``, ``constructor``, ``method``,
    ``static``, ``interface``, ``dependency``, ``url`` or ``hash``."""

    raw: str
    kind: str
    resource: str = ""
    """The resource of a constructor/method/static name."""
    item: str = ""
    """The label (label), or the function (method/static)."""


def parse_name(s: str) -> Name:
    p = _NameParser(s)
    name = p.parse()
    if p.rest:
        raise NameError_(f"trailing characters found: `{p.rest}`")
    return name


class _NameParser:
    def __init__(self, s: str) -> None:
        self.s = s
        self.rest = s

    def eat(self, prefix: str) -> bool:
        if self.rest.startswith(prefix):
            self.rest = self.rest[len(prefix):]
            return True
        return False

    def expect(self, prefix: str) -> None:
        if not self.eat(prefix):
            raise NameError_(f"expected `{prefix}` at `{self.rest}`")

    def kebab(self, s: str) -> str:
        if not is_kebab(s):
            raise NameError_(f"`{s}` is not in kebab case")
        return s

    def take_until(self, c: str) -> str:
        i = self.rest.find(c)
        if i < 0:
            raise NameError_(f"failed to find `{c}` character")
        out = self.rest[:i]
        self.rest = self.rest[i + 1:]
        return out

    def take_up_to(self, c: str) -> str:
        i = self.rest.find(c)
        if i < 0:
            raise NameError_(f"failed to find `{c}` character")
        out = self.rest[:i]
        self.rest = self.rest[i:]
        return out

    def expect_kebab(self) -> str:
        s, self.rest = self.rest, ""
        return self.kebab(s)

    def take_kebab(self) -> str:
        m = re.match(r"[A-Za-z0-9-]*", self.rest)
        assert m is not None
        if m.end() == len(self.rest):
            return self.expect_kebab()
        s = self.rest[:m.end()]
        self.rest = self.rest[m.end():]
        return self.kebab(s)

    def take_lowercase_kebab(self) -> str:
        k = self.take_kebab()
        for c in k:
            if c.isalpha() and not c.islower():
                raise NameError_(f"character `{c}` is not lowercase in package name/namespace")
        return k

    def parse(self) -> Name:
        if self.eat("[constructor]"):
            r = self.expect_kebab()
            return Name(self.s, "constructor", r)
        for kind in ("method", "static"):
            if self.eat(f"[{kind}]"):
                resource = self.kebab(self.take_until("."))
                func = self.expect_kebab()
                return Name(self.s, kind, resource, func)
        if self.eat("unlocked-dep="):
            self.expect("<")
            self.take_up_to(">")
            self.expect(">")
            return Name(self.s, "dependency")
        if self.eat("locked-dep="):
            self.expect("<")
            self.take_up_to(">")
            self.expect(">")
            return Name(self.s, "dependency")
        if self.eat("url="):
            self.expect("<")
            url = self.take_up_to(">")
            if "<" in url:
                raise NameError_("url cannot contain `<`")
            self.expect(">")
            return Name(self.s, "url")
        if self.eat("integrity="):
            self.expect("<")
            self.take_up_to(">")
            self.expect(">")
            return Name(self.s, "hash")
        if ":" in self.rest:
            self.pkg_name()
            return Name(self.s, "interface")
        return Name(self.s, "label", item=self.expect_kebab())

    def pkg_name(self) -> None:
        self.take_lowercase_kebab()
        self.expect(":")
        self.take_lowercase_kebab()
        if self.rest.startswith("/"):
            self.expect("/")
            self.take_kebab()
        else:
            raise NameError_("expected `/` after package name")
        if self.eat("@"):
            self.rest = ""  # the version is checked with its versionsuffix, later


def interface_version(raw: str) -> str | None:
    """The ``@version`` part of an interface name, if any."""
    i = raw.find("@")
    return None if i < 0 else raw[i + 1:]


_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z"
)


def is_semver(s: str) -> bool:
    return _SEMVER.match(s) is not None


def unique_key(name: Name) -> tuple[str, ...]:
    """The key under which two names of one scope must differ (strong uniqueness)."""
    low = name.raw.lower()
    if name.kind == "label":
        return ("label", low)
    if name.kind == "constructor":
        return ("constructor", name.resource.lower())
    if name.kind in ("method", "static"):
        r, f = name.resource.lower(), name.item.lower()
        if r == f:
            return ("label", r)
        return ("method", r, f)
    return (name.kind, low)


# ---------------------------------------------------------------- semantic versions
def check_semver(s: str) -> None:
    """Raise NameError_ unless ``s`` is a valid semver (with the semver crate's words)."""
    if not s:
        raise NameError_("empty string, expected a semver version")
    pos = 0
    n = len(s)

    def number(what: str) -> None:
        nonlocal pos
        if pos >= n:
            raise NameError_(f"unexpected end of input while parsing {what}")
        c = s[pos]
        if not c.isdigit():
            raise NameError_(f"unexpected character {c!r} while parsing {what}")
        start = pos
        while pos < n and s[pos].isdigit():
            pos += 1
        if s[start] == "0" and pos - start > 1:
            raise NameError_(f"invalid leading zero in {what}")

    def dot(what: str) -> None:
        nonlocal pos
        if pos >= n:
            raise NameError_(f"unexpected end of input while parsing {what}")
        if s[pos] != ".":
            raise NameError_(f"unexpected character {s[pos]!r} after {what}")
        pos += 1

    number("major version number")
    dot("major version number")
    number("minor version number")
    dot("minor version number")
    number("patch version number")
    for lead, what in (("-", "pre-release identifier"), ("+", "build metadata")):
        if pos < n and s[pos] == lead:
            pos += 1
            while True:
                start = pos
                while pos < n and (s[pos].isalnum() or s[pos] == "-"):
                    pos += 1
                if pos == start:
                    raise NameError_(f"empty identifier segment in {what}")
                if pos < n and s[pos] == ".":
                    pos += 1
                    continue
                break
    if pos < n:
        raise NameError_(f"unexpected character {s[pos]!r} after patch version number")
