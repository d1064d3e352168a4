"""Every SIMD instruction against wasmtime-py, lane for lane (shared by both tiers' tests).

One module holds a function per instruction (and per lane or shuffle immediate): it
reads its operands from linear memory (vectors at 0, 16, 32, an i32 at 48), applies
the instruction and stores the result at 64 (a scalar result as an i64). The same
inputs go through wasmtime-py and a nanoproc tier; the results must match bit for
bit, except where the spec leaves a NaN open: a float lane wasmtime computes as NaN
must be a NaN of the class the spec requires (canonical when every NaN operand was
canonical, else quiet). Relaxed instructions must match wasmtime exactly (we promise
its x86-64 results), NaN lanes again up to their class.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

from nanoproc.internal.syntax.ops import OPS

M128 = (1 << 128) - 1

# Float-producing instructions whose NaN results the spec leaves open (lane-wise).
NAN_OPEN = {
    "add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc", "nearest",
    "demote_f64x2_zero", "promote_low_f32x4", "relaxed_madd", "relaxed_nmadd",
}  # fmt: skip

LANE_WIDTH = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32, "f64x2": 64}


def simd_ops() -> list[Any]:
    """Non-memory SIMD instructions (memory forms have their own tests)."""
    return [op for op in OPS if op.feature in ("simd", "relaxed_simd") and op.rule is None
            and op.name != "v128.const"]


def _variants(op: Any) -> list[str]:
    """The instruction with each immediate the test uses."""
    if "lane" in op.imms:
        n = op.lanes
        return [f"{op.name} {i}" for i in sorted({0, 1, n // 2, n - 1})]
    if op.name == "i8x16.shuffle":
        return [
            "i8x16.shuffle " + " ".join(map(str, lanes))
            for lanes in (range(16), range(16, 32), range(31, -1, -2),
                          (0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31),
                          (5,) * 16, (31, 0, 30, 1, 29, 2, 28, 3, 27, 4, 26, 5, 25, 6, 24, 7))
        ]  # fmt: skip
    return [op.name]


def _operands(op: Any) -> list[str]:
    out = []
    for i, t in enumerate(op.params):
        if t.name == "v128":
            out.append(f"(v128.load (i32.const {16 * i}))")
        elif t.name == "i32":
            out.append("(i32.load (i32.const 48))")
        elif t.name == "i64":
            out.append("(i64.load (i32.const 48))")
        elif t.name == "f32":
            out.append("(f32.load (i32.const 48))")
        else:
            out.append("(f64.load (i32.const 48))")
    return out


def _store(op: Any, expr: str) -> str:
    rt = op.results[0].name
    if rt == "v128":
        return f"(v128.store (i32.const 64) {expr})"
    if rt == "i32":
        return f"(i64.store (i32.const 64) (i64.extend_i32_u {expr}))"
    if rt == "i64":
        return f"(i64.store (i32.const 64) {expr})"
    if rt == "f32":
        return f"(i64.store (i32.const 64) (i64.extend_i32_u (i32.reinterpret_f32 {expr})))"
    return f"(i64.store (i32.const 64) (i64.reinterpret_f64 {expr}))"


@functools.cache
def cases() -> list[tuple[Any, str]]:
    """(op, instruction text) per exported function ``f<index>``."""
    return [(op, text) for op in simd_ops() for text in _variants(op)]


def module_text() -> str:
    funcs = []
    for i, (op, text) in enumerate(cases()):
        expr = f"({text} {' '.join(_operands(op))})"
        funcs.append(f'(func (export "f{i}") {_store(op, expr)})')
    return '(module (memory (export "memory") 1)\n' + "\n".join(funcs) + "\n)"


# ---------------------------------------------------------------- inputs
_INT_EDGES = {
    8: [0, 1, 0x7F, 0x80, 0xFF, 0x81, 0x40, 0xFE],
    16: [0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x8001, 0x00FF, 0xFF00, 0x4000, 0xFFFE],
    32: [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x80000001, 0x0000FFFF, 0xFFFF0000],
    64: [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF],
}
_F32_EDGES = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000, 0x3FC00000,
    0x40200000, 0xC0200000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FC12345,
    0x7FA00001, 0xFF800001, 0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
    0x4EFFFFFF, 0x4F000000, 0xCF000000, 0xCF000001, 0x4F7FFFFF, 0x4F800000, 0x4B000001,
    0x3F7FFFFF, 0x3F800001, 0x40490FDB, 0xC1200000, 0x46FFFE00, 0x477FFF00,
]  # fmt: skip
_F64_EDGES = [
    0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
    0x3FE0000000000000, 0xBFE0000000000000, 0x3FF8000000000000, 0x4004000000000000,
    0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
    0x7FF8000000012345, 0x7FF4000000000001, 0x0000000000000001, 0x800FFFFFFFFFFFFF,
    0x7FEFFFFFFFFFFFFF, 0x41DFFFFFFFC00000, 0x41E0000000000000, 0xC1E0000000000000,
    0xC1E0000000200000, 0x41EFFFFFFFE00000, 0x41F0000000000000, 0x4330000000000001,
    0x47EFFFFFE0000000, 0x47EFFFFFF0000000, 0x36A0000000000000, 0x3690000000000001,
    0x3FEFFFFFFFFFFFFF, 0xC3E0000000000000,
]  # fmt: skip


def _from_lanes(lanes: list[int], w: int) -> int:
    v = 0
    for i, x in enumerate(lanes):
        v |= (x & ((1 << w) - 1)) << (i * w)
    return v


def inputs(seed: int, count: int) -> list[tuple[int, int, int, int]]:
    """``count`` operand sets (three vectors and a scalar), edge lanes mixed in."""
    rng = random.Random(seed)
    out = []
    scalars = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255,
               0xFFFFFFFF, 0x80000000, 0x3F800000, 0x7FC00000, 0x7FA00001]  # fmt: skip
    for i in range(count):
        vecs = []
        for _ in range(3):
            kind = rng.randrange(6)
            if kind == 0:
                vecs.append(rng.getrandbits(128))
            elif kind in (1, 2):
                w = rng.choice((8, 16, 32, 64))
                vecs.append(_from_lanes([rng.choice(_INT_EDGES[w]) for _ in range(128 // w)], w))
            elif kind == 3:
                vecs.append(_from_lanes([rng.choice(_F32_EDGES) for _ in range(4)], 32))
            elif kind == 4:
                vecs.append(_from_lanes([rng.choice(_F64_EDGES) for _ in range(2)], 64))
            else:  # small lanes: widening, narrowing and dot products hit their edges
                vecs.append(_from_lanes([rng.randrange(-3, 4) for _ in range(16)], 8))
        s = scalars[i % len(scalars)] if i < 2 * len(scalars) else rng.getrandbits(32)
        if i % 5 == 4:
            s |= rng.getrandbits(32) << 32
        out.append((vecs[0], vecs[1], vecs[2], s))
    return out


# ---------------------------------------------------------------- comparison
def _is_nan(bits: int, w: int) -> bool:
    mant = 23 if w == 32 else 52
    exp = ((1 << (w - 1 - mant)) - 1) << mant
    return bits & exp == exp and bits & ((1 << mant) - 1) != 0


def _nan_ok(got: int, w: int, operand_lanes: list[int]) -> bool:
    """A NaN result lane: canonical if every NaN operand lane was, else quiet."""
    mant = 23 if w == 32 else 52
    quiet = 1 << (mant - 1)
    if not _is_nan(got, w):
        return False
    nans = [x for x in operand_lanes if _is_nan(x, w)]
    if all(x & ((1 << mant) - 1) == quiet for x in nans):
        return got & ((1 << mant) - 1) == quiet
    return bool(got & quiet)


def compare(op: Any, text: str, args: tuple[int, int, int, int], got: int, want: int) -> str | None:
    """None when ``got`` (our result) is acceptable for ``want`` (wasmtime's)."""
    if got == want:
        return None
    shape, name = op.name.split(".", 1)
    if op.results[0].name == "v128" and shape in ("f32x4", "f64x2") and name in NAN_OPEN:
        w = 32 if shape == "f32x4" or name == "demote_f64x2_zero" else 64
        ow = 32 if name == "promote_low_f32x4" else 64 if name == "demote_f64x2_zero" else w
        m = (1 << w) - 1
        om = (1 << ow) - 1
        lanes = [x >> (i * ow) & om for x in args[:3] for i in range(128 // ow)]
        for i in range(128 // w):
            g, e = got >> (i * w) & m, want >> (i * w) & m
            if g == e:
                continue
            if not (_is_nan(e, w) and _nan_ok(g, w, lanes)):
                break
        else:
            return None
    return (f"{text} a={args[0]:#034x} b={args[1]:#034x} c={args[2]:#034x} s={args[3]:#x}: "
            f"ours {got:#034x}, wasmtime {want:#034x}")


# ---------------------------------------------------------------- runners
def write_inputs(buf: Any, args: tuple[int, int, int, int]) -> None:
    a, b, c, s = args
    buf[0:16] = a.to_bytes(16, "little")
    buf[16:32] = b.to_bytes(16, "little")
    buf[32:48] = c.to_bytes(16, "little")
    buf[48:56] = s.to_bytes(8, "little")


def read_result(buf: Any, op: Any) -> int:
    width = 16 if op.results[0].name == "v128" else 8
    return int.from_bytes(bytes(buf[64 : 64 + width]), "little")


def wasmtime_runner(data: bytes) -> Callable[[int, tuple[int, int, int, int]], int]:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, data), [])
    exports = inst.exports(store)
    mem = exports["memory"]
    funcs = [exports[f"f{i}"] for i in range(len(cases()))]

    def run(i: int, args: tuple[int, int, int, int]) -> int:
        buf = mem.get_buffer_ptr(store)
        a, b, c, s = args
        raw = a.to_bytes(16, "little") + b.to_bytes(16, "little") + c.to_bytes(16, "little")
        raw += s.to_bytes(8, "little")
        mem.write(store, raw, 0)
        funcs[i](store)
        op = cases()[i][0]
        width = 16 if op.results[0].name == "v128" else 8
        del buf
        return int.from_bytes(mem.read(store, 64, 64 + width), "little")

    return run


def check_all(run_ours: Callable[[int, tuple[int, int, int, int]], int],
              run_theirs: Callable[[int, tuple[int, int, int, int]], int],
              indices: list[int], args_list: list[tuple[int, int, int, int]]) -> list[str]:
    failures = []
    for i in indices:
        op, text = cases()[i]
        for args in args_list:
            why = compare(op, text, args, run_ours(i, args), run_theirs(i, args))
            if why is not None:
                failures.append(why)
                break
    return failures


Runner = Callable[[int, tuple[int, int, int, int]], int]


def runners_for(inst: Any, data: bytes) -> tuple[Runner, Runner]:
    """The case runners of one tier's instance of ``module_text()`` and wasmtime-py's."""
    mem = inst.memories[0]
    funcs = [inst.exports[f"f{i}"] for i in range(len(cases()))]

    def ours(i: int, args: tuple[int, int, int, int]) -> int:
        write_inputs(mem.view, args)
        funcs[i].call()
        return read_result(mem.view, cases()[i][0])

    return ours, wasmtime_runner(data)


def check_group(runners: tuple[Runner, Runner], group: int, groups: int) -> None:
    """Every ``groups``-th case from ``group`` on, 60 inputs each, against wasmtime-py."""
    ours, theirs = runners
    indices = list(range(group, len(cases()), groups))
    failures = check_all(ours, theirs, indices, inputs(seed=group, count=60))
    assert not failures, f"{len(failures)} instructions differ:\n" + "\n".join(failures[:30])
