/* Native filter for function bodies: the fused check (valid/fused.py) in C.

   Compiled to LLVM IR by build.py and loaded through llvmlite (valid/native/__init__.py).
   Like fused.py it is a filter, not a validator: for each body it answers "valid, N
   instructions" (N >= 0) or -1 ("not sure"), and -1 is the answer for every error and
   for everything not handled exactly; the caller then runs the Python checks, which
   give the error and its offset. It handles a subset of fused.py's: numeric and vector
   value types only (a reference type anywhere it looks means -1), one-byte memarg flags,
   offsets below 2**32. Every read is bounds-checked against the body's end; stacks that
   would outgrow the caller's scratch space mean -1.

   Which kind each opcode has, and its operand types, come from the caller's tables,
   built from the operator table (syntax/ops.py) by the same rules as fused.py; the
   kind numbers below are fused.py's (K_*), in the same order (a test compares them). */

#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef int32_t i32;
typedef int64_t i64;
typedef uint64_t u64;

enum {
  K_LGET, K_I32C, K_BIN, K_BRIF, K_LSET, K_LTEE, K_LOAD, K_STORE, K_END, K_BLOCK,
  K_CALL, K_UN, K_BR, K_FIXED, K_ELSE, K_I64C, K_GGET, K_GSET, K_CONST,
  K_UNREACH, K_CALLI, K_SELECT, K_DROP, K_RETURN, K_BRTABLE, K_PREFIX, K_MEMSIZE,
  K_MEMGROW, K_TRYTABLE, K_THROW, K_THROWREF, K_SELECTT, K_MEMCOPY, K_MEMFILL,
  K_MEMINIT, K_DATADROP, K_BAIL,
  /* native only (fused.py leaves lane immediates to the full check) */
  K_LANE, K_SHUFFLE, K_LOADLANE, K_STORELANE
};

/* Value type codes: 1 i32, 2 i64, 3 f32, 4 f64, 5 v128, 6 exnref ((ref null exn)),
   7 (ref exn); 0 anything else. Types are equal iff their codes are; the only
   subtyping used is (ref exn) <: exnref, for try_table's catch clauses and throw_ref. */
#define T_I32 1
#define T_V128 5
#define T_EXNREF 6
#define T_EXN 7

/* Operator descriptors: index = opcode byte, or PREFIX_BASE(p) + sub-opcode for the
   prefixes 0xFB, 0xFC, 0xFD (sub-opcodes below PREFIX_SPAN). */
#define PREFIX_SPAN 512
#define NOPS (256 + 3 * PREFIX_SPAN)

typedef struct {
  const u8 *kind;      /* [NOPS] kind */
  const u8 *a;         /* [NOPS] BIN/UN: first operand; LOAD/STORE(LANE): natural alignment;
                          CONST: size */
  const u8 *b;         /* [NOPS] BIN: second operand; STORE: stored value; lane kinds: lanes */
  const u8 *c;         /* [NOPS] BIN/UN/LOAD/CONST: result */
  const i32 *sig;      /* [NOPS] FIXED: signature index */
  const u8 *byte_type; /* [256] value type byte -> code (0: not handled) */
  const u8 *sig_types; /* params then results of every signature */
  const u32 *sig_off;  /* [nsigs] */
  const u32 *sig_np;
  const u32 *sig_nr;
  const i32 *type_sig; /* [ntypes] type index -> signature, -1: not a handled function type */
  const i32 *func_sig; /* [nfuncs] function index -> signature, -1: not handled */
  const u8 *glob_type; /* [nglobals] code */
  const u8 *glob_mut;
  const u8 *mem_addr;  /* [nmems] address type code */
  const u8 *tab_funcref; /* [ntables] 1: holds function references */
  const u8 *tab_addr;
  const i32 *tag_sig;  /* [ntags] tag -> signature (its parameters), -1: not handled */
  u32 ntags;
  u32 ntypes, nfuncs, nglobals, nmems, ntables, ndatas;
  u32 max_locals;      /* parameters + locals above this: -1 (the Python check reports it) */
  u32 stack_cap, frames_cap, locals_cap;
  u8 *stack;           /* scratch: [stack_cap] */
  u8 *locals;          /* scratch: [locals_cap] */
  void *frames;        /* scratch: [frames_cap] Frame */
} Tables;

