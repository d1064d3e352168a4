"""A Python host implementing a WIT interface for a component.

greeter.wit describes the world: the component imports `example:greeter/host`
(`name`, `log` and an enum `level`) and exports `greet`. The host implements the
interface with Python functions taking and returning Python values; the linker
hands them to the component. `python -m nanoproc wit examples/greeter.wat` prints
the component's WIT.
"""

from pathlib import Path

from nanoproc import Engine, Store
from nanoproc.component import Component, Linker

HERE = Path(__file__).parent


def run() -> None:
    engine = Engine()
    component = Component.from_file(engine, HERE / "greeter.wat")
    print("imports:", ", ".join(component.type.imports(engine)))

    log: list[tuple[str, str]] = []
    linker = Linker(engine)
    with linker.root() as root, root.add_instance("example:greeter/host") as host:
        host.add_func("name", lambda store: "WebAssembly")
        host.add_func("log", lambda store, level, msg: log.append((level, msg)))

    store = Store(engine)
    instance = linker.instantiate(store, component)
    greet = instance.get_func(store, "greet")
    print("greet() =", greet(store))
    print("the component logged:", log)


if __name__ == "__main__":
    run()
