"""Components for ABI tests: *forwarders* that pass a value of any type through
their linear memory.

``forwarder(shape, enc)`` is a component that imports an instance ``host`` with
``echo: func(x: T) -> T`` and exports its own ``echo``: a core function that calls
the lowered import with the very same flat values (and a return buffer when the
result spills) and returns what it got. So ``echo`` lowers its argument into the
forwarder's memory, lifts it again for the import, lowers the import's result back
and lifts it for the caller: every lift and lower of ``T`` in both directions.
``chain(shape, enc_a, enc_b)`` links two forwarders inside one component (the
component-to-component path, transcoding strings between the encodings).

Types are given as shapes (nanoproc.internal.exec.component.shapes): record,
variant, enum and flags types are exported under names t0, t1, ... as the component
model requires of types in imports and exports.
"""

from __future__ import annotations

from typing import Any

from nanoproc.internal.exec.component.shapes import flatten, flatten_all

LIBC = """
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 8192))
    (func (export "realloc") (param $old i32) (param $osize i32) (param $align i32)
                             (param $nsize i32) (result i32)
      (local $r i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0))
                   (i32.le_u (local.get $nsize) (local.get $osize)))
        (then (return (local.get $old))))
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $r) (local.get $nsize)))
      (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.const 4)))))
      (if (i32.ne (local.get $old) (i32.const 0))
        (then (memory.copy (local.get $r) (local.get $old) (local.get $osize))))
      (local.get $r)))
  (core instance $libc (instantiate $libc))
"""


class TypeText:
    """Renders a shape as component type text, naming nominal types t0, t1, ..."""

    def __init__(self) -> None:
        self.decls: list[str] = []
        self.names: list[str] = []

    def render(self, s: Any) -> str:
        if isinstance(s, str):
            return s
        k = s[0]
        if k == "record":
            body = " ".join(f'(field "{n}" {self.render(t)})' for n, t in s[1])
            return self.named(f"(record {body})")
        if k == "variant":
            body = " ".join(f'(case "{n}"' + (f" {self.render(t)})" if t is not None else ")")
                            for n, t in s[1])  # fmt: skip
            return self.named(f"(variant {body})")
        if k == "enum":
            return self.named("(enum " + " ".join(f'"{x}"' for x in s[1]) + ")")
        if k == "flags":
            return self.named("(flags " + " ".join(f'"{x}"' for x in s[1]) + ")")
        if k == "list":
            n = "" if s[2] is None else f" {s[2]}"
            return f"(list {self.render(s[1])}{n})"
        if k == "tuple":
            return "(tuple " + " ".join(self.render(t) for t in s[1]) + ")"
        if k == "option":
            return f"(option {self.render(s[1])})"
        if k == "result":
            ok = "" if s[1] is None else f" {self.render(s[1])}"
            err = "" if s[2] is None else f" (error {self.render(s[2])})"
            return f"(result{ok}{err})"
        if k == "map":
            return f"(map {self.render(s[1])} {self.render(s[2])})"
        raise ValueError(s)

    def named(self, definition: str) -> str:
        i = len(self.names)
        self.decls.append(f'(type $d{i} {definition}) (export "t{i}" (type $t{i} (eq $d{i})))')
        self.names.append(f"t{i}")
        return f"$t{i}"


def instance_type(shape: Any) -> tuple[str, list[str]]:
    """The text of ``host``'s instance type for ``shape``, and its type names."""
    tt = TypeText()
    t = tt.render(shape)
    body = " ".join(tt.decls) + f' (export "echo" (func (param "x" {t}) (result {t})))'
    return f"(instance {body})", tt.names


def core_sigs(shape: Any) -> tuple[list[str], list[str], bool]:
    """(params of the lifted core function, its results, whether the result spills)."""
    params = flatten_all([shape])
    if len(params) > 16:
        params = ["i32"]
    results = flatten(shape)
    spill = len(results) > 1
    return params, (["i32"] if spill else results), spill


def forwarder_body(shape: Any, enc: str) -> str:
    """The definitions of a forwarder (imports ``host``, exports ``echo``)."""
    inst, names = instance_type(shape)
    params, results, spill = core_sigs(shape)
    ps = " ".join(params)
    lower_params = ps + (" i32" if spill else "")
    lower_results = "" if spill else " ".join(results)
    args = " ".join(f"(local.get {i})" for i in range(len(params)))
    if spill:
        body = f"(call $e {args} (i32.const 16)) (i32.const 16)"
    else:
        body = f"(call $e {args})"
    aliases = " ".join(f'(alias export $h "{n}" (type ${n}))' for n in names)
    t = TypeText().render(shape)  # names nominal types as instance_type did: t0, t1, ...
    opts = (f'(memory (core memory $libc "mem")) (realloc (core func $libc "realloc")) '
            f"string-encoding={enc}")  # fmt: skip
    return f"""
  (import "host" {inst})
  (alias export $h "echo" (func $echo))
  {aliases}
  {LIBC}
  (core func $echo' (canon lower (func $echo) {opts}))
  (core module $fwd
    (import "" "echo" (func $e (param {lower_params}) (result {lower_results})))
    (func (export "f") (param {ps}) (result {" ".join(results)}) {body}))
  (core instance $fwd (instantiate $fwd (with "" (instance (export "echo" (func $echo'))))))
  (func (export "echo") (param "x" {t}) (result {t})
    (canon lift (core func $fwd "f") {opts}))
""".replace('(import "host" (instance', '(import "host" (instance $h', 1)


def forwarder(shape: Any, enc: str = "utf8") -> str:
    return f"(component {forwarder_body(shape, enc)})"


def chain(shape: Any, enc_a: str = "utf8", enc_b: str = "utf16") -> str:
    """Forwarder B importing forwarder A's echo, A importing the host's."""
    inst, names = instance_type(shape)
    aliases = " ".join(f'(alias export $h "{n}" (type ${n}))' for n in names)
    bag = " ".join(f'(export "{n}" (type ${n}))' for n in names)
    return f"""(component
  (import "host" {inst.replace("(instance", "(instance $h", 1)})
  {aliases}
  (component $A {forwarder_body(shape, enc_a)})
  (component $B {forwarder_body(shape, enc_b)})
  (instance $a (instantiate $A (with "host" (instance $h))))
  (instance $b (instantiate $B (with "host" (instance {bag} (export "echo" (func $a "echo"))))))
  (export "echo" (func $b "echo")))"""
