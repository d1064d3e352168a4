"""Two modules linked by name through a Linker, plus a host function."""

from pathlib import Path

from nanoproc import Engine, FuncType, Linker, Module, Store, ValType

HERE = Path(__file__).parent


def run() -> None:
    engine = Engine()
    linking1 = Module.from_file(engine, HERE / "linking1.wat")
    linking2 = Module.from_file(engine, HERE / "linking2.wat")

    linker = Linker(engine)
    linker.define_func("host", "print", FuncType([ValType.i32()], []), lambda n: print("result:", n))

    store = Store(engine)
    library = linker.instantiate(store, linking2)
    linker.define_instance(store, "linking2", library)

    main = linker.instantiate(store, linking1)
    main.exports(store)["run"](store)
    print("library calls:", library.exports(store)["calls"].value(store))


if __name__ == "__main__":
    run()
