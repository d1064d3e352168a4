"""Our own ELF linker (llvm/elflink.py): what it links runs as JITLink's does, what it
cannot link goes to JITLink, and its mappings are never writable and executable."""

from __future__ import annotations

import ctypes
import gc
import struct

import pytest
from llvm_helpers import call, compile_wat, new_instance

from nanoproc.internal.exec.trap import Trap
from nanoproc.internal.llvm import elflink, jit, link
from nanoproc.internal.llvm.backend import LLVMBackend


def _ir(body: str) -> str:
    t = jit.host_target()
    return f'target datalayout = "{t.datalayout}"\ntarget triple = "{t.triple}"\n{body}'


def _obj(body: str) -> bytes:
    return jit.compile_ir(_ir(body), 2)


def _maps(address: int) -> str | None:
    """The permissions of the mapping holding ``address`` (from /proc/self/maps)."""
    with open("/proc/self/maps") as f:
        for line in f:
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if lo <= address < hi:
                return perms
    return None


pytestmark = pytest.mark.skipif(jit.host_target().triple.split("-")[0] != "x86_64",
                                reason="elflink links x86-64 objects only (elsewhere: JITLink)")


def test_symbols_across_objects_externals_weak_and_got() -> None:
    a = _obj("""
declare i64 @labs(i64)
@PyExc_RuntimeError = external global ptr
define weak_odr i64 @twice(i64 %x) { %r = mul i64 %x, 2  ret i64 %r }
define i64 @use(i64 %x) {
  %a = call i64 @labs(i64 %x)
  %b = call i64 @other(i64 %a)
  %c = call i64 @twice(i64 %b)
  ret i64 %c
}
define ptr @exc() { %p = load ptr, ptr @PyExc_RuntimeError  ret ptr %p }
declare i64 @other(i64)
""")
    b = _obj("""
define weak_odr i64 @twice(i64 %x) { %r = mul i64 %x, 3  ret i64 %r }
@table = internal constant [3 x ptr] [ptr @one, ptr @two, ptr @one]
define internal i64 @one(i64 %x) { %r = add i64 %x, 1  ret i64 %r }
define internal i64 @two(i64 %x) { %r = add i64 %x, 2  ret i64 %r }
define i64 @other(i64 %x) {
  %i = urem i64 %x, 3
  %p = getelementptr [3 x ptr], ptr @table, i64 0, i64 %i
  %f = load ptr, ptr %p
  %r = call i64 %f(i64 %x)
  ret i64 %r
}
""")
    lib = elflink.link([a, b], ["use", "exc", "twice"])
    use = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(lib.addresses["use"])
    # |-7| = 7; 7 % 3 = 1 -> two: 9; twice keeps the first weak definition: 18
    assert use(-7) == 18
    assert use(6) == 14  # 6 % 3 = 0 -> one: 7, * 2
    exc = ctypes.CFUNCTYPE(ctypes.c_void_p)(lib.addresses["exc"])
    assert exc() == id(RuntimeError)
    assert lib.sizes["use"] > 0
    # code: read+execute; its constants (the table of addresses): read-only
    assert _maps(lib.addresses["use"]) == "r-xp"
    with pytest.raises(KeyError):
        elflink.link([a, b], ["not_defined"])


def test_strong_definition_wins_over_weak() -> None:
    weak = _obj("define weak_odr i32 @f() { ret i32 1 }")
    strong = _obj("define i32 @f() { ret i32 2 }")
    for objects in ([weak, strong], [strong, weak]):
        lib = elflink.link(objects, ["f"])
        assert ctypes.CFUNCTYPE(ctypes.c_int32)(lib.addresses["f"])() == 2
    with pytest.raises(elflink.Unsupported):
        elflink.link([strong, strong], ["f"])


def test_missing_external_is_a_clear_error() -> None:
    obj = _obj("declare i32 @np_no_such_function()\n"
               "define i32 @f() { %r = call i32 @np_no_such_function()  ret i32 %r }")
    with pytest.raises(KeyError, match="np_no_such_function"):
        elflink.link([obj], ["f"])


def test_writable_data_and_zeroed_bss() -> None:
    obj = _obj("""
@counter = global i64 40
@zeroes = global [64 x i64] zeroinitializer
define i64 @bump() {
  %v = load i64, ptr @counter
  %n = add i64 %v, 1
  store i64 %n, ptr @counter
  %z = getelementptr [64 x i64], ptr @zeroes, i64 0, i64 63
  %w = load i64, ptr %z
  %r = add i64 %n, %w
  ret i64 %r
}
""")
    lib = elflink.link([obj], ["bump", "counter", "zeroes"])
    bump = ctypes.CFUNCTYPE(ctypes.c_int64)(lib.addresses["bump"])
    assert (bump(), bump()) == (41, 42)
    assert _maps(lib.addresses["counter"]) == "rw-p"
    assert _maps(lib.addresses["bump"]) == "r-xp"


