"""Reading, writing and growing linear memory from Python and from Wasm."""

from pathlib import Path

from nanoproc import Instance, Limits, Memory, MemoryType, Module, Store, Trap, WasmtimeError

HERE = Path(__file__).parent


def expect_trap(call) -> None:  # type: ignore[no-untyped-def]
    try:
        call()
    except Trap as trap:
        print("  trapped as expected:", trap.message)
    else:
        raise AssertionError("expected a trap")


def run() -> None:
    store = Store()
    module = Module.from_file(store.engine, HERE / "memory.wat")
    instance = Instance(store, module, [])
    exports = instance.exports(store)
    memory, size, load, store_byte = (exports[n] for n in ("memory", "size", "load", "store"))

    print("Checking memory...")
    assert memory.size(store) == 2
    assert memory.data_len(store) == 0x20000
    assert memory.read(store, 0x1000, 0x1004) == b"\x01\x02\x03\x04"
    assert memory.data_ptr(store)[0x1003] == 4
    assert size(store) == 2
    assert load(store, 0x1002) == 3
    assert load(store, 0x1FFFF) == 0
    expect_trap(lambda: load(store, 0x20000))

    print("Mutating memory...")
    memory.write(store, b"\x05", 0x1003)
    store_byte(store, 0x1002, 6)
    assert memory.read(store, 0x1002, 0x1004) == b"\x06\x05"
    view = memory.buffer(store)  # nanoproc extra: a zero-copy memoryview
    view[0x1001] = 9
    assert load(store, 0x1001) == 9
    expect_trap(lambda: store_byte(store, 0x20000, 0))

    print("Growing memory...")
    assert memory.grow(store, 1) == 2
    assert memory.size(store) == 3
    assert load(store, 0x20000) == 0
    store_byte(store, 0x20000, 0)
    expect_trap(lambda: load(store, 0x30000))
    try:
        memory.grow(store, 1)
    except WasmtimeError as e:
        print("  growth past the maximum refused:", e)
    else:
        raise AssertionError("expected growth to fail")

    print("Creating a stand-alone memory...")
    memory2 = Memory(store, MemoryType(Limits(5, 5)))
    assert memory2.size(store) == 5
    assert memory2.grow(store, 0) == 5
    print("Done.")


if __name__ == "__main__":
    run()
