"""Run .wast scripts against a wasmtime-py-shaped API module.

The runner drives an engine only through its public API (``api`` is ``nanoproc``
by default, or ``wasmtime``), so the same scripts check nanoproc and, as a control,
wasmtime-py. Each command passes, fails (with file:line and why) or is skipped when
the engine reports its feature as unsupported ("not supported yet: <feature>");
commands that need a skipped module are skipped too. A command can never stop the
runner: any exception is a failure of that command, and a time limit bounds the file.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import WasmtimeError as InternalError
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
    parse_wast,
)
from .describe import describe
from .messages import message_matches
from .modules import TextRejected, decode_error, module_bytes
from .outcomes import Broken, Fail, Skip, Skipped, Timeout, unsupported_feature
from .report import FileResult
from .spectest import define_spectest
from .timelimit import time_limit
from .values import ApiLimit, results_mismatch, to_api

FEATURES = (
    "wasm_reference_types",
    "wasm_bulk_memory",
    "wasm_multi_value",
    "wasm_simd",
    "wasm_relaxed_simd",
    "wasm_tail_call",
    "wasm_multi_memory",
    "wasm_memory64",
    "wasm_function_references",
    "wasm_gc",
    "wasm_exceptions",
)
"""Config switches for Wasm 3.0 features, turned on where the API has them."""


def make_engine(api: ModuleType, strategy: str | None = None) -> Any:
    """An engine with every Wasm 3.0 feature on and, if given, the execution strategy."""
    config = api.Config()
    for name in FEATURES:
        try:
            setattr(config, name, True)
        except Exception:  # noqa: BLE001 - an API without the switch has the feature on or never
            pass
    if strategy is not None:
        config.strategy = strategy
    return api.Engine(config)


class ScriptRunner:
    """Executes the commands of one script in one store, recording outcomes in ``result``."""

    def __init__(self, api: ModuleType, engine: Any, result: FileResult, *,
                 check_phase: bool = True, malformed_messages: bool = False) -> None:
        self.api = api
        self.engine = engine
        self.result = result
        self.check_phase = check_phase
        self.malformed_messages = malformed_messages
        self.store = api.Store(engine)
        self.linker = api.Linker(engine)
        self.linker.allow_shadowing = True
        define_spectest(api, self.linker, self.store)
        self.modules: dict[str | None, Any] = {}
        """Compiled modules (or Skipped) by script name; None is the latest one."""
        self.instances: dict[str | None, Any] = {}
        """Instances (or Skipped) by script name; None is the current one."""
        self._components: Any = None

    # ------------------------------------------------------------ driving
    def step(self, cmd: Command) -> None:
        """Run one command and count its outcome."""
        try:
            self.execute(cmd)
        except Skip as s:
            self.result.skip(s.feature)
        except Fail as f:
            self.result.fail(cmd.line, describe(cmd), str(f))
        except ApiLimit as e:
            self.result.fail(cmd.line, describe(cmd), f"API limitation: {e}")
        except Exception as e:  # a bug below the runner: report, go on
            self.result.fail(cmd.line, describe(cmd), f"unexpected {_exc(e)}")
        else:
            self.result.passed += 1

    def components(self) -> Any:
        """The component half of the runner (script/components.py), made on first use."""
        if self._components is None:
            from .components import ComponentScript

            self._components = ComponentScript(self)
        return self._components

    def execute(self, cmd: Command) -> None:
        module = cmd if isinstance(cmd, ModuleCommand) else getattr(cmd, "module", None)
        if isinstance(module, ModuleCommand) and module.component:
            self.execute_component(cmd)
        elif isinstance(cmd, ModuleCommand):
            self.define(cmd)
        elif isinstance(cmd, ModuleInstance):
            self.instantiate_definition(cmd)
        elif isinstance(cmd, Register):
            inst = self.instance(cmd.module)
            self.linker.define_instance(self.store, cmd.as_name, inst)
        elif isinstance(cmd, ActionCommand):
            self.guarded(cmd.action)
        elif isinstance(cmd, AssertReturn):
            got = self.guarded(cmd.action)
            if isinstance(self.instances.get(cmd.action.module), Component):
                why = self.component_results_mismatch(got, cmd.results)
            else:
                why = results_mismatch(got, cmd.results, self.api)
            if why is not None:
                raise Fail(why)
        elif isinstance(cmd, AssertTrap) and cmd.action is not None:
            self.expect_trap(cmd.action, cmd.message)
        elif isinstance(cmd, AssertExhaustion):
            self.expect_trap(cmd.action, cmd.message)
        elif isinstance(cmd, AssertException):
            self.expect_exception(cmd.action)
        elif isinstance(cmd, (AssertTrap, AssertUninstantiable)):
            assert cmd.module is not None
            self.expect_instantiation_failure(cmd.module, cmd.message, trap=True)
        elif isinstance(cmd, AssertUnlinkable):
            self.expect_instantiation_failure(cmd.module, cmd.message, trap=False)
        elif isinstance(cmd, AssertMalformed):
            self.expect_rejected(cmd.module, cmd.message, malformed=True)
        elif isinstance(cmd, AssertInvalid):
            self.expect_rejected(cmd.module, cmd.message, malformed=False)
        else:
            raise Fail(f"unknown command {type(cmd).__name__}")

    def execute_component(self, cmd: Command) -> None:
        """Commands whose module is a component (``(component ...)``)."""
        comps = self.components()
        if isinstance(cmd, ModuleCommand):
            try:
                comp = Component(comps.compile(cmd))
            except Exception as e:
                mark = Skipped(e.feature) if isinstance(e, Skip) else Broken(cmd.line)
                self._bind(cmd.name, mark, instance=False)
                self._bind(cmd.name, mark, instance=not cmd.definition)
                raise
            self._bind(cmd.name, comp, instance=False)
            if cmd.definition:
                return
            try:
                inst = Component(comps.instantiate(comp.value))
            except Exception as e:
                mark = Skipped(e.feature) if isinstance(e, Skip) else Broken(cmd.line)
                self._bind(cmd.name, mark, instance=True)
                raise
            self._bind(cmd.name, inst, instance=True)
        elif isinstance(cmd, AssertTrap | AssertUninstantiable | AssertUnlinkable):
            assert cmd.module is not None
            comps.expect_instantiation_failure(cmd.module, cmd.message,
                                               trap=not isinstance(cmd, AssertUnlinkable))
        elif isinstance(cmd, AssertMalformed | AssertInvalid):
            comps.expect_rejected(cmd.module, cmd.message,
                                  malformed=isinstance(cmd, AssertMalformed))
        else:
            raise Fail(f"unknown component command {type(cmd).__name__}")

    def instantiate_component_definition(self, cmd: ModuleInstance) -> None:
        comp = self.modules.get(cmd.module)
        if isinstance(comp, (Skipped, Broken)):
            self._bind(cmd.instance, comp, instance=True)
        try:
            comp = self._usable(comp, f"component {cmd.module or '(latest)'}")
            if not isinstance(comp, Component):
                raise Fail(f"{cmd.module or '(latest)'} is a module, not a component")
            inst = Component(self.components().instantiate(comp.value))
        except Skip:
            raise
        except Exception:
            self._bind(cmd.instance, Broken(cmd.line), instance=True)
            raise
        self._bind(cmd.instance, inst, instance=True)

    def component_results_mismatch(self, got: list[Any], expected: tuple[Any, ...]) -> str | None:
        if len(got) != len(expected):
            return f"expected {len(expected)} results, got {len(got)}"
        comps = self.components()
        for (value, ty), want in zip(got, expected, strict=True):
            why = comps.mismatch(want, value, ty)
            if why is not None:
                return why
        return None

    # ------------------------------------------------------------ errors from the API
    def classify(self, e: BaseException) -> tuple[str, str]:
        """(kind, message) of an exception from the API: kind is trap, error or python.

        Raises Skip for an unsupported feature.
        """
        msg = str(e)
        if isinstance(e, self.api.Trap):
            return "trap", msg
        if isinstance(e, (self.api.WasmtimeError, InternalError)):
            feature = unsupported_feature(msg)
            if feature is not None:
                raise Skip(feature) from None
            return "error", msg
        return "python", _exc(e)

    def call_api(self, fn: Any, *args: Any) -> Any:
        """Call the API; its Traps and WasmtimeErrors propagate, unsupported -> Skip,
        anything else is an API bug -> Fail."""
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            if kind == "python":
                raise Fail(f"API raised {msg}") from None
            raise

    # ------------------------------------------------------------ modules
    def compile(self, cmd: ModuleCommand) -> Any:
        try:
            data = module_bytes(cmd)
        except TextRejected as e:
            raise Fail(f"text parser rejected module: {e}") from None
        try:
            return self.call_api(self.api.Module, self.engine, as_binary(data))
        except (Skip, Fail):
            raise
        except Exception as e:  # noqa: BLE001 - Trap or WasmtimeError
            raise Fail(f"module rejected: {self.classify(e)[1]}") from None

    def instantiate(self, module: Any) -> Any:
        try:
            return self.call_api(self.linker.instantiate, self.store, module)
        except (Skip, Fail):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            raise Fail(f"instantiation failed ({kind}): {msg}") from None

    def define(self, cmd: ModuleCommand) -> None:
        """``(module ...)``: compile, and unless it is a definition, instantiate."""
        try:
            module = self.compile(cmd)
        except Exception as e:
            mark = Skipped(e.feature) if isinstance(e, Skip) else Broken(cmd.line)
            self._bind(cmd.name, mark, instance=False)
            self._bind(cmd.name, mark, instance=not cmd.definition)
            raise
        self._bind(cmd.name, module, instance=False)
        if cmd.definition:
            return
        try:
            inst = self.instantiate(module)
        except Exception as e:
            mark = Skipped(e.feature) if isinstance(e, Skip) else Broken(cmd.line)
            self._bind(cmd.name, mark, instance=True)
            raise
        self._bind(cmd.name, inst, instance=True)

    def _bind(self, name: str | None, value: Any, *, instance: bool) -> None:
        table = self.instances if instance else self.modules
        table[None] = value
        if name is not None:
            table[name] = value

    def instantiate_definition(self, cmd: ModuleInstance) -> None:
        if cmd.component:
            self.instantiate_component_definition(cmd)
            return
        module = self.modules.get(cmd.module)
        if isinstance(module, (Skipped, Broken)):
            self._bind(cmd.instance, module, instance=True)
        try:
            module = self._usable(module, f"module {cmd.module or '(latest)'}")
            inst = self.instantiate(module)
        except Skip:
            raise
        except Exception:
            self._bind(cmd.instance, Broken(cmd.line), instance=True)
            raise
        self._bind(cmd.instance, inst, instance=True)

    def instance(self, name: str | None) -> Any:
        return self._usable(self.instances.get(name), f"instance {name or '(current)'}")

    @staticmethod
    def _usable(item: Any, what: str) -> Any:
        if isinstance(item, Skipped):
            raise Skip(item.feature)
        if isinstance(item, Broken):
            raise Fail(f"{what} failed to load at line {item.line}")
        if item is None:
            raise Fail(f"no {what}")
        return item

    # ------------------------------------------------------------ actions
    def perform(self, action: Invoke | Get) -> list[Any]:
        """Run an action; the API's Trap/WasmtimeError propagate. Returns the results."""
        inst = self.instance(action.module)
        if isinstance(inst, Component):
            return self.components().perform(inst.value, action)  # type: ignore[no-any-return]
        try:
            item = inst.exports(self.store)[action.name]
        except KeyError:
            raise Fail(f"no export {action.name!r}") from None
        if isinstance(action, Get):
            if not isinstance(item, self.api.Global):
                raise Fail(f"export {action.name!r} is not a global")
            return [self.call_api(item.value, self.store)]
        if not isinstance(item, self.api.Func):
            raise Fail(f"export {action.name!r} is not a function")
        args = [to_api(v, self.api) for v in action.args]
        count = len(self.call_api(item.type, self.store).results)
        out = self.call_api(item, self.store, *args)
        if count == 0:
            return []
        if count == 1:
            return [out]
        return list(out)

    def guarded(self, action: Invoke | Get) -> list[Any]:
        """Run an action that must complete normally."""
        try:
            return self.perform(action)
        except (Fail, Skip, ApiLimit):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            raise Fail(f"unexpected {kind}: {msg}") from None

    def expect_trap(self, action: Invoke | Get, expected: str) -> None:
        try:
            got = self.perform(action)
        except (Fail, Skip, ApiLimit):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            if kind != "trap":
                raise Fail(f"expected trap {expected!r}, got {kind}: {msg}") from None
            if not message_matches(expected, msg):
                raise Fail(f"expected trap {expected!r}, got trap: {msg}") from None
            return
        raise Fail(f"expected trap {expected!r}, returned {got!r}")

    def expect_exception(self, action: Invoke | Get) -> None:
        """An uncaught Wasm exception: a Trap or WasmtimeError (not a trap code) naming it."""
        try:
            got = self.perform(action)
        except (Fail, Skip, ApiLimit):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            code = getattr(e, "trap_code", None)
            if kind != "python" and code is None and "exception" in msg.lower():
                return
            raise Fail(f"expected an uncaught exception, got {kind}: {msg}") from None
        raise Fail(f"expected an uncaught exception, returned {got!r}")

    # ------------------------------------------------------------ module assertions
    def expect_instantiation_failure(self, cmd: ModuleCommand, expected: str, *, trap: bool) -> None:
        module = self.compile(cmd)
        try:
            inst = self.call_api(self.linker.instantiate, self.store, module)
        except (Fail, Skip):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            want = "trap" if trap else "error"
            if kind != want or not message_matches(expected, msg):
                raise Fail(f"expected {want} {expected!r}, got {kind}: {msg}") from None
            return
        del inst
        raise Fail(f"expected {'trap' if trap else 'link error'} {expected!r}, instantiated fine")

    def expect_rejected(self, cmd: ModuleCommand, expected: str, *, malformed: bool) -> None:
        """assert_malformed / assert_invalid: the API must reject the module, and
        nanoproc's decoder (or text parser) confirm which of the two it is.

        Like wasmtime's runner, messages are compared for invalid modules only, unless
        ``malformed_messages``: for malformed ones the spec's words come from the
        reference interpreter's own parser (e.g. "unknown operator" for any bad token).
        """
        want = "malformed" if malformed else "invalid"
        compare = not malformed or self.malformed_messages
        try:
            data = module_bytes(cmd)
        except TextRejected as e:
            if not malformed:
                raise Fail(f"expected invalid, text parser says malformed: {e}") from None
            if compare and not message_matches(expected, str(e)):
                raise Fail(f"expected malformed {expected!r}, text parser says: {e}") from None
            return
        if malformed and cmd.kind == "quote":
            raise Fail(f"expected malformed {expected!r}, text parser accepted it")
        try:
            self.call_api(self.api.Module, self.engine, as_binary(data))
        except (Fail, Skip):
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = self.classify(e)
            if kind != "error" or compare and not message_matches(expected, msg):
                raise Fail(f"expected {want} {expected!r}, got {kind}: {msg}") from None
        else:
            raise Fail(f"expected {want} {expected!r}, module compiled")
        if self.check_phase and cmd.kind == "binary":
            self._check_phase(data, expected, malformed)

    def _check_phase(self, data: bytes, expected: str, malformed: bool) -> None:
        why = decode_error(data)
        if malformed and why is None:
            raise Fail(f"expected malformed {expected!r}, nanoproc's decoder accepted it")
        if not malformed and why is not None:
            raise Fail(f"expected invalid {expected!r}, nanoproc's decoder says malformed: {why}")