def test_mapping_is_released_with_the_library() -> None:
    lib = elflink.link([_obj("define i32 @f() { ret i32 7 }")], ["f"])
    address = lib.addresses["f"]
    assert _maps(address) is not None
    del lib
    gc.collect()
    assert _maps(address) is None


def test_other_machines_and_relocations_are_refused() -> None:
    obj = bytearray(_obj("define i32 @f() { ret i32 7 }"))
    struct.pack_into("<H", obj, 18, 183)  # EM_AARCH64
    with pytest.raises(elflink.Unsupported, match="machine 183"):
        elflink.link([bytes(obj)], ["f"])
    with pytest.raises(elflink.Unsupported):
        elflink.link([b"\x7fELF" + bytes(60)], ["f"])


def test_llvm_tier_links_with_elflink_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    wat = """(module (memory 1)
      (func $div (export "div") (param i32) (result i32) (i32.div_s (i32.const 100) (local.get 0)))
      (func (export "outer") (param i32) (result i32) (call $div (local.get 0))))"""
    for forced in (False, True):
        if forced:  # as on a machine elflink does not handle: LLVM links the same code
            def refuse(*_: object) -> None:
                raise elflink.Unsupported("test")

            monkeypatch.setattr(link, "image", refuse)
        backend = LLVMBackend()
        cm = compile_wat(wat)
        inst = new_instance(cm, backend=backend)
        assert call(inst, "outer", 7, backend=backend) == 14
        with pytest.raises(Trap) as e:
            call(inst, "outer", 0, backend=backend)
        assert [f.func_index for f in e.value.frames] == [0, 1]
        code = backend.prepare(cm).load()
        assert isinstance(code.library, jit.Library if forced else elflink.Library)
        assert code.frames and code.max_frame >= max(code.frames.values())
    monkeypatch.setenv("NANOPROC_LINKER", "llvm")
    assert isinstance(link.link([_obj("define i32 @f() { ret i32 7 }")], ["f"]), jit.Library)


def test_linked_images_are_cached_and_verified(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: object) -> None:
    monkeypatch.setenv("NANOPROC_CACHE_DIR", str(tmp_path))
    objects = [_obj("""
declare i64 @labs(i64)
@slot = global ptr @f
define i64 @f(i64 %x) { %a = call i64 @labs(i64 %x)  ret i64 %a }
define ptr @g() { %p = load ptr, ptr @slot  ret ptr %p }
""")]
    first = link.link(objects, ["f", "g"])
    assert isinstance(first, elflink.Library)
    key = link.image_key(objects)
    path = next(p for p in (tmp_path / "llvm").rglob("*.obj") if p.stem == key)  # type: ignore[operator]

    def run(lib: elflink.Library) -> None:
        f = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(lib.addresses["f"])
        g = ctypes.CFUNCTYPE(ctypes.c_void_p)(lib.addresses["g"])
        assert f(-5) == 5
        assert g() == lib.addresses["f"]  # an absolute address, patched at load

    run(first)
    linked = []
    real_prelink = elflink.prelink

    def counting(objs: list[bytes]) -> elflink.Image:
        linked.append(1)
        return real_prelink(objs)

    monkeypatch.setattr(elflink, "prelink", counting)
    run(link.link(objects, ["f", "g"]))  # from the cached image
    assert linked == []
    # a damaged entry is refused (checksum) and linked again
    good = path.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x40
    path.write_bytes(bytes(bad))
    run(link.link(objects, ["f", "g"]))
    assert linked == [1]
    assert path.read_bytes() == good  # written again
    # an image whose checksum is right but whose content is not well formed: relinked
    img = elflink.prelink(objects)
    for broken in (
        elflink.Image(img.total, img.protections, img.data,
                      img.base_fixups + struct.pack("<Q", len(img.data)), img.ext_fixups,
                      img.symbols, img.absolute, img.sizes),
        elflink.Image(img.total, [(0, img.total + 4096, 5)], img.data, img.base_fixups,
                      img.ext_fixups, img.symbols, img.absolute, img.sizes),
        elflink.Image(img.total, img.protections, img.data, img.base_fixups,
                      [(len(img.data), "labs", 0, False)], img.symbols, img.absolute,
                      img.sizes),
        elflink.Image(img.total, img.protections, img.data, img.base_fixups,
                      img.ext_fixups, {"f": img.total}, img.absolute, img.sizes),
    ):
        blob = broken.encode()
        assert elflink.Image.decode(blob) is None
        from nanoproc.internal.llvm import cache

        cache.store(key, [blob], memory=False)
        linked.clear()
        run(link.link(objects, ["f", "g"]))
        assert linked == [1]
    assert elflink.Image.decode(b"not marshal") is None
    assert elflink.Image.decode(img.encode()) == img