typedef struct {
  const u8 *lab, *endt, *par; /* label, end (result) and parameter types */
  u32 nlab, nend, npar;
  u32 h;                      /* operand stack height at the frame's start */
  u8 kind;                    /* opening opcode (0x05: an if's else part; 0: the function) */
  u8 unreach;                 /* the rest of this frame is unreachable */
  u8 typed;                   /* has parameters or results (else: the fast end) */
} Frame;

static const u8 ONE[8] = {0, 1, 2, 3, 4, 5, 6, 7}; /* ONE + code: a one-type list (codes < 8) */

#define NEED(n) do { if ((u64)(end - p) < (u64)(n)) return -1; } while (0)

/* A u32 LEB128 with binary.reader.read_u32's acceptance (five bytes at most, the
   fifth below 0x10). */
#define RD_U32(x) do {                                              \
    u32 b_; NEED(1); b_ = *p++; (x) = b_;                           \
    if (b_ >= 0x80) {                                               \
      (x) &= 0x7F; NEED(1); b_ = *p++; (x) |= (b_ & 0x7F) << 7;     \
      if (b_ >= 0x80) {                                             \
        NEED(1); b_ = *p++; (x) |= (b_ & 0x7F) << 14;               \
        if (b_ >= 0x80) {                                           \
          NEED(1); b_ = *p++; (x) |= (b_ & 0x7F) << 21;             \
          if (b_ >= 0x80) {                                         \
            NEED(1); b_ = *p++; if (b_ >= 0x10) return -1;          \
            (x) |= b_ << 28;                                        \
          }                                                         \
        }                                                           \
      }                                                             \
    }                                                               \
  } while (0)

/* Pop and check ``n`` types ``ts`` (within the current frame). */
#define POP_TYPES(ts, n) do {                                       \
    u32 n_ = (n);                                                   \
    if (n_) {                                                       \
      if (sp - fr->h < n_) return -1;                               \
      for (u32 i_ = 0; i_ < n_; i_++)                               \
        if (stack[sp - n_ + i_] != (ts)[i_]) return -1;             \
      sp -= n_;                                                     \
    }                                                               \
  } while (0)

/* Check without popping. */
#define HAS_TYPES(ts, n) do {                                       \
    u32 n_ = (n);                                                   \
    if (n_) {                                                       \
      if (sp - fr->h < n_) return -1;                               \
      for (u32 i_ = 0; i_ < n_; i_++)                               \
        if (stack[sp - n_ + i_] != (ts)[i_]) return -1;             \
    }                                                               \
  } while (0)

#define PUSH_TYPES(ts, n) do {                                      \
    u32 n_ = (n);                                                   \
    if (n_ > cap - sp) return -1;                                   \
    for (u32 i_ = 0; i_ < n_; i_++) stack[sp + i_] = (ts)[i_];      \
    sp += n_;                                                       \
  } while (0)

#define PUSH(t) do { if (sp >= cap) return -1; stack[sp++] = (t); } while (0)
/* The top operand of the current frame must be ``t``. */
#define TOP_IS(t) (sp > fr->h && stack[sp - 1] == (t))

/* A memarg: one-byte flags not above the natural alignment (memory 0), an offset
   below 2**32 (what read_uleb(.., 64) accepts in at most five bytes). Sets ``addr``. */
#define MEMARG(natural) do {                                        \
    u32 f_, o_; NEED(1); f_ = *p++;                                 \
    if (f_ > (natural) || t->nmems == 0) return -1;                 \
    RD_U32(o_); (void)o_;                                           \
    addr = t->mem_addr[0];                                          \
  } while (0)

