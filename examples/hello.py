"""A host function (Python) called by Wasm code."""

from pathlib import Path

from nanoproc import Func, FuncType, Instance, Module, Store, ValType

HERE = Path(__file__).parent


def run() -> None:
    store = Store()
    module = Module.from_file(store.engine, HERE / "hello.wat")

    def hello(n: int) -> None:
        print(f"Hello from Python! Wasm passed {n}.")

    hello_func = Func(store, FuncType([ValType.i32()], []), hello)
    instance = Instance(store, module, [hello_func])
    instance.exports(store)["run"](store)


if __name__ == "__main__":
    run()
