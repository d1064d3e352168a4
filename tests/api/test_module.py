"""Module: compiling text and binaries, validation, imports/exports, serialization."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc

EMPTY = b"\0asm\x01\0\0\0"


def test_smoke(api):
    api.Module(api.Engine(), "(module)")
    api.Module(api.Engine(), EMPTY)
    api.Module(api.Engine(), bytearray(EMPTY))
    api.Module(api.Engine(), b"(module)")  # bytes not starting with NUL are text


def test_invalid(api):
    with pytest.raises(AttributeError):
        api.Module.validate(1, b"")
    with pytest.raises(TypeError):
        api.Module.validate(api.Store(), 2)
    with pytest.raises(TypeError):
        api.Module(1, b"")
    with pytest.raises(TypeError):
        api.Module(api.Engine(), 2)
    for bad in (b"", b"\x00", EMPTY + b"\x01", bytearray(b"(module)")):
        with pytest.raises(api.WasmtimeError):
            api.Module(api.Engine(), bad)
    with pytest.raises(api.WasmtimeError):
        api.Module(api.Engine(), "(module")
    with pytest.raises(api.WasmtimeError):
        api.Module(api.Engine(), "(module (func (result i32)))")


def test_validate(api):
    engine = api.Engine()
    api.Module.validate(engine, EMPTY)
    api.Module.validate(engine, bytearray(EMPTY))
    with pytest.raises(api.WasmtimeError):
        api.Module.validate(engine, b"")
    with pytest.raises(TypeError):
        api.Module.validate(engine, "(module)")


def test_imports(api):
    store = api.Store()
    assert api.Module(store.engine, "(module)").imports == []
    module = api.Module(store.engine, """
        (module
            (import "" "" (func))
            (import "a" "bcd" (global i32))
            (import "" "" (memory 1))
            (import "" "x" (table 1 funcref))
            (import "m" "f" (func (param i32 f32) (result i64))))
    """)
    imports = module.imports
    assert [(i.module, i.name) for i in imports] == [("", ""), ("a", "bcd"), ("", ""), ("", "x"), ("m", "f")]
    ty = imports[0].type
    assert isinstance(ty, api.FuncType) and ty.params == [] and ty.results == []
    ty = imports[1].type
    assert isinstance(ty, api.GlobalType) and ty.content == api.ValType.i32() and not ty.mutable
    ty = imports[2].type
    assert isinstance(ty, api.MemoryType) and ty.limits == api.Limits(1, None)
    ty = imports[3].type
    assert isinstance(ty, api.TableType) and ty.limits == api.Limits(1, None)
    assert ty.element == api.ValType.funcref()
    ty = imports[4].type
    assert ty.params == [api.ValType.i32(), api.ValType.f32()] and ty.results == [api.ValType.i64()]


def test_exports(api):
    store = api.Store()
    assert api.Module(store.engine, "(module)").exports == []
    module = api.Module(store.engine, """
        (module
            (func (export "a") (param i32 f32) (result f64) f64.const 0)
            (global (export "") (mut i32) (i32.const 1))
            (memory (export "mem") 1)
            (table (export "table") 1 funcref))
    """)
    exports = module.exports
    assert [e.name for e in exports] == ["a", "", "mem", "table"]
    ty = exports[0].type
    assert ty.params == [api.ValType.i32(), api.ValType.f32()] and ty.results == [api.ValType.f64()]
    ty = exports[1].type
    assert ty.content == api.ValType.i32() and ty.mutable
    assert exports[2].type.limits == api.Limits(1, None)
    assert exports[3].type.element == api.ValType.funcref()


def test_tag_export_type(api):
    config = api.Config()
    config.wasm_exceptions = True
    module = api.Module(api.Engine(config), '(module (tag (export "t") (param i32)))')
    ty = module.exports[0].type
    assert isinstance(ty, api.TagType)
    assert ty.functype.params == [api.ValType.i32()]


def test_from_file(api, tmp_path):
    (tmp_path / "m.wat").write_text('(module (func (export "f")))')
    (tmp_path / "m.wasm").write_bytes(api.wat2wasm('(module (func (export "g")))'))
    engine = api.Engine()
    assert [e.name for e in api.Module.from_file(engine, tmp_path / "m.wat").exports] == ["f"]
    assert [e.name for e in api.Module.from_file(engine, str(tmp_path / "m.wasm")).exports] == ["g"]


def test_serialize(api, tmp_path):
    engine = api.Engine()
    module = api.Module(engine, '(module (func (export "f")))')
    encoded = module.serialize()
    assert isinstance(encoded, bytearray)
    again = api.Module.deserialize(engine, encoded)
    assert [e.name for e in again.exports] == ["f"]
    path = tmp_path / "module.bin"
    path.write_bytes(encoded)
    with api.Module.deserialize_file(engine, str(path)) as from_file:
        assert len(from_file.imports) == 0 and len(from_file.exports) == 1
    with pytest.raises(api.WasmtimeError):
        api.Module.deserialize(engine, b"garbage")
    with pytest.raises(TypeError):
        api.Module.deserialize(engine, "str")


def test_disabled_feature_is_refused(api):
    config = api.Config()
    config.wasm_relaxed_simd = False  # wasmtime aborts if relaxed SIMD stays on without SIMD
    config.wasm_simd = False
    with pytest.raises(api.WasmtimeError):
        api.Module(api.Engine(config), "(module (func (result v128) v128.const i64x2 0 0))")
    config = api.Config()
    config.wasm_multi_memory = False
    with pytest.raises(api.WasmtimeError):
        api.Module(api.Engine(config), "(module (memory 1) (memory 1))")


# ---------------------------------------------------------------- nanoproc specifics


def test_name_and_custom_sections():
    module = nanoproc.Module(nanoproc.Engine(), "(module $hello)")
    assert module.name == "hello"
    assert nanoproc.Module(nanoproc.Engine(), "(module)").name is None
    wasm = bytes(EMPTY) + b"\x00\x07\x04meta\x01\x02" + b"\x00\x06\x04meta\x03"
    m = nanoproc.Module(nanoproc.Engine(), wasm)
    assert m.custom_sections("meta") == [b"\x01\x02", b"\x03"]
    assert m.custom_sections("other") == []


def test_memoryview_is_binary():
    nanoproc.Module(nanoproc.Engine(), memoryview(EMPTY))


def test_artifact_format_is_checked():
    import hashlib
    import struct

    from nanoproc.api import artifact

    def sealed(body: bytes) -> bytes:
        return body + hashlib.sha256(body).digest()

    engine = nanoproc.Engine()
    good = bytes(nanoproc.Module(engine, "(module)").serialize())
    assert good.startswith(artifact.MAGIC)
    body = good[: -artifact.DIGEST_SIZE]
    cases = {
        "bad magic": b"\0asm\x01\0\0\0",
        "format version 99": sealed(good[:16] + (99).to_bytes(4, "little") + body[20:]),
        "unknown flags": sealed(good[:20] + (8).to_bytes(4, "little") + body[24:]),
        "format version 1, written by an older nanoproc": good[:16] + (1).to_bytes(4, "little") + good[20:],
        "damaged": good[:-3],
        "damaged \\(digest mismatch\\)": good + b"x",
        "malformed \\(trailing bytes\\)": sealed(body + b"x"),
    }
    for message, data in cases.items():
        with pytest.raises(nanoproc.WasmtimeError, match=message):
            nanoproc.Module.deserialize(engine, data)
    other_version = sealed(artifact.MAGIC + struct.pack("<II", artifact.FORMAT_VERSION, 0)
                           + artifact._text("0.0.0-other"))
    with pytest.raises(nanoproc.WasmtimeError, match="nanoproc 0.0.0-other"):
        nanoproc.Module.deserialize(engine, other_version)
    for_other_tier = artifact.write_artifact("other-tier", bytes(EMPTY))
    with pytest.raises(nanoproc.WasmtimeError, match="other-tier"):
        nanoproc.Module.deserialize(engine, for_other_tier)
    with pytest.raises(nanoproc.WasmtimeError, match="failed to read"):
        nanoproc.Module.deserialize_file(engine, "/no/such/file")


def test_serialized_wasm_is_validated_again():
    from nanoproc.api import artifact

    bogus = artifact.write_artifact(nanoproc.Engine().tier, b"\0asm\x01\0\0\0\x7f")
    with pytest.raises(nanoproc.WasmtimeError):
        nanoproc.Module.deserialize(nanoproc.Engine(), bogus)


def test_closed_module_cannot_be_used():
    store = nanoproc.Store()
    module = nanoproc.Module(store.engine, "(module)")
    module.close()
    with pytest.raises(ValueError):
        nanoproc.Instance(store, module, [])
    with pytest.raises(ValueError):
        module.serialize()
