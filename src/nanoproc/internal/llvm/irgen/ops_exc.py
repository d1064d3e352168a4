"""Wasm exceptions in generated code: tags, throw, throw_ref, try_table and the legacy
try/catch/catch_all/delegate/rethrow.

A *try region* (a try_table's body, a legacy try's body) pushes a handler record on
a chain whose head is StoreCtx.exn_top. The record is an alloca of the function:
the five words of ``llvm.eh.sjlj.setjmp``'s buffer (frame pointer, resume address,
stack pointer) and the record that was innermost before. Entering costs a few
stores and no call; every way out of the body (falling through, a branch out, a
return, a tail call) restores exn_top (FunctionGen.leave_regions). ``throw``
allocates the exception object, makes it StoreCtx.exn and ``llvm.eh.sjlj.longjmp``s
to the innermost record; with none (exn_top is null: each entry from Python clears
it and restores it on return) the exception leaves the entry as a TRAP_EXCEPTION
trap, which Python turns into ThrownException. The landing pops the record, compares
the exception's tag with each clause's and branches with the payload, or throws
the exception on to the next record.

setjmp returns twice: SSA values defined before it are right at the landing (the
call is marked returns_twice, so LLVM keeps them in stack slots of their own across
it), but a local promoted to a register and written in the body would read its old
value there. So locals the
body of a try region writes are kept in memory (their alloca escapes through an
empty asm). Functions without try regions are generated as they always were.

Exception objects are malloc'd: {tag record, flags, payload size, payload}, each
payload value in 8 bytes (16 for a vector; see abi.payload_layout). An object caught by ``catch``/``catch_all`` and never
exposed as an exnref is freed at once; one that an exnref may reach (``catch_ref``,
``catch_all_ref``, a legacy catch whose handler rethrows, objects made by Python)
is *exposed*: registered with the store, and freed by the collector
(:mod:`..exnheap`) once nothing can reach it.
"""

from __future__ import annotations

from ...syntax.module import Instr
from .. import abi
from .function import HANDLERS, Ctl, FunctionGen, handler
from .metering import flush, reload_fuel, store_fuel
from .types import lltype

DECLS = (
    "declare i32 @llvm.eh.sjlj.setjmp(ptr) nounwind",
    "declare ptr @llvm.stacksave.p0() nounwind",
    "declare noalias ptr @malloc(i64) nounwind",
    "declare void @free(ptr) nounwind",
)

EXPOSE = f"""\
define internal i32 @np_exn_expose(ptr %sc, ptr %obj) #1 {{
entry:
  %fp = getelementptr inbounds i8, ptr %obj, i64 {abi.EXN_FLAGS}
  %f = load i32, ptr %fp, align 4
  %e = and i32 %f, {abi.EXN_EXPOSED}
  %done = icmp ne i32 %e, 0
  br i1 %done, label %out, label %reg
reg:
  %f1 = or i32 %f, {abi.EXN_EXPOSED}
  store i32 %f1, ptr %fp, align 4
  %np = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["exn_n"]}
  %n = load i64, ptr %np, align 8
  %cp = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["exn_cap"]}
  %cap = load i64, ptr %cp, align 8
  %room = icmp ult i64 %n, %cap
  br i1 %room, label %add, label %full
full:
  %colp = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["exn_collect"]}
  %col = load ptr, ptr %colp, align 8
  %bad = call i32 %col(ptr %sc, ptr %obj, i32 3)
  %n2 = load i64, ptr %np, align 8
  %cap2 = load i64, ptr %cp, align 8
  %room2 = icmp ult i64 %n2, %cap2
  br i1 %room2, label %add, label %fail
fail:
  ret i32 1
add:
  %k = phi i64 [ %n, %reg ], [ %n2, %full ]
  %rp = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["exn_reg"]}
  %r = load ptr, ptr %rp, align 8
  %slot = getelementptr inbounds ptr, ptr %r, i64 %k
  store ptr %obj, ptr %slot, align 8
  %k1 = add i64 %k, 1
  store i64 %k1, ptr %np, align 8
  br label %out
out:
  ret i32 0
}}

define internal void @np_exn_drop(ptr %sc, ptr %obj) #1 {{
entry:
  %fp = getelementptr inbounds i8, ptr %obj, i64 {abi.EXN_FLAGS}
  %f = load i32, ptr %fp, align 4
  %e = and i32 %f, {abi.EXN_EXPOSED}
  %keep = icmp ne i32 %e, 0
  br i1 %keep, label %out, label %free
free:
  %xp = getelementptr inbounds i8, ptr %sc, i64 {abi.SC["exn"]}
  %x = load ptr, ptr %xp, align 8
  %inflight = icmp eq ptr %x, %obj
  br i1 %inflight, label %forget, label %release
forget:
  store ptr null, ptr %xp, align 8
  br label %release
release:
  call void @free(ptr %obj)
  br label %out
out:
  ret void
}}
"""
"""Registering an object that exnref values may reach (the collector runs when the
registry is full and makes room; 1 when there is none: too many live exceptions),
and freeing one that none can (StoreCtx.exn forgets it: the GC reads the payload
of the object in flight)."""


