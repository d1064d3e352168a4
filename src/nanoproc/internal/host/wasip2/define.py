"""Registering WASI 0.2 in a component ``Linker``.

The interfaces are defined at :data:`VERSION`; the linker matches an import of
any semver-compatible ``0.2.x`` version (``wasi:cli/run@0.2.12`` from a newer
adapter included) to them, as wasmtime's linker does.
"""

from __future__ import annotations

from typing import Any

from ...exec.component.values import ResourceType
from . import cli, filesystem, http, io, sockets
from .state import state_for

VERSION = "0.2.6"


def add_wasip2(linker: Any) -> None:
    """Define every WASI 0.2 interface a command component may import (cli, io,
    clocks, random, filesystem, sockets) in ``linker`` (a ``nanoproc.component.Linker``)."""
    funcs: dict[str, dict[str, dict[str, Any]]] = {
        "io": {}, "cli": {}, "clocks": {}, "random": {}, "filesystem": {}, "sockets": {}}  # fmt: skip
    io.define(state_for, funcs["io"])
    cli.define(state_for, funcs["cli"], funcs["clocks"], funcs["random"])
    filesystem.define(state_for, funcs["filesystem"])
    sockets.define(state_for, funcs["sockets"])
    resources = {"io": io.RESOURCES, "cli": cli.RESOURCES, "clocks": cli.RESOURCES,
                 "random": {}, "filesystem": filesystem.RESOURCES,
                 "sockets": sockets.RESOURCES}  # fmt: skip

    _register(linker, funcs, resources)


def add_wasi_http(linker: Any, outgoing: Any = None) -> None:
    """Define ``wasi:http/types`` (and ``wasi:http/outgoing-handler`` when
    ``outgoing(store, request, options)`` is given) in ``linker``."""
    funcs: dict[str, dict[str, dict[str, Any]]] = {"http": {}}
    http.define(state_for, funcs["http"], outgoing)
    _register(linker, funcs, {"http": http.RESOURCES})


def _register(linker: Any, funcs: dict[str, dict[str, dict[str, Any]]],
              resources: dict[str, dict[str, dict[str, int]]]) -> None:  # fmt: skip
    def dtor(store: Any, rep: int) -> None:
        state_for(store).drop(rep)

    with linker.root() as root:
        for pkg, ifaces in funcs.items():
            for iface, fns in ifaces.items():
                with root.add_instance(f"wasi:{pkg}/{iface}@{VERSION}") as inst:
                    for rname, rid in resources[pkg].get(iface, {}).items():
                        inst.add_resource(rname, ResourceType.host(rid), dtor)
                    for fname, fn in fns.items():
                        inst.add_func(fname, fn)
