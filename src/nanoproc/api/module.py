"""``Module``: a decoded, validated and tier-prepared WebAssembly module.

Compiling is decode -> feature check -> validate -> the tier's ``prepare``; the
result (an ``exec.compiled.CompiledModule``) is shared by every instance.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..internal.errors import WasmtimeError
from ..internal.exec.compiled import CompiledModule
from ..internal.syntax import types as T
from ..internal.syntax.module import Import
from ..internal.syntax.module import Module as SyntaxModule
from .argcheck import expect
from .artifact import read_artifact, write_artifact
from .engine import Engine
from .features import check_features
from .managed import Closable
from .types import (
    AsExternType,
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    MemoryType,
    TableType,
    TagType,
    functype_of_canon,
)
from .wat import to_wasm_bytes


def compile_binary(engine: Engine, wasm: bytes) -> CompiledModule:
    """Decode, check and validate ``wasm``, and let the engine's tier prepare it."""
    from ..internal.binary import decode_module
    from ..internal.valid import validate_module

    module = decode_module(wasm)
    check_features(module, engine.features)
    # The verdict is cached with the compiled code: code in the compile cache was
    # made from these very bytes after they validated, so the bodies (the costly
    # part, and what lazy decoding would otherwise decode) need no second check.
    known_valid = getattr(engine.backend, "has_cached_code", None)
    bodies = known_valid is None or not known_valid(wasm)
    types = validate_module(module, bodies=bodies)
    compiled = CompiledModule(module, types)
    compiled.binary = wasm
    backend = engine.backend
    artifact = backend.prepare(compiled)
    if artifact is not None:
        compiled.artifacts.setdefault(backend.name, artifact)
    return compiled


def _artifact_tier(engine: Engine) -> str:
    """The tier named in artifacts: a tiered engine's code is the llvm tier's."""
    return "llvm" if engine.tier == "tiered" else engine.tier


class Module(Closable):
    """A compiled module, ready to be instantiated in stores of its engine.

    ``wasm`` is a binary module (bytes, bytearray, memoryview) or module text (str,
    or bytes not starting with NUL), as in wasmtime-py.
    """

    def __init__(self, engine: Engine, wasm: str | bytes | bytearray | memoryview) -> None:
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        engine._check_open()
        data = to_wasm_bytes(wasm)
        compiled = compile_binary(engine, data)
        # A compiling tier does its work here, as wasmtime does (deserialize skips it).
        precompile = getattr(engine.backend, "precompile", None)
        if precompile is not None:
            precompile(compiled)
        self._setup(engine, data, compiled)

    def _setup(self, engine: Engine, wasm: bytes, compiled: CompiledModule) -> None:
        self._closed = False
        self.engine = engine
        self._wasm = wasm
        self._compiled = compiled
        self._imports: tuple[ImportType, ...] | None = None
        self._exports: tuple[ExportType, ...] | None = None

    @classmethod
    def _of_binary(cls, engine: Engine, wasm: bytes) -> Module:
        m = cls.__new__(cls)
        m._setup(engine, wasm, compile_binary(engine, wasm))
        return m

    @classmethod
    def from_file(cls, engine: Engine, path: str | bytes | os.PathLike[Any]) -> Module:
        """Compile the module in file ``path`` (binary or text)."""
        with open(path, "rb") as f:
            contents = f.read()
        return cls(engine, contents)

    @classmethod
    def validate(cls, engine: Engine, wasm: bytes | bytearray) -> None:
        """Raise WasmtimeError unless ``wasm`` is a valid binary module for ``engine``."""
        if not isinstance(wasm, (bytes, bytearray)):
            raise TypeError("expected wasm bytes")
        expect(engine, Engine, "an Engine")
        from ..internal.binary import decode_module
        from ..internal.valid import validate_module

        data = bytes(wasm)
        module = decode_module(data)
        check_features(module, engine.features)
        validate_module(module, release=True, wasm=data)

    # ------------------------------------------------------------ serialization
    def serialize(self) -> bytearray:
        """This module as a nanoproc artifact for ``Module.deserialize``."""
        self._check_open()
        serialize_code = getattr(self.engine.backend, "serialize_code", None)
        code = serialize_code(self._compiled) if serialize_code is not None else None
        return write_artifact(_artifact_tier(self.engine), self._wasm, code,
                              self.engine._settings.artifact_key)

    @classmethod
    def deserialize(cls, engine: Engine, encoded: bytes | bytearray) -> Module:
        """A module from ``Module.serialize()`` output of this nanoproc version and
        tier; WasmtimeError for anything else. Its digest is checked before any
        other byte is used (and its MAC, if the engine has an ``artifact_key``)."""
        if not isinstance(encoded, (bytes, bytearray)):
            raise TypeError("expected bytes")
        expect(engine, Engine, "an Engine")
        artifact = read_artifact(bytes(encoded), _artifact_tier(engine),
                                 engine._settings.artifact_key)
        module = cls._of_binary(engine, artifact.wasm)
        if artifact.code is not None:
            load = getattr(engine.backend, "load_serialized", None)
            if load is None:
                raise WasmtimeError(f"the {engine.tier} tier cannot load compiled code")
            load(module._compiled, artifact.code)
        return module

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str) -> Module:
        """``Module.deserialize`` of the contents of file ``path``."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise WasmtimeError(f"failed to read serialized module `{path}`: {e}") from None
        try:
            return cls.deserialize(engine, data)
        except WasmtimeError as e:
            if type(e) is not WasmtimeError:
                raise
            raise WasmtimeError(f"{path}: {e}") from None

    # ------------------------------------------------------------ introspection
    @property
    def name(self) -> str | None:
        """The module's name from its ``name`` section, if any."""
        return self._compiled.name

    def custom_sections(self, name: str) -> list[bytes]:
        """The contents of every custom section called ``name``, in order."""
        return [bytes(c.data) for c in self._compiled.module.customs if c.name == name]

    @property
    def imports(self) -> list[ImportType]:
        """The module's imports, in order."""
        if self._imports is None:
            cm = self._compiled
            self._imports = tuple(
                ImportType(imp.module, imp.name, _import_type(cm, imp)) for imp in cm.module.imports
            )
        return list(self._imports)

    @property
    def exports(self) -> list[ExportType]:
        """The module's exports, in order."""
        if self._exports is None:
            cm = self._compiled
            spaces = _IndexSpaces(cm.module)
            self._exports = tuple(
                ExportType(e.name, _export_type(cm, spaces, e.kind, e.index))
                for e in cm.module.exports
            )
        return list(self._exports)

    def __repr__(self) -> str:
        return f"<Module {self.name or ''}>".replace(" >", ">")


