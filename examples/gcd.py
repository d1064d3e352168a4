"""Compile a module from a .wat file, instantiate it and call an export."""

from pathlib import Path

from nanoproc import Instance, Module, Store

HERE = Path(__file__).parent


def run() -> None:
    store = Store()
    module = Module.from_file(store.engine, HERE / "gcd.wat")
    instance = Instance(store, module, [])
    gcd = instance.exports(store)["gcd"]
    print(f"gcd(6, 27) = {gcd(store, 6, 27)}")
    print(f"gcd(1071, 462) = {gcd(store, 1071, 462)}")


if __name__ == "__main__":
    run()
