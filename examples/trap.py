"""A trap in Wasm code: its code, message and Wasm backtrace."""

from pathlib import Path

from nanoproc import Instance, Module, Store, Trap

HERE = Path(__file__).parent


def run() -> None:
    store = Store()
    module = Module.from_file(store.engine, HERE / "trap.wat")
    run_export = Instance(store, module, []).exports(store)["run"]
    print("run(4) =", run_export(store, 4))
    try:
        run_export(store, 0)
    except Trap as trap:
        print("trap code:", trap.trap_code)
        print("message:", trap.message)
        print("backtrace:")
        for frame in trap.frames:
            print(f"  {frame.module_name}!{frame.func_name or frame.func_index}"
                  f" at offset 0x{frame.module_offset:x}")
        print(trap)
    else:
        raise AssertionError("expected a trap")


if __name__ == "__main__":
    run()