def _closed(cm: CompiledModule, t: T.ValType) -> T.ValType:
    if isinstance(t, T.RefType) and isinstance(t.heap, int):
        return T.RefType(t.nullable, cm.canon(t.heap))
    return t


def _table_type(cm: CompiledModule, t: T.TableType) -> TableType:
    elem = _closed(cm, t.elem)
    assert isinstance(elem, T.RefType)
    return TableType._of(T.TableType(elem, t.limits))


def _global_type(cm: CompiledModule, t: T.GlobalType) -> GlobalType:
    return GlobalType._of(T.GlobalType(_closed(cm, t.type), t.mutable))


def _func_type(cm: CompiledModule, typeidx: int) -> FuncType:
    return functype_of_canon(cm.canon(typeidx))


def _import_type(cm: CompiledModule, imp: Import) -> AsExternType:
    desc = imp.desc
    if imp.kind == "func":
        assert isinstance(desc, int)
        return _func_type(cm, desc)
    if isinstance(desc, T.TableType):
        return _table_type(cm, desc)
    if isinstance(desc, T.MemType):
        return MemoryType._of(desc)
    if isinstance(desc, T.GlobalType):
        return _global_type(cm, desc)
    assert isinstance(desc, T.TagType)
    return TagType(_func_type(cm, desc.typeidx))


class _IndexSpaces:
    """The module's index spaces, each built on first use (once per ``exports``, not
    once per export: building one walks all imports and definitions)."""

    def __init__(self, module: SyntaxModule) -> None:
        self.module = module
        self.built: dict[str, list[Any]] = {}
        self.functypes: dict[int, FuncType] = {}
        """Type index -> its FuncType (many exports share a type)."""

    def functype(self, cm: CompiledModule, typeidx: int) -> FuncType:
        ft = self.functypes.get(typeidx)
        if ft is None:
            ft = self.functypes[typeidx] = _func_type(cm, typeidx)
        return ft

    def get(self, kind: str) -> list[Any]:
        space = self.built.get(kind)
        if space is None:
            mod = self.module
            build: dict[str, Callable[[], list[Any]]] = {
                "func": mod.func_typeidxs, "table": mod.table_types, "memory": mod.memory_types,
                "global": mod.global_types, "tag": mod.tag_types,
            }  # fmt: skip
            space = self.built[kind] = build[kind]()
        return space


def _export_type(cm: CompiledModule, spaces: _IndexSpaces, kind: str, index: int) -> AsExternType:
    if kind == "func":
        return spaces.functype(cm, spaces.get("func")[index])
    if kind == "table":
        return _table_type(cm, spaces.get("table")[index])
    if kind == "memory":
        return MemoryType._of(spaces.get("memory")[index])
    if kind == "global":
        return _global_type(cm, spaces.get("global")[index])
    return TagType(_func_type(cm, spaces.get("tag")[index].typeidx))
