"""Memory: growth, sizes, raw pointers, and slice-style read/write."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc


def new_memory(api, lo=1, hi=None, store=None):
    store = store or api.Store()
    return api.Memory(store, api.MemoryType(api.Limits(lo, hi))), store


def test_new(api):
    memory, store = new_memory(api)
    assert memory.type(store).limits == api.Limits(1, None)
    assert memory.size(store) == 1
    assert memory.grow(store, 1) == 1
    assert memory.size(store) == 2
    assert memory.grow(store, 0) == 2
    assert memory.type(store).limits == api.Limits(1, None)  # the declared type
    with pytest.raises(TypeError):
        memory.grow(store, "")
    with pytest.raises(api.WasmtimeError):
        memory.grow(store, -1)
    assert memory.data_ptr(store)[0] == 0
    assert memory.data_len(store) == 65536 * 2
    assert memory.page_size(store) == 65536
    assert memory.page_size_log2(store) == 16


def test_grow_to_maximum(api):
    memory, store = new_memory(api, 1, 2)
    assert memory.grow(store, 1) == 1
    assert memory.grow(store, 0) == 2
    with pytest.raises(api.WasmtimeError, match="failed to grow memory"):
        memory.grow(store, 1)


def test_errors(api):
    store = api.Store()
    ty = api.MemoryType(api.Limits(1, 2))
    with pytest.raises(AttributeError):
        api.Memory(1, ty)
    with pytest.raises(AttributeError):
        api.Memory(store, 1)


def test_data_ptr_writes_are_visible(api):
    memory, store = new_memory(api)
    ptr = memory.data_ptr(store)
    ptr[10] = 42
    assert memory.read(store, 10, 11) == bytearray([42])


def test_read_write_slices(api):
    memory, store = new_memory(api, 3)
    size = memory.data_len(store)
    data = bytearray(range(200))
    assert memory.write(store, data, 2048) == 200
    assert memory.read(store, 2048, 2248) == data
    assert memory.data_ptr(store)[2048 + 199] == 199
    assert len(memory.read(store, -10)) == 10
    assert memory.read(store, 0, 0) == bytearray()
    assert memory.read(store, 10, 5) == bytearray()
    assert memory.read(store, size + 1) == bytearray()
    assert memory.read(store, None, 3) == bytearray(3)
    assert memory.write(store, b"", 10) == 0
    assert memory.write(store, b"abc") == 3
    assert memory.read(store, 0, 3) == b"abc"
    with pytest.raises(IndexError):
        memory.write(store, data, size)
    with pytest.raises(IndexError):
        memory.write(store, data, size - 199)
    assert memory.write(store, data, -200) == 200
    assert memory.read(store, -200) == data
    with pytest.raises(TypeError):
        memory.write(store, "text", 0)


def test_get_buffer_ptr(api):
    memory, store = new_memory(api)
    buf = memory.get_buffer_ptr(store, 4, 100)
    buf[0] = 7
    assert memory.read(store, 100, 101) == b"\x07"
    assert len(memory.get_buffer_ptr(store)) == 65536


def test_custom_page_size(api):
    config = api.Config()
    config.wasm_custom_page_sizes = True
    store = api.Store(api.Engine(config))
    memory = api.Memory(store, api.MemoryType(api.Limits(1, None), page_size_log2=0))
    assert memory.page_size(store) == 1
    assert memory.data_len(store) == 1


# ---------------------------------------------------------------- nanoproc extras


def test_buffer_is_a_zero_copy_view():
    memory, store = new_memory(nanoproc)
    view = memory.buffer(store)
    assert isinstance(view, memoryview) and len(view) == 65536
    view[5:8] = b"xyz"
    assert memory.read(store, 5, 8) == b"xyz"
    memory.write(store, b"!", 5)
    assert bytes(view[5:6]) == b"!"
    memory.grow(store, 1)
    assert len(memory.buffer(store)) == 2 * 65536


def test_buffer_stays_valid_for_the_old_size_after_growth():
    memory, store = new_memory(nanoproc)
    if not memory._ext.stable_base:
        pytest.skip("this platform has no mmap reservation; views go stale on growth")
    view = memory.buffer(store)
    memory.grow(store, 1)
    view[0] = 9
    assert memory.read(store, 0, 1) == b"\x09"


def test_get_buffer_ptr_is_bounds_checked():
    memory, store = new_memory(nanoproc)
    assert len(memory.get_buffer_ptr(store, offset=65530)) == 6
    assert len(memory.get_buffer_ptr(store, -1, 65530)) == 6
    with pytest.raises(IndexError):
        memory.get_buffer_ptr(store, 10, 65530)


def test_shared_memory_is_not_supported_yet():
    with pytest.raises(nanoproc.WasmtimeError, match="not supported yet: shared memory"):
        nanoproc.SharedMemory(nanoproc.Engine(), nanoproc.MemoryType(nanoproc.Limits(1, 2), shared=True))