def _use(g: FunctionGen) -> None:
    for d in DECLS:
        g.intrinsic(d)
    g.info.routine("exn", EXPOSE)


def region_prelude(g: FunctionGen) -> list[str]:
    """Entry-block lines of a function with try regions: the handler records, and
    the escape of every local that a try region's body writes (see the module
    docstring)."""
    lines = [f"  %xr{k} = alloca [{abi.XREC_WORDS} x ptr], align 16" for k in range(g.regions)]
    depth = 0
    written: set[int] = set()
    for ins in g.body:
        name = ins[0].name
        if name in ("try_table", "try"):
            depth += 1
        elif depth and name in ("block", "loop", "if"):
            depth += 1
        elif depth and name in ("end", "delegate"):
            depth -= 1
        elif depth and name in ("local.set", "local.tee"):
            written.add(ins[1])
    for i in sorted(written):
        lines.append(f'  call void asm sideeffect "", "r"(ptr %l{i})')
    return lines


def tag_record(g: FunctionGen, tagidx: int) -> str:
    return g.ctx_load(("tag", tagidx), "ptr", g.info.layout.tag_off + 8 * tagidx)


def tag_params(g: FunctionGen, tagidx: int) -> list[str]:
    mod = g.info.module
    ft = mod.functype(mod.tag_types()[tagidx].typeidx)
    return [lltype(t) for t in ft.params]


def tag_layout(g: FunctionGen, tagidx: int) -> tuple[list[str], list[int], int]:
    """A tag's payload: LLVM types, offsets in the object, bytes (see abi.payload_layout)."""
    types = tag_params(g, tagidx)
    offsets, size = abi.payload_layout([16 if t.startswith("<") else 8 for t in types])
    return types, offsets, size


# ---------------------------------------------------------------- regions
def enter_region(g: FunctionGen) -> tuple[str, str, str]:
    """Push a handler record; returns (record, landing label, body label). The block
    is ended: the caller starts the landing or the body."""
    _use(g)
    rec = f"%xr{g.regions}"
    g.regions += 1
    sc = abi.SC["exn_top"]
    fp = g.value("call ptr @llvm.frameaddress.p0(i32 0)")
    g.emit(f"store ptr {fp}, ptr {rec}, align 16")
    sp = g.value("call ptr @llvm.stacksave.p0()")
    g.store_field("ptr", sp, rec, 16)
    prev = g.load_field("ptr", "%sc", sc)
    g.store_field("ptr", prev, rec, abi.XREC_PREV)
    g.store_field("ptr", rec, "%sc", sc)
    # returns_twice (#4) on the call: the function then "exposes returns twice", so
    # LLVM never gives a stack slot that the landing reads to another value later
    # in the body (stack slot colouring is off; without it a spilled tag record
    # was overwritten by a payload spilled around malloc, and the catch missed).
    r = g.value(f"call i32 @llvm.eh.sjlj.setjmp(ptr {rec}) #4")
    caught = g.value(f"icmp ne i32 {r}, 0")
    landing = g.new_label()
    body = g.new_label()
    g.emit(f"br i1 {caught}, label %{landing}, label %{body}")
    return rec, landing, body


def land(g: FunctionGen, rec: str, landing: str) -> str:
    """Start the landing of ``rec``: pop it; returns the exception in flight."""
    g.start(landing)
    prev = g.load_field("ptr", rec, abi.XREC_PREV)
    g.store_field("ptr", prev, "%sc", abi.SC["exn_top"])
    obj = g.load_field("ptr", "%sc", abi.SC["exn"])
    reload_fuel(g)
    return obj


