"""One-line descriptions of script commands, for failure reports."""

from __future__ import annotations

from ..text.wast import (
    ActionCommand,
    AssertException,
    AssertExhaustion,
    AssertInvalid,
    AssertMalformed,
    AssertReturn,
    AssertTrap,
    AssertUninstantiable,
    AssertUnlinkable,
    Command,
    Get,
    Invoke,
    ModuleCommand,
    ModuleInstance,
    Register,
)

_NAMES = {
    AssertReturn: "assert_return",
    AssertTrap: "assert_trap",
    AssertExhaustion: "assert_exhaustion",
    AssertException: "assert_exception",
    AssertMalformed: "assert_malformed",
    AssertInvalid: "assert_invalid",
    AssertUnlinkable: "assert_unlinkable",
    AssertUninstantiable: "assert_uninstantiable",
}


def _action(a: Invoke | Get) -> str:
    mod = f"{a.module} " if a.module else ""
    return f"({'invoke' if isinstance(a, Invoke) else 'get'} {mod}{a.name!r})"


def _module(m: ModuleCommand) -> str:
    parts = ["module"]
    if m.definition:
        parts.append("definition")
    if m.name:
        parts.append(m.name)
    if m.kind != "text":
        parts.append(m.kind)
    return f"({' '.join(parts)})"


def describe(cmd: Command) -> str:
    """E.g. ``assert_return (invoke "add")`` or ``assert_invalid (module binary)``."""
    if isinstance(cmd, ModuleCommand):
        return _module(cmd)
    if isinstance(cmd, ModuleInstance):
        return f"(module instance {cmd.instance or ''} {cmd.module or ''})".replace("  ", " ")
    if isinstance(cmd, Register):
        return f"register {cmd.as_name!r}" + (f" {cmd.module}" if cmd.module else "")
    if isinstance(cmd, ActionCommand):
        return _action(cmd.action)[1:-1]
    name = _NAMES.get(type(cmd), type(cmd).__name__)
    action = getattr(cmd, "action", None)
    if action is not None:
        return f"{name} {_action(action)}"
    module = getattr(cmd, "module", None)
    return f"{name} {_module(module)}" if module is not None else name
