"""Two components composed: `shout` imports `upper`, which another component exports.

First they are linked at run time through a component Linker (each keeps its own
memory; strings are transcoded between their encodings on the way). Then the same
wiring is done ahead of time with `nanoproc compose` (as `wac plug` does), giving
one component that imports nothing.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from nanoproc import Engine, Store, wat2wasm
from nanoproc.component import Component, Linker

HERE = Path(__file__).parent


def run() -> None:
    engine = Engine()
    store = Store(engine)
    upper = Component.from_file(engine, HERE / "compose_upper.wat")
    shout = Component.from_file(engine, HERE / "compose_shout.wat")

    # linked at run time
    linker = Linker(engine)
    upper_instance = linker.instantiate(store, upper)
    with linker.root() as root:
        root.add_instance_export("upper", upper_instance)
    shout_instance = linker.instantiate(store, shout)
    print("linked:", shout_instance.get_func(store, "shout")(store, "hello, components"))

    # composed into one component
    with tempfile.TemporaryDirectory() as tmp:
        socket, plug, out = Path(tmp, "shout.wasm"), Path(tmp, "upper.wasm"), Path(tmp, "out.wasm")
        socket.write_bytes(wat2wasm((HERE / "compose_shout.wat").read_text()))
        plug.write_bytes(wat2wasm((HERE / "compose_upper.wat").read_text()))
        subprocess.run([sys.executable, "-m", "nanoproc", "compose", str(socket), "--plug",
                        str(plug), "-o", str(out)], check=True)
        composed = Component.from_file(engine, out)
    print("composed imports:", list(composed.type.imports(engine)))
    instance = Linker(engine).instantiate(store, composed)
    print("composed:", instance.get_func(store, "shout")(store, "one component"))


if __name__ == "__main__":
    run()