class Component:
    """A script binding that holds a component or a component instance."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def as_binary(data: bytes) -> bytearray:
    """Binary for ``api.Module``: a wasmtime-py-shaped API reads ``bytes`` that do not
    start with NUL as text, but a ``bytearray`` always as a binary."""
    return bytearray(data)


def _exc(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


# ---------------------------------------------------------------- entry point


def run_wast(
    path: str | Path,
    api: ModuleType | None = None,
    *,
    strategy: str | None = None,
    timeout: float | None = 600.0,
    check_phase: bool = True,
    malformed_messages: bool = False,
    engine: Any = None,
) -> FileResult:
    """Run one .wast script against ``api`` (default: nanoproc) and count the outcomes.

    ``strategy`` picks nanoproc's execution tier (Config.strategy). ``check_phase``
    also checks with nanoproc's decoder that assert_malformed binaries are malformed
    and assert_invalid ones well-formed; ``malformed_messages`` compares the spec's
    message for malformed modules too. ``timeout`` bounds the whole file.
    """
    if api is None:
        import nanoproc as api
    p = Path(path)
    result = FileResult(str(path))
    start = time.monotonic()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        result.fail(0, "read", f"cannot read script: {e}")
        return result
    try:
        commands = parse_wast(text, filename=p.name)
    except InternalError as e:
        result.fail(0, "parse", f"script does not parse: {e}")
        return result
    except Exception as e:  # noqa: BLE001 - a bug in the script parser
        result.fail(0, "parse", f"script parser crashed: {_exc(e)}")
        return result
    done = 0
    try:
        with time_limit(timeout):
            if engine is None:
                engine = make_engine(api, strategy)
            runner = ScriptRunner(api, engine, result, check_phase=check_phase,
                                  malformed_messages=malformed_messages)
            for cmd in commands:
                runner.step(cmd)
                done += 1
    except Timeout:
        left = len(commands) - done
        line = commands[done].line if done < len(commands) else 0
        result.fail(line, describe(commands[done]) if left else "script",
                    f"timed out after {timeout:g}s; {left} commands not run", count=left or 1)
    except Exception as e:  # noqa: BLE001 - engine/store/spectest setup failed
        feature = unsupported_feature(str(e))
        if feature is not None:  # e.g. the chosen tier is not available here
            for _ in commands[done:]:
                result.skip(feature)
        else:
            result.fail(0, "setup", f"cannot set up the engine: {_exc(e)}",
                        count=len(commands) - done)
    result.seconds = time.monotonic() - start
    return result
