"""``Component``: a decoded, validated component with its core modules compiled."""

from __future__ import annotations

import os
from typing import Any

from ...internal.errors import UnsupportedFeature, WasmtimeError
from ...internal.exec.compiled import CompiledModule
from ...internal.exec.component.instantiate import Plan
from ...internal.syntax import component as C
from ..engine import Engine
from ..features import check_features
from ..managed import Closable
from .types import ComponentType, TypeView


def component_bytes(wasm: Any) -> bytes:
    """The binary of ``Component``'s ``wasm`` argument: a binary component, or
    component text (a ``str``, or ``bytes`` not starting with NUL)."""
    if isinstance(wasm, (bytearray, memoryview)):
        return bytes(wasm)
    if isinstance(wasm, bytes):
        if wasm[:1] == b"\0" or not wasm:
            return wasm
        try:
            wasm = wasm.decode("utf-8")
        except UnicodeDecodeError as e:
            raise WasmtimeError(f"input is not valid UTF-8: {e}") from None
    if isinstance(wasm, str):
        from ...internal.binary.component_encode import encode_component
        from ...internal.text.component_wat import parse_component_text

        return encode_component(parse_component_text(wasm))
    raise TypeError("expected wasm bytes or component text")


def compile_component(engine: Engine, wasm: bytes) -> Plan:
    """Decode and validate ``wasm``; compile its core modules for ``engine``'s tier."""
    from ...internal.binary.component_decode import decode_component, is_component
    from ...internal.valid.component import validate_component

    if not is_component(wasm):
        if wasm[:4] == b"\0asm":
            raise WasmtimeError("expected a component, found a core module (use Module)")
        raise WasmtimeError("not a component: no \\0asm header")
    comp = decode_component(wasm)
    info = validate_component(comp)
    backend = engine.backend

    def compile_module(d: C.CoreModuleDef, module_types: Any) -> CompiledModule:
        from ...internal.binary.encode import encode_module

        check_features(d.module, engine.features)
        compiled = CompiledModule(d.module, module_types)
        compiled.binary = d.binary if d.binary is not None else encode_module(d.module)
        artifact = backend.prepare(compiled)
        if artifact is not None:
            compiled.artifacts.setdefault(backend.name, artifact)
        precompile = getattr(backend, "precompile", None)
        if precompile is not None:
            precompile(compiled)
        return compiled

    return Plan(comp, info, compile_module)


class ExportIndex:
    """Where an export is: a path of export names from the component's root."""

    __slots__ = ("_path", "_kind")

    _path: tuple[str, ...]
    _kind: str

    def __init__(self) -> None:
        raise WasmtimeError("Cannot directly construct an `ExportIndex`")

    @classmethod
    def _of(cls, path: tuple[str, ...], kind: str) -> ExportIndex:
        e = object.__new__(cls)
        e._path = path
        e._kind = kind
        return e

    def __repr__(self) -> str:
        return f"<ExportIndex {'/'.join(self._path)} ({self._kind})>"


class Component(Closable):
    """A compiled component, ready to be instantiated by a component ``Linker``.

    ``wasm`` is a binary component (bytes, bytearray) or component text (``str``,
    or bytes not starting with NUL), as in wasmtime-py.
    """

    def __init__(self, engine: Engine, wasm: str | bytes | bytearray) -> None:
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        engine._check_open()
        data = component_bytes(wasm)
        self._closed = False
        self.engine = engine
        self._wasm = data
        self._plan = compile_component(engine, data)

    @classmethod
    def from_file(cls, engine: Engine, path: str | bytes | os.PathLike[Any]) -> Component:
        with open(path, "rb") as f:
            return cls(engine, f.read())

    @classmethod
    def validate(cls, engine: Engine, wasm: bytes | bytearray) -> None:
        """Raise WasmtimeError unless ``wasm`` is a valid binary component."""
        from ...internal.binary.component_decode import decode_component
        from ...internal.valid.component import validate_component

        validate_component(decode_component(bytes(wasm)))

    def serialize(self) -> bytearray:
        raise UnsupportedFeature("serializing components", "keep the component's binary instead")

    @classmethod
    def deserialize(cls, engine: Engine, encoded: bytes | bytearray) -> Component:
        raise UnsupportedFeature("deserializing components")

    @property
    def type(self) -> ComponentType:
        """The component's imports and exports with their types."""
        self._check_open()
        ct = self._plan.info.type
        view = TypeView()
        return ComponentType({n: view.entity(it.ty) for n, it in ct.imports.items()},
                             {n: view.entity(it.ty) for n, it in ct.exports.items()})  # fmt: skip

    def get_export_index(self, name: str, instance: ExportIndex | None = None) -> ExportIndex | None:
        """The index of export ``name`` (of the export ``instance`` if given)."""
        self._check_open()
        exports = self._plan.info.type.exports
        path: tuple[str, ...] = ()
        if instance is not None:
            for p in instance._path:
                it = exports.get(p)
                if it is None or it.ty.kind != "instance":
                    return None
                exports = it.ty.a.data.exports
            path = instance._path
        it = exports.get(name)
        if it is None:
            return None
        return ExportIndex._of((*path, name), it.ty.kind)

    def __repr__(self) -> str:
        return f"<Component {self._plan.comp.id or ''}>".replace(" >", ">")
