"""Which functions of a module can recurse: the ones that count call depth.

Python's recursion limit is one number for the whole process, so it cannot give each
engine its own ``max_wasm_stack``. It bounds the engines allowed the most (see
backend.MAX_FRAMES); under an engine allowed fewer, every generated function takes a
trailing depth budget ``dp`` (default: the engine's budget, so each entry from the
host starts afresh) and the functions that can recurse check it and pass ``dp - 1``
on. Deep nesting needs a cycle in the call graph, so only functions on one pay for
the check; straight-line call chains are bounded by the module's size anyway.

The graph is conservative: a function that calls indirectly (``call_indirect``,
``call_ref``, their tail forms) or calls an import may reach any function that
escapes the module or a table (exported, in an element segment, or named by
``ref.func``), since a table, another instance or the host can hand it back.
"""

from __future__ import annotations

from ..syntax.module import Module

INDIRECT = frozenset({"call_indirect", "call_ref", "return_call_indirect", "return_call_ref"})
DIRECT = frozenset({"call", "return_call"})


def escaping_functions(module: Module) -> set[int]:
    """Function indices that code outside this function body can get hold of."""
    out = {e.index for e in module.exports if e.kind == "func"}
    exprs = [x for seg in module.elems for x in seg.init]
    exprs += [g.init for g in module.globals]
    exprs += [f.instrs for f in module.funcs]
    for expr in exprs:
        for ins in expr:
            if ins[0].name == "ref.func":
                out.add(ins[1])
    return out


def recursive_functions(module: Module) -> frozenset[int]:
    """Indices of defined functions on a cycle of the (conservative) call graph."""
    nimp = module.num_imported_funcs
    escaping = sorted(i for i in escaping_functions(module) if i >= nimp)
    graph: dict[int, set[int]] = {}
    for k, func in enumerate(module.funcs):
        edges: set[int] = set()
        wide = False
        for ins in func.instrs:
            name = ins[0].name
            if name in DIRECT:
                if ins[1] >= nimp:
                    edges.add(ins[1])
                else:
                    wide = True
            elif name in INDIRECT:
                wide = True
        if wide:
            edges.update(escaping)
        graph[nimp + k] = edges
    return frozenset(_on_cycles(graph))


def _on_cycles(graph: dict[int, set[int]]) -> set[int]:
    """Nodes in a strongly connected component with a cycle (iterative Tarjan)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result: set[int] = set()
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    component.append(x)
                    if x == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    result.update(component)
    return result