/* A block type other than 0x40 whose first byte ``bt`` was read: a one-byte value
   type, or a type index as read_blocktype reads it (an s33 that must not be
   negative: in a fifth byte the bits above the value's 32 must be clear). Sets par,
   np, res, nr. */
#define BLOCKTYPE(bt) do {                                          \
    u32 x_ = (bt);                                                  \
    if (x_ >= 0x40 && x_ < 0x80) {                                  \
      u8 ty_ = t->byte_type[x_];                                    \
      if (ty_ == 0) return -1;                                      \
      res = ONE + ty_;                                              \
      nr = 1;                                                       \
    } else {                                                        \
      if (x_ >= 0x80) {                                             \
        u32 b_, sh_ = 7;                                            \
        x_ &= 0x7F;                                                 \
        for (;;) {                                                  \
          NEED(1); b_ = *p++;                                       \
          if (sh_ == 28) {                                          \
            if (b_ & 0xF0) return -1;                               \
            x_ |= b_ << 28;                                         \
            break;                                                  \
          }                                                         \
          x_ |= (b_ & 0x7F) << sh_;                                 \
          if (b_ < 0x80) {                                          \
            if (b_ & 0x40) return -1; /* negative */                \
            break;                                                  \
          }                                                         \
          sh_ += 7;                                                 \
        }                                                           \
      }                                                             \
      if (x_ >= t->ntypes || t->type_sig[x_] < 0) return -1;        \
      sig_of(t, t->type_sig[x_], &par, &np, &res, &nr);             \
    }                                                               \
  } while (0)

static inline void sig_of(const Tables *t, i32 s, const u8 **par, u32 *np, const u8 **res,
                          u32 *nr) {
  u32 off = t->sig_off[s];
  *np = t->sig_np[s];
  *nr = t->sig_nr[s];
  *par = t->sig_types + off;
  *res = t->sig_types + off + *np;
}

/* Check one body: its locals at data[lpos:ipos], its instructions at data[ipos:end].
   Returns the instruction count (the final end not counted) or -1. */
