"""A generator of random, valid, terminating Wasm functions (as WAT) for differential
testing of the interp tier's control-flow lowering and operand-stack handling.

Programs mix nested blocks, loops and ifs (with and without results and params),
branches of every kind to random enclosing labels (carrying values), locals, a
memory, globals, calls, and operations that may trap. Every loop burns fuel from a
global and traps with ``unreachable`` when it runs out, so every program ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BINOPS = ["add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl",
          "eq", "ne", "lt_s", "lt_u", "gt_s", "ge_u", "le_s", "div_u", "rem_s", "div_s"]
UNOPS = ["eqz", "clz", "ctz", "popcnt", "extend8_s", "extend16_s"]


@dataclass
class Label:
    kind: str  # block, loop, if
    results: int  # 0 or 1 i32 carried by a branch to it


class FuncGen:
    """Generates the body of one function ``(param i32 i32 i32) (result i32)``."""

    def __init__(self, rng: random.Random, index: int, nfuncs: int) -> None:
        self.rng = rng
        self.index = index
        self.nfuncs = nfuncs
        self.nlocals = 6  # 3 params + 3 locals
        self.labels: list[Label] = []
        self.budget = 60

    def spend(self) -> bool:
        self.budget -= 1
        return self.budget > 0

    # ------------------------------------------------------------ expressions
    def expr(self, depth: int) -> list[str]:
        """Instructions pushing one i32."""
        r = self.rng
        if depth > 4 or not self.spend():
            return [self.leaf()]
        choice = r.randrange(15)
        if choice < 3:
            return [self.leaf()]
        if choice < 6:
            op = r.choice(BINOPS)
            return self.expr(depth + 1) + self.expr(depth + 1) + [f"i32.{op}"]
        if choice == 6:
            return self.expr(depth + 1) + [f"i32.{r.choice(UNOPS)}"]
        if choice == 7:
            return self.address(depth) + [f"i32.load{r.choice(['', '8_s', '8_u', '16_s', '16_u'])}"
                                          f" offset={r.choice([0, 4, 100])}"]
        if choice == 8:
            return self.expr(depth + 1) + self.expr(depth + 1) + self.expr(depth + 1) + ["select"]
        if choice == 9:
            return self.expr(depth + 1) + [f"local.tee {r.randrange(3, self.nlocals)}"]
        if choice == 10:
            return self.block_expr(depth)
        if choice == 11:
            return self.if_expr(depth)
        if choice == 12 and self.index > 0:
            callee = r.randrange(self.index)
            return self.expr(depth + 1) + self.expr(depth + 1) + self.expr(depth + 1) + [
                f"call $f{callee}"
            ]
        if choice == 13:
            return ["global.get $g"] if r.random() < 0.5 else self.loop_expr(depth)
        return self.expr(depth + 1) + ["i64.extend_i32_s", "i64.const 3", "i64.mul",
                                       "i32.wrap_i64"]

    def leaf(self) -> str:
        r = self.rng
        if r.random() < 0.5:
            return f"local.get {r.randrange(self.nlocals)}"
        return f"i32.const {r.choice([0, 1, 2, -1, 7, 255, 0x7FFFFFFF, -0x80000000, r.randrange(-1000, 1000)])}"

    def address(self, depth: int) -> list[str]:
        if self.rng.random() < 0.1:
            return ["i32.const 65534"]  # traps for most widths/offsets
        return self.expr(depth + 1) + ["i32.const 0xFFF0", "i32.and"]

    def block_expr(self, depth: int) -> list[str]:
        self.labels.append(Label("block", 1))
        body = ["block (result i32)"] + self.stmts(depth + 1, 2)
        if self.rng.random() < 0.4:
            body += self.expr(depth + 1) + self.expr(depth + 1) + [f"br_if {0}", "drop"]
        body += self.expr(depth + 1) + ["end"]
        self.labels.pop()
        return body

    def loop_expr(self, depth: int) -> list[str]:
        """``block (result i32) (loop (result i32) ...)`` with value-carrying exits, or a
        block taking a parameter."""
        r = self.rng
        if r.random() < 0.3:
            arg = self.expr(depth + 1)
            self.labels.append(Label("block", 1))
            body = self.stmts(depth + 1, 2) + self.expr(depth + 1) + ["i32.add"]
            self.labels.pop()
            return arg + ["block (param i32) (result i32)"] + body + ["end"]
        fuel = ["global.get $fuel", "i32.eqz", "if", "unreachable", "end",
                "global.get $fuel", "i32.const 1", "i32.sub", "global.set $fuel"]
        self.labels.append(Label("block", 1))
        self.labels.append(Label("loop", 0))
        body = ["block (result i32)", "loop (result i32)"] + fuel + self.stmts(depth + 1, 2)
        body += self.branch_to(depth, 1, "br_if")
        body += self.expr(depth + 1) + ["br_if 0"]
        body += self.expr(depth + 1)
        self.labels.pop()
        self.labels.pop()
        return body + ["end", "end"]

    def if_expr(self, depth: int) -> list[str]:
        cond = self.expr(depth + 1)
        self.labels.append(Label("if", 1))
        then = self.stmts(depth + 1, 2) + self.expr(depth + 1)
        els = self.stmts(depth + 1, 2) + self.expr(depth + 1)
        self.labels.pop()
        return cond + ["if (result i32)"] + then + ["else"] + els + ["end"]

    # ------------------------------------------------------------ statements
    def stmts(self, depth: int, n: int) -> list[str]:
        out: list[str] = []
        for _ in range(self.rng.randrange(n + 1)):
            out += self.stmt(depth)
        return out

    def branch_to(self, depth: int, d: int, op: str) -> list[str]:
        """A br/br_if to relative depth ``d`` with the values its label needs."""
        label = self.labels[-1 - d]
        vals = self.expr(depth + 1) if label.results else []
        if op == "br_if":
            cond = self.expr(depth + 1)
            tail = ["drop"] if label.results else []
            return vals + cond + [f"br_if {d}"] + tail
        return vals + [f"br {d}"]

    def stmt(self, depth: int) -> list[str]:
        r = self.rng
        if depth > 5 or not self.spend():
            return self.expr(depth) + [f"local.set {r.randrange(self.nlocals)}"]
        choice = r.randrange(12)
        if choice < 2:
            return self.expr(depth) + [f"local.set {r.randrange(self.nlocals)}"]
        if choice == 2:
            width = r.choice(["", "8", "16"])
            return self.address(depth) + self.expr(depth) + [
                f"i32.store{width} offset={r.choice([0, 8])}"
            ]
        if choice == 3:
            return self.expr(depth) + ["global.set $g"]
        if choice == 4:
            self.labels.append(Label("block", 0))
            body = ["block"] + self.stmts(depth + 1, 3)
            if r.random() < 0.5 and self.labels:
                body += self.branch_to(depth, r.randrange(len(self.labels)), "br_if")
            body += self.stmts(depth + 1, 2)
            if r.random() < 0.3:
                body += self.branch_to(depth, r.randrange(len(self.labels)), "br")
            self.labels.pop()
            return body + ["end"]
        if choice == 5:
            return self.loop(depth)
        if choice == 6:
            cond = self.expr(depth)
            self.labels.append(Label("if", 0))
            then = self.stmts(depth + 1, 3)
            if r.random() < 0.3:
                then += self.branch_to(depth, r.randrange(len(self.labels)), "br_if")
            els = self.stmts(depth + 1, 2)
            self.labels.pop()
            return cond + ["if"] + then + ["else"] + els + ["end"]
        if choice == 7 and self.labels:
            # br_table among void labels only (all targets must agree on arity)
            void = [i for i, lab in enumerate(reversed(self.labels)) if lab.results == 0]
            if void:
                targets = [r.choice(void) for _ in range(r.randrange(1, 6))]
                return self.expr(depth) + [
                    "br_table " + " ".join(map(str, targets)) + f" {r.choice(void)}"
                ]
        if choice == 8:
            return self.expr(depth) + ["drop"]
        if choice == 9 and self.labels:
            return self.branch_to(depth, r.randrange(len(self.labels)), "br_if")
        if choice == 10:
            return self.switch(depth)
        return self.expr(depth) + self.expr(depth) + ["i32.div_u", "drop"]

    def loop(self, depth: int) -> list[str]:
        r = self.rng
        fuel = ["global.get $fuel", "i32.eqz", "if", "unreachable", "end",
                "global.get $fuel", "i32.const 1", "i32.sub", "global.set $fuel"]
        self.labels.append(Label("block", 0))
        self.labels.append(Label("loop", 0))
        body = ["block", "loop"] + fuel + self.stmts(depth + 1, 3)
        body += self.branch_to(depth, r.randrange(2), "br_if")
        body += self.stmts(depth + 1, 2)
        if r.random() < 0.5:
            body += self.expr(depth) + ["br_if 0"]
        self.labels.pop()
        self.labels.pop()
        return body + ["end", "end"]

    def switch(self, depth: int) -> list[str]:
        """Nested blocks dispatched by one br_table, C-switch style (with fallthrough)."""
        r = self.rng
        n = r.randrange(2, 7)
        for _ in range(n):
            self.labels.append(Label("block", 0))
        out = ["block"] * n + self.expr(depth)
        out.append("br_table " + " ".join(str(r.randrange(n)) for _ in range(r.randrange(1, 8)))
                   + f" {r.randrange(n)}")
        for k in range(n - 1, -1, -1):
            out.append("end")
            self.labels.pop()
            if k == 0:
                break
            out += self.stmts(depth + 1, 2)
            if r.random() < 0.6:
                out += [f"br {k - 1}"]
        return out

    def body(self) -> list[str]:
        self.labels.append(Label("func", 1))
        out = self.stmts(0, 6) + self.expr(0)
        self.labels.pop()
        return out


def module(seed: int, nfuncs: int = 3) -> str:
    rng = random.Random(seed)
    funcs = []
    for i in range(nfuncs):
        body = FuncGen(rng, i, nfuncs).body()
        funcs.append(
            f"(func $f{i} (export \"f{i}\") (param i32 i32 i32) (result i32) "
            f"(local i32 i32 i32)\n  " + "\n  ".join(body) + ")"
        )
    return (
        "(module\n(memory (export \"mem\") 1)\n"
        "(global $g (export \"g\") (mut i32) (i32.const 5))\n"
        "(global $fuel (export \"fuel\") (mut i32) (i32.const 500))\n"
        + "\n".join(funcs) + ")"
    )