def unwind(g: FunctionGen, obj: str, thrown: bool) -> None:
    """Throw ``obj`` to the innermost handler record (fuel already stored), or out of
    the entry as a TRAP_EXCEPTION trap when there is none. Ends the block.

    ``thrown``: a throw site (throw, throw_ref, rethrow), where the backtrace is
    recorded; else a landing passing on what it did not catch, which keeps the
    backtrace of the throw."""
    g.store_field("ptr", obj, "%sc", abi.SC["exn"])
    h = g.load_field("ptr", "%sc", abi.SC["exn_top"])
    none = g.value(f"icmp eq ptr {h}, null")
    out = g.new_label()
    jump = g.new_label()
    g.emit(f"br i1 {none}, label %{out}, label %{jump}")
    g.start(out)
    g.emit_trap(abi.TRAP_EXCEPTION, None if thrown else abi.KEEP_SITE)
    g.start(jump)
    if thrown:
        g.emit(f"call void @np_throw_site(ptr %sc, i32 {g.pc})")
    g.emit(f"call void @llvm.eh.sjlj.longjmp(ptr {h})")
    g.emit("unreachable")


def payload(g: FunctionGen, obj: str, tagidx: int) -> None:
    """Push the payload of ``obj`` (an exception of tag ``tagidx``)."""
    types, offsets, _ = tag_layout(g, tagidx)
    for t, off in zip(types, offsets):
        p = g.field_ptr(obj, off)
        g.push(t, g.value(f"load {t}, ptr {p}, align 8"))


def release(g: FunctionGen, obj: str, expose: bool) -> None:
    """The handler took what it needs from ``obj``: register it (an exnref may reach
    it) or free it (unless it was registered before)."""
    if expose:
        bad = g.value(f"call i32 @np_exn_expose(ptr %sc, ptr {obj})")
        g.trap_unless(g.value(f"icmp eq i32 {bad}, 0"), abi.TRAP_EXN_ALLOC)
    else:
        g.emit(f"call void @np_exn_drop(ptr %sc, ptr {obj})")


def tag_test(g: FunctionGen, obj: str, tagidx: int) -> tuple[str, str]:
    """Branch on whether ``obj`` has tag ``tagidx``: returns (match, no match) labels;
    continues nowhere (the caller starts one)."""
    have = g.load_field("ptr", obj, abi.EXN_TAG)
    want = tag_record(g, tagidx)
    same = g.value(f"icmp eq ptr {have}, {want}")
    yes = g.new_label()
    no = g.new_label()
    g.emit(f"br i1 {same}, label %{yes}, label %{no}")
    return yes, no


# ---------------------------------------------------------------- throw
@handler("throw")
def _throw(g: FunctionGen, ins: Instr) -> None:
    _use(g)
    tagidx = ins[1]
    types, offsets, size = tag_layout(g, tagidx)
    vals = g.popn(len(types))
    store_fuel(g)
    obj = g.value(f"call ptr @malloc(i64 {abi.EXN_PAYLOAD + size})")
    g.trap_unless(g.value(f"icmp ne ptr {obj}, null"), abi.TRAP_EXN_ALLOC)
    g.store_field("ptr", tag_record(g, tagidx), obj, abi.EXN_TAG)
    g.store_field("i64", str(size << 32), obj, abi.EXN_FLAGS)
    for (t, v), off in zip(vals, offsets):
        p = g.field_ptr(obj, off)
        g.emit(f"store {t} {v}, ptr {p}, align 8")
    unwind(g, obj, True)
    g.mark_dead()


@handler("throw_ref")
def _throw_ref(g: FunctionGen, ins: Instr) -> None:
    _use(g)
    obj = g.pop()
    store_fuel(g)
    g.trap_unless(g.value(f"icmp ne ptr {obj}, null"), abi.TRAP_NULL_EXN)
    unwind(g, obj, True)
    g.mark_dead()


@handler("rethrow")
def _rethrow(g: FunctionGen, ins: Instr) -> None:
    target = g.label(ins[1])
    store_fuel(g)
    unwind(g, target.exn, True)
    g.mark_dead()


# ---------------------------------------------------------------- try_table
@handler("try_table")
def _try_table(g: FunctionGen, ins: Instr) -> None:
    params, results = g.block_type(ins[1])
    height = len(g.stack) - len(params)
    flush(g)
    rec, landing, body = enter_region(g)
    # The landing, emitted first: the catch clauses' labels count from outside the
    # try_table, which is not open yet.
    obj = land(g, rec, landing)
    saved = g.stack
    g.stack = saved[:height]
    catch_all = False
    for cat in ins[2]:
        target = g.label(cat.label)
        n = len(g.stack)
        no = ""
        if cat.tag is not None:
            yes, no = tag_test(g, obj, cat.tag)
            g.start(yes)
            payload(g, obj, cat.tag)
        ref = cat.kind.endswith("_ref")
        release(g, obj, ref)
        if ref:
            g.push("ptr", obj)
        g.jump(target)
        del g.stack[n:]
        if not no:
            catch_all = True
            break
        g.start(no)
    if not catch_all:
        unwind(g, obj, False)
    g.stack = saved
    g.start(body)
    ctl = Ctl("try_table", params, results, height, g.new_label())
    ctl.rec = rec
    ctl.landing = landing
    g.open_region(ctl)
    g.ctls.append(ctl)