__attribute__((noinline)) i64 np_check_body(const Tables *t, const u8 *data, u64 len, u64 lpos, u64 ipos, u64 end_,
                  u32 func) {
  if (end_ > len || ipos > end_ || lpos > ipos || func >= t->nfuncs) return -1;
  i32 fsig = t->func_sig[func];
  if (fsig < 0) return -1;
  const u8 *fpar, *fres;
  u32 fnp, fnr;
  sig_of(t, fsig, &fpar, &fnp, &fres, &fnr);

  /* Locals: the parameters, then the declared groups (numeric/vector types only). */
  u8 *restrict locals = t->locals;
  u32 nlocals = fnp;
  if (fnp > t->max_locals || fnp > t->locals_cap) return -1;
  for (u32 i = 0; i < fnp; i++) locals[i] = fpar[i];
  {
    const u8 *p = data + lpos, *end = data + ipos;
    u32 ngroups;
    RD_U32(ngroups);
    for (u32 g = 0; g < ngroups; g++) {
      u32 c;
      RD_U32(c);
      NEED(1);
      u8 ty = t->byte_type[*p++];
      if (ty == 0) return -1;
      if (c > t->max_locals - nlocals || c > t->locals_cap - nlocals) return -1;
      for (u32 i = 0; i < c; i++) locals[nlocals + i] = ty;
      nlocals += c;
    }
    if (p != end) return -1; /* not where the decoder found the instructions */
  }

  const u8 *p = data + ipos, *end = data + end_;
  u8 *restrict stack = t->stack; /* restrict: its stores leave the tables in registers */
  u32 cap = t->stack_cap;
  Frame *frames = (Frame *)t->frames;
  u32 fcap = t->frames_cap;
  u32 sp = 0, nf = 1;
  Frame *fr = &frames[0];
  fr->lab = fres; fr->nlab = fnr;
  fr->endt = fres; fr->nend = fnr;
  fr->par = ONE; fr->npar = 0;
  fr->h = 0; fr->kind = 0; fr->unreach = 0; fr->typed = 1;
  i64 n = 0;

  for (;; n++) {
    NEED(1);
    u32 op = *p++;
    u32 k = t->kind[op];
    u8 addr;
    switch (k) {
    case K_LGET: {
      u32 x; RD_U32(x);
      if (x >= nlocals) return -1;
      PUSH(locals[x]);
      break;
    }
    case K_I32C: {
      /* s32: one to four bytes always fit; a fifth as read_s32 accepts it */
      NEED(1);
      if (*p++ >= 0x80) { NEED(1);
        if (*p++ >= 0x80) { NEED(1);
          if (*p++ >= 0x80) { NEED(1);
            if (*p++ >= 0x80) {
              NEED(1);
              u8 x = *p++;
              if (!(x < 0x08 || (x >= 0x78 && x < 0x80))) return -1;
            } } } }
      PUSH(T_I32);
      break;
    }
    case K_I64C: {
      /* s64: up to nine bytes always fit; a tenth must be 0x00 or 0x7F (read_sleb) */
      u32 i = 0;
      for (;;) {
        NEED(1);
        u8 x = *p++;
        if (i == 9) {
          if (x != 0x00 && x != 0x7F) return -1;
          break;
        }
        if (x < 0x80) break;
        i++;
      }
      PUSH(2);
      break;
    }
    case K_BIN:
      if (sp - fr->h < 2 || stack[sp - 1] != t->b[op] || stack[sp - 2] != t->a[op]) return -1;
      sp--;
      stack[sp - 1] = t->c[op];
      break;
    case K_UN:
      if (!TOP_IS(t->a[op])) return -1;
      stack[sp - 1] = t->c[op];
      break;
    case K_BRIF: {
      u32 x; RD_U32(x);
      if (x >= nf) return -1;
      if (!TOP_IS(T_I32)) return -1;
      sp--;
      Frame *lf = &frames[nf - 1 - x];
      HAS_TYPES(lf->lab, lf->nlab);
      break;
    }
    case K_LSET: case K_LTEE: {
      u32 x; RD_U32(x);
      if (x >= nlocals || !TOP_IS(locals[x])) return -1;
      if (k == K_LSET) sp--;
      break;
    }
    case K_LOAD:
      MEMARG(t->a[op]);
      if (!TOP_IS(addr)) return -1;
      stack[sp - 1] = t->c[op];
      break;
    case K_STORE:
      MEMARG(t->a[op]);
      if (sp - fr->h < 2 || stack[sp - 1] != t->b[op] || stack[sp - 2] != addr) return -1;
      sp -= 2;
      break;
    case K_END: {
      if (!fr->typed) {
        if (sp != fr->h) return -1;
      } else {
        if (!(fr->unreach && sp == fr->h)) {
          if (sp - fr->h != fr->nend) return -1;
          for (u32 i = 0; i < fr->nend; i++)
            if (stack[fr->h + i] != fr->endt[i]) return -1;
        }
        if (fr->kind == 0x04) {
          /* an if without else passes its parameters through */
          if (fr->npar != fr->nend) return -1;
          for (u32 i = 0; i < fr->npar; i++)
            if (fr->par[i] != fr->endt[i]) return -1;
        }
        if (nf == 1) /* the function's end: the body must end here */
          return p == end ? n : -1;
        sp = fr->h;
        PUSH_TYPES(fr->endt, fr->nend);
      }
      nf--;
      fr = &frames[nf - 1];
      break;
    }
    case K_BLOCK: {
      NEED(1);
      u32 bt = *p++;
      if (op == 0x04) {
        if (!TOP_IS(T_I32)) return -1;
        sp--;
      }
      const u8 *par = ONE, *res = ONE;
      u32 np = 0, nr = 0;
      u8 typed = 0;
      if (bt != 0x40) {
        typed = 1;
        BLOCKTYPE(bt);
        POP_TYPES(par, np);
      }
      if (nf >= fcap) return -1;
      Frame *nfr = &frames[nf++];
      nfr->lab = op == 0x03 ? par : res;
      nfr->nlab = op == 0x03 ? np : nr;
      nfr->endt = res; nfr->nend = nr;
      nfr->par = par; nfr->npar = np;
      nfr->h = sp; nfr->kind = (u8)op; nfr->unreach = 0; nfr->typed = typed;
      fr = nfr;
      PUSH_TYPES(par, np);
      break;
    }
    case K_ELSE:
      if (fr->kind != 0x04) return -1;
      if (!fr->typed) {
        if (sp != fr->h) return -1;
      } else {
        if (!(fr->unreach && sp == fr->h)) {
          if (sp - fr->h != fr->nend) return -1;
          for (u32 i = 0; i < fr->nend; i++)
            if (stack[fr->h + i] != fr->endt[i]) return -1;
        }
        sp = fr->h;
        PUSH_TYPES(fr->par, fr->npar);
      }
      fr->kind = 0x05;
      fr->unreach = 0;
      break;
    case K_CALL: {
      u32 x; RD_U32(x);
      if (x >= t->nfuncs || t->func_sig[x] < 0) return -1;
      const u8 *par, *res; u32 np, nr;
      sig_of(t, t->func_sig[x], &par, &np, &res, &nr);
      POP_TYPES(par, np);
      PUSH_TYPES(res, nr);
      break;
    }
    case K_CALLI: {
      u32 x, y; RD_U32(x); RD_U32(y);
      if (x >= t->ntypes || t->type_sig[x] < 0 || y >= t->ntables) return -1;
      if (!t->tab_funcref[y] || !TOP_IS(t->tab_addr[y])) return -1;
      sp--;
      const u8 *par, *res; u32 np, nr;
      sig_of(t, t->type_sig[x], &par, &np, &res, &nr);
      POP_TYPES(par, np);
      PUSH_TYPES(res, nr);
      break;
    }
    case K_BR: {
      u32 x; RD_U32(x);
      if (x >= nf) return -1;
      Frame *lf = &frames[nf - 1 - x];
      HAS_TYPES(lf->lab, lf->nlab);
      sp = fr->h;
      fr->unreach = 1;
      break;
    }
    case K_BRTABLE: {
      u32 count; RD_U32(count);
      const u8 *targets = p;
      for (u32 i = 0; i < count; i++) { u32 x; RD_U32(x); (void)x; }
      u32 dx; RD_U32(dx);
      if (dx >= nf) return -1;
      const u8 *after = p;
      Frame *df = &frames[nf - 1 - dx];
      if (!TOP_IS(T_I32)) return -1;
      sp--;
      p = targets;
      for (u32 i = 0; i < count; i++) {
        u32 x; RD_U32(x);
        if (x >= nf) return -1;
        Frame *lf = &frames[nf - 1 - x];
        if (lf->nlab != df->nlab) return -1;
        HAS_TYPES(lf->lab, lf->nlab);
      }
      p = after;
      HAS_TYPES(df->lab, df->nlab);
      sp = fr->h;
      fr->unreach = 1;
      break;
    }
    case K_FIXED: {
      const u8 *par, *res; u32 np, nr;
      sig_of(t, t->sig[op], &par, &np, &res, &nr);
      POP_TYPES(par, np);
      PUSH_TYPES(res, nr);
      break;
    }
    case K_GGET: case K_GSET: {
      u32 x; RD_U32(x);
      if (x >= t->nglobals || t->glob_type[x] == 0) return -1;
      u8 ty = t->glob_type[x];
      if (k == K_GGET) {
        PUSH(ty);
      } else {
        if (!t->glob_mut[x] || !TOP_IS(ty)) return -1;
        sp--;
      }
      break;
    }
    case K_CONST:
      NEED(t->a[op]);
      p += t->a[op];
      PUSH(t->c[op]);
      break;
    case K_UNREACH:
      sp = fr->h;
      fr->unreach = 1;
      break;
    case K_SELECT: {
      if (sp - fr->h < 3 || stack[sp - 1] != T_I32) return -1;
      u8 ty = stack[sp - 2];
      if (ty != stack[sp - 3] || ty == 0 || ty > T_V128) return -1; /* numeric or vector */
      sp -= 2;
      break;
    }
    case K_SELECTT: {
      NEED(2);
      if (p[0] != 1) return -1; /* one type, as a one-byte count */
      u8 ty = t->byte_type[p[1]];
      p += 2;
      if (ty == 0 || sp - fr->h < 3 || stack[sp - 1] != T_I32 || stack[sp - 2] != ty ||
          stack[sp - 3] != ty)
        return -1;
      sp -= 2;
      break;
    }
    case K_DROP:
      if (sp > fr->h) sp--;
      else if (!fr->unreach) return -1;
      break;
    case K_RETURN:
      HAS_TYPES(fres, fnr);
      sp = fr->h;
      fr->unreach = 1;
      break;
    case K_MEMSIZE: {
      u32 x; RD_U32(x);
      if (x >= t->nmems) return -1;
      PUSH(t->mem_addr[x]);
      break;
    }
    case K_MEMGROW: {
      u32 x; RD_U32(x);
      if (x >= t->nmems || !TOP_IS(t->mem_addr[x])) return -1;
      break;
    }
    case K_TRYTABLE: {
      NEED(1);
      u32 bt = *p++;
      const u8 *par = ONE, *res = ONE;
      u32 np = 0, nr = 0;
      if (bt != 0x40)
        BLOCKTYPE(bt);
      u32 count; RD_U32(count);
      for (u32 i = 0; i < count; i++) {
        NEED(1);
        u32 ck = *p++;
        if (ck > 3) return -1;
        const u8 *carried = ONE, *rp;
        u32 nc = 0, nrp;
        if (ck < 2) {
          u32 tag; RD_U32(tag);
          if (tag >= t->ntags || t->tag_sig[tag] < 0) return -1;
          sig_of(t, t->tag_sig[tag], &carried, &nc, &rp, &nrp);
        }
        u32 x; RD_U32(x);
        if (x >= nf) return -1;
        Frame *lf = &frames[nf - 1 - x];
        u32 ref = ck & 1; /* catch_ref, catch_all_ref: an exception reference too */
        if (lf->nlab != nc + ref) return -1;
        for (u32 j = 0; j < nc; j++)
          if (carried[j] != lf->lab[j]) return -1;
        if (ref && lf->lab[nc] != T_EXNREF && lf->lab[nc] != T_EXN) return -1;
      }
      POP_TYPES(par, np);
      if (nf >= fcap) return -1;
      Frame *nfr = &frames[nf++];
      nfr->lab = res; nfr->nlab = nr;
      nfr->endt = res; nfr->nend = nr;
      nfr->par = par; nfr->npar = np;
      nfr->h = sp; nfr->kind = (u8)op; nfr->unreach = 0; nfr->typed = 1;
      fr = nfr;
      PUSH_TYPES(par, np);
      break;
    }
    case K_THROW: {
      u32 tag; RD_U32(tag);
      if (tag >= t->ntags || t->tag_sig[tag] < 0) return -1;
      const u8 *par, *res; u32 np, nr;
      sig_of(t, t->tag_sig[tag], &par, &np, &res, &nr);
      HAS_TYPES(par, np);
      sp = fr->h;
      fr->unreach = 1;
      break;
    }
    case K_THROWREF:
      if (sp <= fr->h || (stack[sp - 1] != T_EXNREF && stack[sp - 1] != T_EXN)) return -1;
      sp = fr->h;
      fr->unreach = 1;
      break;
    case K_PREFIX: {
      u32 sub; RD_U32(sub);
      if (sub >= PREFIX_SPAN) return -1;
      u32 base = op == 0xFB ? 256 : op == 0xFC ? 256 + PREFIX_SPAN : 256 + 2 * PREFIX_SPAN;
      u32 q = base + sub;
      switch (t->kind[q]) {
      case K_FIXED: {
        const u8 *par, *res; u32 np, nr;
        sig_of(t, t->sig[q], &par, &np, &res, &nr);
        POP_TYPES(par, np);
        PUSH_TYPES(res, nr);
        break;
      }
      case K_CONST:
        NEED(t->a[q]);
        p += t->a[q];
        PUSH(t->c[q]);
        break;
      case K_LOAD:
        MEMARG(t->a[q]);
        if (!TOP_IS(addr)) return -1;
        stack[sp - 1] = t->c[q];
        break;
      case K_STORE:
        MEMARG(t->a[q]);
        if (sp - fr->h < 2 || stack[sp - 1] != t->b[q] || stack[sp - 2] != addr) return -1;
        sp -= 2;
        break;
      case K_MEMCOPY: {
        u32 d, s; RD_U32(d); RD_U32(s);
        if (d >= t->nmems || s >= t->nmems) return -1;
        u8 da = t->mem_addr[d], sa = t->mem_addr[s];
        u8 na = (da == T_I32 || sa == T_I32) ? T_I32 : da;
        if (sp - fr->h < 3 || stack[sp - 1] != na || stack[sp - 2] != sa || stack[sp - 3] != da)
          return -1;
        sp -= 3;
        break;
      }
      case K_MEMFILL: {
        u32 x; RD_U32(x);
        if (x >= t->nmems) return -1;
        u8 a = t->mem_addr[x];
        if (sp - fr->h < 3 || stack[sp - 1] != a || stack[sp - 2] != T_I32 || stack[sp - 3] != a)
          return -1;
        sp -= 3;
        break;
      }
      case K_MEMINIT: {
        u32 d, x; RD_U32(d); RD_U32(x);
        if (d >= t->ndatas || x >= t->nmems) return -1;
        if (sp - fr->h < 3 || stack[sp - 1] != T_I32 || stack[sp - 2] != T_I32 ||
            stack[sp - 3] != t->mem_addr[x])
          return -1;
        sp -= 3;
        break;
      }
      case K_DATADROP: {
        u32 d; RD_U32(d);
        if (d >= t->ndatas) return -1;
        break;
      }
      case K_LANE: {
        NEED(1);
        if (*p++ >= t->b[q]) return -1;
        const u8 *par, *res; u32 np, nr;
        sig_of(t, t->sig[q], &par, &np, &res, &nr);
        POP_TYPES(par, np);
        PUSH_TYPES(res, nr);
        break;
      }
      case K_SHUFFLE: {
        NEED(16);
        for (u32 i = 0; i < 16; i++)
          if (p[i] >= t->b[q]) return -1;
        p += 16;
        const u8 *par, *res; u32 np, nr;
        sig_of(t, t->sig[q], &par, &np, &res, &nr);
        POP_TYPES(par, np);
        PUSH_TYPES(res, nr);
        break;
      }
      case K_LOADLANE: case K_STORELANE: {
        MEMARG(t->a[q]);
        NEED(1);
        if (*p++ >= t->b[q]) return -1;
        if (sp - fr->h < 2 || stack[sp - 1] != T_V128 || stack[sp - 2] != addr) return -1;
        sp -= 2;
        if (t->kind[q] == K_LOADLANE) stack[sp++] = T_V128;
        break;
      }
      default:
        return -1;
      }
      break;
    }
    default:
      return -1;
    }
  }
}

/* sizeof(Frame) and sizeof(Tables), which the caller checks against its own layout. */
u64 np_sizes(void) { return (u64)sizeof(Frame) << 32 | sizeof(Tables); }

/* Check ``count`` bodies; out[i] is np_check_body's answer for body i. */
void np_check_bodies(const Tables *t, const u8 *data, u64 len, u32 count, const u64 *lpos,
                     const u64 *ipos, const u64 *end, const u32 *func, i64 *out) {
  for (u32 i = 0; i < count; i++)
    out[i] = np_check_body(t, data, len, lpos[i], ipos[i], end[i], func[i]);
}
