"""Module introspection scales linearly with the number of imports and exports
(issue 20 item 4: ``Module.exports`` rebuilt the function index space per export)."""

from __future__ import annotations

import nanoproc
from nanoproc.internal.syntax.module import Module as SyntaxModule


def _many(n: int) -> str:
    funcs = "".join(
        f'(func (export "f{i}") (param i32) (result i32) (local.get 0))' for i in range(n)
    )
    tables = '(table (export "t") 1 funcref) (memory (export "m") 1)'
    globals_ = '(global (export "g") i32 (i32.const 1))'
    imports = "".join(f'(import "h" "i{i}" (func (param i64)))' for i in range(50))
    return f"(module {imports} {funcs} {tables} {globals_})"


def test_index_spaces_built_once_per_listing(monkeypatch):
    module = nanoproc.Module(nanoproc.Engine(), _many(2000))
    calls = {"func": 0, "table": 0, "memory": 0, "global": 0}

    def counting(name, orig):
        def wrapper(self):
            calls[name] += 1
            return orig(self)

        return wrapper

    for name, attr in (("func", "func_typeidxs"), ("table", "table_types"),
                       ("memory", "memory_types"), ("global", "global_types")):
        monkeypatch.setattr(SyntaxModule, attr, counting(name, getattr(SyntaxModule, attr)))
    exports = module.exports
    imports = module.imports
    assert len(exports) == 2003 and len(imports) == 50
    assert all(c <= 1 for c in calls.values()), calls
    assert isinstance(exports[0].type, nanoproc.FuncType)
    assert str(exports[1999].type) == str(nanoproc.FuncType([nanoproc.ValType.i32()],
                                                           [nanoproc.ValType.i32()]))
    assert isinstance(exports[2000].type, nanoproc.TableType)
    assert isinstance(exports[2001].type, nanoproc.MemoryType)
    assert isinstance(exports[2002].type, nanoproc.GlobalType)