# ---------------------------------------------------------------- legacy try
def _rethrown(g: FunctionGen) -> set[int]:
    """Start pcs of the legacy trys some ``rethrow`` targets (their handlers keep the
    exception: it is exposed rather than freed)."""
    got = g.cached.get("rethrown")
    if got is None:
        out: set[int] = set()
        stack: list[int] = []
        for pc, ins in enumerate(g.body):
            name = ins[0].name
            if name in ("block", "loop", "if", "try_table", "try"):
                stack.append(pc)
            elif name in ("end", "delegate"):
                if stack:
                    stack.pop()
            elif name == "rethrow":
                out.add(stack[-1 - ins[1]])
        g.cached["rethrown"] = got = out  # type: ignore[assignment]
    return got  # type: ignore[return-value]


@handler("try")
def _try(g: FunctionGen, ins: Instr) -> None:
    params, results = g.block_type(ins[1])
    height = len(g.stack) - len(params)
    flush(g)
    rec, landing, body = enter_region(g)
    g.start(body)
    ctl = Ctl("try", params, results, height, g.new_label())
    ctl.rec = rec
    ctl.landing = landing
    ctl.start = g.pc
    g.open_region(ctl)
    g.ctls.append(ctl)


def _handlers_start(g: FunctionGen, ctl: Ctl) -> None:
    """End the try body (or the previous handler): fall through to the end; the
    first time, emit the landing."""
    if not g.dead:
        g.jump(ctl)
    del g.stack[ctl.height :]
    if ctl.rec_active:
        g.close_region(ctl)
        ctl.exn = land(g, ctl.rec, ctl.landing)
        ctl.dispatch = g.new_label()
        g.emit(f"br label %{ctl.dispatch}")


@handler("catch", "catch_all")
def _catch(g: FunctionGen, ins: Instr) -> None:
    ctl = g.ctls[-1]
    _handlers_start(g, ctl)
    g.start(ctl.dispatch)
    obj = ctl.exn
    if ins[0].name == "catch":
        yes, no = tag_test(g, obj, ins[1])
        ctl.dispatch = no
        g.start(yes)
        payload(g, obj, ins[1])
    else:
        ctl.dispatch = ""
    release(g, obj, ctl.start in _rethrown(g))
    g.dead = False
    g.skip = 0


def _close(g: FunctionGen, ctl: Ctl) -> None:
    """Finish a legacy try as a block ends (its branches' values meet at its end)."""
    g.dead = True
    ctl.kind = "block"
    _plain_end(g, ("end",))  # type: ignore[arg-type]


@handler("delegate")
def _delegate(g: FunctionGen, ins: Instr) -> None:
    ctl = g.ctls[-1]
    if not g.dead:
        g.jump(ctl)
    g.close_region(ctl)
    obj = land(g, ctl.rec, ctl.landing)
    target = _delegate_target(g.ctls[:-1], ins[1])
    if target is not None:
        # The target's landing pops its record (and any inner ones).
        g.emit(f"br label %{target.landing}")
    else:
        g.leave_regions(None)
        unwind(g, obj, False)
    _close(g, ctl)


def _delegate_target(outside: list[Ctl], label: int) -> Ctl | None:
    """The construct whose handler receives what ``delegate label`` hands on: the
    label's, if it is a try region still in its body, else the nearest such around
    it (None: the caller's). ``outside``: the open constructs around the delegating
    try, innermost last (the function first)."""
    k = len(outside) - 1 - label
    while k > 0:
        c = outside[k]
        if c.rec_active:
            return c
        k -= 1
    return None


_plain_end = HANDLERS["end"]


@handler("end")
def _end(g: FunctionGen, ins: Instr) -> None:
    ctl = g.ctls[-1]
    if ctl.kind == "try_table":
        _plain_end(g, ins)  # falling through leaves the region (FunctionGen.jump)
        g.close_region(ctl)
        return
    if ctl.kind != "try":
        _plain_end(g, ins)
        return
    _handlers_start(g, ctl)
    if ctl.dispatch:
        # No catch_all: what no catch took goes on to the next handler.
        g.start(ctl.dispatch)
        unwind(g, ctl.exn, False)
    _close(g, ctl)
