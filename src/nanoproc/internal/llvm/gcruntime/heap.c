/* The llvm tier's GC heap: allocation slow paths and a mark-sweep collector.
 *
 * Rebuilt into ir.py by build.py (clang -> LLVM bitcode -> IR text for llvmlite);
 * the Python side (../gcheap.py) loads that IR once per process.
 *
 * Heap layout: one reserved range, cut into PAGE-sized pages. A small page holds
 * cells of one size class; a large object takes a run of whole pages. Every object
 * starts with a header word: the address of its type's Rtt (8-aligned), bit 1 set
 * while the object is marked during a collection. A free cell's first word is the
 * next free cell of its class with bit 0 set, so a free cell never looks like an
 * object. Arrays keep their length (u32) at offset 8 and elements from offset 16.
 *
 * References in object fields and on the stack are tagged by their low bits
 * (see ../gcheap.py): 0 null, bit 0 an i31, bit 1 the "other hierarchy" tag (a host
 * object in an anyref, a GC object in an externref); GC objects and host (Python)
 * objects are both at least 4-aligned, and only GC objects lie inside the range.
 *
 * Roots: what Python holds (passed as an array of addresses), and every word of
 * the native stack between the collector's own frame and the outermost Wasm entry
 * (conservatively: any word that points into a live object keeps it). Host object
 * addresses found in live objects are reported back, so Python keeps exactly those.
 *
 * Exception objects (../exnheap.py: malloc'd, {tag, flags u32, size u32, payload})
 * may be passed as an ExnWorld: then one marking covers both kinds of object (a
 * struct's exnref field keeps its exception alive, an exception's payload keeps the
 * GC objects in it alive; cycles through both are freed), and the registered
 * exception objects nothing reached are freed too. Exnref fields are flagged in the
 * type descriptor (EXN_FIELD in a struct's offsets, nrefs == ELEMS_EXN for an array).
 */

#include <stddef.h>
#include <stdint.h>

void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int munmap(void *addr, size_t len);
int madvise(void *addr, size_t len, int advice);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

#define PAGE_SHIFT 16
#define PAGE ((uint64_t)1 << PAGE_SHIFT)
#define NCLASSES 64
#define SMALL_MAX 4096
#define CLASS_OF_LEN (SMALL_MAX / 8 + 1)

#define PG_FREE 0u
#define PG_LARGE_HEAD 0x40000000u /* | number of pages */
#define PG_LARGE_TAIL 0x80000000u /* | distance to the head page */
#define PG_NUM 0x3FFFFFFFu

#define KIND_STRUCT 1
#define KIND_ARRAY 2

#define MARK 2ull
#define FREE_BIT 1ull

#define ABI_VERSION 4

#define EXN_FIELD 0x80000000u /* in Rtt.offsets: the field holds an exnref */
#define ELEMS_EXN 2u          /* Rtt.nrefs of an array of exnrefs */
/* Exception objects (../abi.py EXN_*) */
#define EXN_FLAGS 8
#define EXN_SIZE 12
#define EXN_PAYLOAD 16
#define EXN_MARK 2u
#define EXN_MAX_PAYLOAD (1u << 20) /* more is not an exception object (never scanned) */

typedef struct Rtt {
  uint32_t kind;             /* KIND_STRUCT or KIND_ARRAY */
  uint32_t depth;            /* length of the declared supertype chain */
  uint32_t size;             /* struct: object bytes; array: element bytes */
  uint32_t nrefs;            /* struct: traced fields; array: 1 if elements are traced,
                                ELEMS_EXN if they are exnrefs */
  struct Rtt **display;      /* display[0..depth]: root supertype .. this type */
  uint32_t *offsets;         /* struct: byte offsets of the traced fields (| EXN_FIELD) */
  uint64_t cid;              /* canonical type id (for Python) */
} Rtt;

typedef int64_t (*collect_fn)(void *ctx);

/* A store's exception objects, for a collection of both kinds (see the top). */
typedef struct ExnWorld {
  uint64_t *reg;            /* the registered objects; the sweep compacts them */
  uint64_t n;               /* how many; the sweep stores the survivors' count */
  const uint64_t *ranges;   /* [from, to) pairs of address ranges of exnref words */
  uint64_t nranges;
  const uint64_t *forced;   /* objects whose payloads are roots (in flight, new) */
  uint64_t nforced;
} ExnWorld;

typedef struct Heap {
  /* ---- read by generated code (offsets in ../gcheap.py) ---- */
  uint64_t free[NCLASSES];           /* 0: free-list head per class, 0 when empty */
  uint8_t class_of[CLASS_OF_LEN + 7]; /* 512: class of a (size + 7) / 8 */
  void *alloc_slow;                  /* 1032: np_gc_alloc_slow */
  void *alloc_any;                   /* 1040: np_gc_alloc */
  /* ---- private ---- */
  uint32_t class_size[NCLASSES];
  uint32_t class_inv[NCLASSES];      /* ceil(2**32 / size): cell index by multiplication */
  uint32_t nclasses;
  uint8_t *base;
  uint64_t reserved;                 /* bytes of address space reserved */
  uint64_t used;                     /* pages ever handed out (high-water mark) */
  uint64_t limit_pages;              /* most pages in use at once */
  uint64_t in_use;                   /* pages in use now */
  uint32_t *page;                    /* per page: PG_* or 1 + class */
  uint64_t *free_pages;              /* free page numbers below `used` (top: lowest) */
  uint64_t nfree_pages;
  uint64_t keep_free;                /* pages a sweep frees and keeps committed */
  uint64_t allocated;                /* bytes of pages taken since the last collection */
  uint64_t threshold;                /* collect once `allocated` reaches it */
  uint64_t min_threshold;
  uint64_t live;                     /* bytes marked by the last collection */
  uint64_t collections;
  collect_fn collect;
  void *ctx;
  uint64_t *stack;                   /* mark stack */
  uint64_t sp, stack_cap;
  uint64_t *hosts;                   /* host addresses found in live objects */
  uint64_t nhosts, hosts_cap;
  int64_t collecting;
  int64_t overflowed;                /* 1: the mark stack could not grow; 2: hosts */
  /* exception objects, during a collection given an ExnWorld */
  uint64_t *eset;                    /* open-addressing set of registered objects */
  uint64_t emask, eshift;
  uint64_t *ework;                   /* marked objects whose payload is not scanned yet */
  uint64_t esp;
} Heap;

/* ------------------------------------------------------------------ pages */

static uint8_t *page_addr(Heap *h, uint64_t p) { return h->base + (p << PAGE_SHIFT); }

static void drop_pages(Heap *h, uint64_t p, uint64_t n) {
  madvise(page_addr(h, p), n << PAGE_SHIFT, 4 /* MADV_DONTNEED */);
}

/* Pages [p, p+n) leave the heap's use (during a sweep; the sweep then lists the
 * free pages again). Up to keep_free freed pages stay committed per sweep, the rest
 * go back to the system. */
static void release_pages(Heap *h, uint64_t p, uint64_t n, uint64_t *kept) {
  for (uint64_t i = 0; i < n; i++) {
    h->page[p + i] = PG_FREE;
  }
  h->in_use -= n;
  if (n == 1 && *kept < h->keep_free) {
    (*kept)++;
  } else {
    drop_pages(h, p, n);
  }
}

/* A free page number, or -1. */
static int64_t take_page(Heap *h) {
  if (h->in_use >= h->limit_pages) {
    return -1;
  }
  while (h->nfree_pages) {
    uint64_t p = h->free_pages[--h->nfree_pages];
    if (h->page[p] == PG_FREE) { /* else a large object took it since */
      h->in_use++;
      return (int64_t)p;
    }
  }
  if (h->used < h->reserved >> PAGE_SHIFT) {
    h->in_use++;
    return (int64_t)h->used++;
  }
  return -1;
}

/* A run of n free pages, or -1. */
static int64_t take_run(Heap *h, uint64_t n) {
  if (h->in_use + n > h->limit_pages) {
    return -1;
  }
  uint64_t run = 0;
  for (uint64_t p = 0; p < h->used; p++) {
    run = h->page[p] == PG_FREE ? run + 1 : 0;
    if (run == n) {
      h->in_use += n;
      return (int64_t)(p + 1 - n);
    }
  }
  /* The run may end in fresh pages above the high-water mark. */
  uint64_t start = h->used - run;
  if (start + n <= h->reserved >> PAGE_SHIFT) {
    h->used = start + n;
    h->in_use += n;
    return (int64_t)start;
  }
  return -1;
}

/* Cut page p into free cells of class c, appended to the class's free list. */
static void carve(Heap *h, uint64_t p, uint32_t c) {
  uint64_t size = h->class_size[c];
  uint64_t n = PAGE / size;
  uint8_t *a = page_addr(h, p);
  h->page[p] = 1 + c;
  uint64_t next = h->free[c];
  for (uint64_t i = n; i-- > 0;) {
    uint64_t *cell = (uint64_t *)(a + i * size);
    cell[0] = next | FREE_BIT;
    next = (uint64_t)cell;
  }
  h->free[c] = next;
  h->allocated += PAGE;
}

/* ------------------------------------------------------------------ allocation */

static int collect_now(Heap *h) {
  if (!h->collect || h->collecting) {
    return 0;
  }
  h->collecting = 1;
  int64_t ok = h->collect(h->ctx);
  h->collecting = 0;
  return ok != 0;
}

/* A cell of class c (its first word is garbage), or 0 when the heap is full. */
void *np_gc_alloc_slow(Heap *h, uint32_t c) {
  int collected = 0;
  if (h->allocated >= h->threshold) {
    collected = collect_now(h);
  }
  for (;;) {
    uint64_t cell = h->free[c];
    if (cell) {
      h->free[c] = *(uint64_t *)cell & ~FREE_BIT;
      return (void *)cell;
    }
    int64_t p = take_page(h);
    if (p >= 0) {
      carve(h, (uint64_t)p, c);
      continue;
    }
    if (collected || !collect_now(h)) {
      return 0;
    }
    collected = 1;
  }
}

static void *alloc_large(Heap *h, uint64_t bytes) {
  uint64_t n = (bytes + PAGE - 1) >> PAGE_SHIFT;
  int collected = 0;
  if (h->allocated + (n << PAGE_SHIFT) >= h->threshold) {
    collected = collect_now(h);
  }
  for (;;) {
    int64_t p = take_run(h, n);
    if (p >= 0) {
      h->page[p] = PG_LARGE_HEAD | (uint32_t)n;
      for (uint64_t i = 1; i < n; i++) {
        h->page[p + i] = PG_LARGE_TAIL | (uint32_t)i;
      }
      h->allocated += n << PAGE_SHIFT;
      return page_addr(h, (uint64_t)p);
    }
    if (collected || !collect_now(h)) {
      return 0;
    }
    collected = 1;
  }
}

/* Memory for an object of `bytes` bytes (its first word is garbage), or 0. */
void *np_gc_alloc(Heap *h, uint64_t bytes) {
  if (bytes > SMALL_MAX) {
    if (bytes > h->reserved) {
      return 0;
    }
    return alloc_large(h, bytes);
  }
  uint32_t c = h->class_of[(bytes + 7) >> 3];
  uint64_t cell = h->free[c];
  if (cell) {
    h->free[c] = *(uint64_t *)cell & ~FREE_BIT;
    return (void *)cell;
  }
  return np_gc_alloc_slow(h, c);
}

/* ------------------------------------------------------------------ creation */

/* A heap reserving `reserve` bytes, allowing `limit` bytes in use; `sizes` are the
 * class sizes (ascending multiples of 8, the last one SMALL_MAX). 0 on failure. */
Heap *np_gc_new(uint64_t reserve, uint64_t limit, const uint32_t *sizes, uint32_t nclasses,
                uint64_t min_threshold, collect_fn collect, void *ctx) {
  if (nclasses == 0 || nclasses > NCLASSES || sizes[nclasses - 1] != SMALL_MAX) {
    return 0;
  }
  reserve = (reserve + PAGE - 1) & ~(PAGE - 1);
  Heap *h = malloc(sizeof(Heap));
  if (!h) {
    return 0;
  }
  uint8_t *zero = (uint8_t *)h;
  for (uint64_t i = 0; i < sizeof(Heap); i++) {
    zero[i] = 0;
  }
  /* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE */
  void *base = mmap(0, reserve, 3, 0x02 | 0x20 | 0x4000, -1, 0);
  if (base == (void *)-1) {
    free(h);
    return 0;
  }
  uint64_t npages = reserve >> PAGE_SHIFT;
  h->page = calloc(npages, sizeof(uint32_t)); /* PG_FREE is 0: pages stay untouched */
  h->free_pages = malloc(npages * sizeof(uint64_t));
  h->stack_cap = 4096;
  h->stack = malloc(h->stack_cap * sizeof(uint64_t));
  h->hosts_cap = 256;
  h->hosts = malloc(h->hosts_cap * sizeof(uint64_t));
  if (!h->page || !h->free_pages || !h->stack || !h->hosts) {
    munmap(base, reserve);
    free(h->page);
    free(h->free_pages);
    free(h->stack);
    free(h->hosts);
    free(h);
    return 0;
  }
  h->base = base;
  h->reserved = reserve;
  h->limit_pages = limit >> PAGE_SHIFT;
  h->nclasses = nclasses;
  uint32_t c = 0;
  for (uint32_t i = 0; i < nclasses; i++) {
    h->class_size[i] = sizes[i];
    h->class_inv[i] = (uint32_t)((((uint64_t)1 << 32) + sizes[i] - 1) / sizes[i]);
  }
  for (uint32_t g = 0; g < CLASS_OF_LEN; g++) {
    uint32_t bytes = g * 8;
    while (c < nclasses - 1 && sizes[c] < bytes) {
      c++;
    }
    h->class_of[g] = (uint8_t)c;
  }
  h->alloc_slow = (void *)np_gc_alloc_slow;
  h->alloc_any = (void *)np_gc_alloc;
  h->min_threshold = min_threshold;
  h->threshold = min_threshold;
  h->keep_free = min_threshold >> PAGE_SHIFT;
  h->collect = collect;
  h->ctx = ctx;
  return h;
}

void np_gc_delete(Heap *h) {
  munmap(h->base, h->reserved);
  free(h->page);
  free(h->free_pages);
  free(h->stack);
  free(h->hosts);
  free(h);
}

/* ------------------------------------------------------------------ marking */

/* The object containing address a (or starting there), or 0 if there is none. */
static uint64_t object_at(Heap *h, uint64_t a) {
  uint64_t off = a - (uint64_t)h->base;
  if (off >= h->used << PAGE_SHIFT) {
    return 0;
  }
  uint64_t p = off >> PAGE_SHIFT;
  uint32_t info = h->page[p];
  uint64_t start;
  if (info == PG_FREE) {
    return 0;
  }
  if (info & PG_LARGE_TAIL) {
    start = (uint64_t)page_addr(h, p - (info & PG_NUM));
  } else if (info & PG_LARGE_HEAD) {
    start = (uint64_t)page_addr(h, p);
  } else {
    uint32_t c = info - 1;
    uint64_t in = off & (PAGE - 1);
    uint64_t idx = (in * h->class_inv[c]) >> 32;
    if ((idx + 1) * h->class_size[c] > PAGE) {
      return 0; /* the unused tail of the page */
    }
    start = (uint64_t)page_addr(h, p) + idx * h->class_size[c];
  }
  if (*(uint64_t *)start & FREE_BIT) {
    return 0;
  }
  return start;
}

static void push(Heap *h, uint64_t obj) {
  if (h->sp == h->stack_cap) {
    uint64_t cap = h->stack_cap * 2;
    uint64_t *s = realloc(h->stack, cap * sizeof(uint64_t));
    if (!s) {
      return; /* marked but not traced: caught by the overflow rescan below */
    }
    h->stack = s;
    h->stack_cap = cap;
  }
  h->stack[h->sp++] = obj;
}

static void mark(Heap *h, uint64_t obj) {
  uint64_t *hdr = (uint64_t *)obj;
  if (*hdr & MARK) {
    return;
  }
  *hdr |= MARK;
  Rtt *t = (Rtt *)(*hdr & ~(uint64_t)7);
  if (t->nrefs) {
    uint64_t sp = h->sp;
    push(h, obj);
    if (h->sp == sp) {
      h->overflowed = 1;
    }
  }
}

static void note_host(Heap *h, uint64_t a) {
  if (h->nhosts == h->hosts_cap) {
    uint64_t cap = h->hosts_cap * 2;
    uint64_t *s = realloc(h->hosts, cap * sizeof(uint64_t));
    if (!s) {
      h->overflowed = 2;
      return;
    }
    h->hosts = s;
    h->hosts_cap = cap;
  }
  h->hosts[h->nhosts++] = a;
}

static void visit(Heap *h, uint64_t v) {
  if (v == 0 || (v & 1)) {
    return;
  }
  uint64_t a = v & ~(uint64_t)3;
  if (a - (uint64_t)h->base < h->reserved) {
    uint64_t obj = object_at(h, a);
    if (obj) {
      mark(h, obj);
    }
  } else {
    note_host(h, a);
  }
}

/* ---- exception objects (only while a collection has an ExnWorld) */

static uint64_t exn_hash(Heap *h, uint64_t w) {
  return ((w >> 4) * 0x9E3779B97F4A7C15ull) >> h->eshift;
}

/* Whether w is a registered exception object. */
static int is_exn(Heap *h, uint64_t w) {
  if (!h->eset || !w) {
    return 0;
  }
  for (uint64_t i = exn_hash(h, w);; i = (i + 1) & h->emask) {
    uint64_t v = h->eset[i];
    if (v == w) {
      return 1;
    }
    if (!v) {
      return 0;
    }
  }
}

static void visit_exn(Heap *h, uint64_t w) {
  if (!is_exn(h, w)) {
    return;
  }
  uint32_t *flags = (uint32_t *)(w + EXN_FLAGS);
  if (*flags & EXN_MARK) {
    return;
  }
  *flags |= EXN_MARK;
  h->ework[h->esp++] = w; /* room for every registered object: each is pushed once */
}

/* Every payload word of exception object o: a GC object or an exception object
 * there is kept (conservatively: the payload's value types are not looked at). */
static void trace_exn(Heap *h, uint64_t o) {
  uint32_t size = *(uint32_t *)(o + EXN_SIZE);
  if (size > EXN_MAX_PAYLOAD) {
    return;
  }
  uint64_t *p = (uint64_t *)(o + EXN_PAYLOAD);
  for (uint32_t i = 0; i < size / 8; i++) {
    uint64_t w = p[i];
    uint64_t a = w & ~(uint64_t)3;
    if (a - (uint64_t)h->base < h->reserved) {
      uint64_t obj = object_at(h, a);
      if (obj) {
        mark(h, obj);
      }
    } else {
      visit_exn(h, w);
    }
  }
}

static void trace(Heap *h, uint64_t obj) {
  Rtt *t = (Rtt *)(*(uint64_t *)obj & ~(uint64_t)7);
  if (t->kind == KIND_STRUCT) {
    for (uint32_t i = 0; i < t->nrefs; i++) {
      uint32_t off = t->offsets[i];
      if (off & EXN_FIELD) {
        visit_exn(h, *(uint64_t *)(obj + (off & ~EXN_FIELD)));
      } else {
        visit(h, *(uint64_t *)(obj + off));
      }
    }
  } else {
    uint32_t n = *(uint32_t *)(obj + 8);
    uint64_t *e = (uint64_t *)(obj + 16);
    if (t->nrefs == ELEMS_EXN) {
      for (uint32_t i = 0; i < n; i++) {
        visit_exn(h, e[i]);
      }
    } else {
      for (uint32_t i = 0; i < n; i++) {
        visit(h, e[i]);
      }
    }
  }
}

static void drain(Heap *h) {
  while (h->sp || h->esp) {
    while (h->sp) {
      trace(h, h->stack[--h->sp]);
    }
    while (h->esp) {
      trace_exn(h, h->ework[--h->esp]);
    }
  }
}

/* After a mark stack overflow: trace every marked object again (idempotent). */
static void rescan(Heap *h) {
  for (uint64_t p = 0; p < h->used; p++) {
    uint32_t info = h->page[p];
    if (info == PG_FREE || (info & PG_LARGE_TAIL)) {
      continue;
    }
    uint8_t *a = page_addr(h, p);
    if (info & PG_LARGE_HEAD) {
      if (*(uint64_t *)a & MARK) {
        trace(h, (uint64_t)a);
        drain(h);
      }
      continue;
    }
    uint64_t size = h->class_size[info - 1];
    for (uint64_t off = 0; off + size <= PAGE; off += size) {
      uint64_t w = *(uint64_t *)(a + off);
      if (!(w & FREE_BIT) && (w & MARK)) {
        trace(h, (uint64_t)(a + off));
        drain(h);
      }
    }
  }
}

/* ------------------------------------------------------------------ sweeping */

static void sweep(Heap *h) {
  for (uint32_t c = 0; c < NCLASSES; c++) {
    h->free[c] = 0;
  }
  uint64_t live = 0;
  uint64_t kept = 0;
  for (uint64_t p = h->used; p-- > 0;) {
    uint32_t info = h->page[p];
    if (info == PG_FREE || (info & PG_LARGE_TAIL)) {
      continue;
    }
    uint8_t *a = page_addr(h, p);
    if (info & PG_LARGE_HEAD) {
      uint64_t *hdr = (uint64_t *)a;
      uint64_t n = info & PG_NUM;
      if (*hdr & MARK) {
        *hdr &= ~MARK;
        live += n << PAGE_SHIFT;
      } else {
        release_pages(h, p, n, &kept);
      }
      continue;
    }
    uint32_t c = info - 1;
    uint64_t size = h->class_size[c];
    uint64_t n = PAGE / size;
    uint64_t head = h->free[c];
    uint64_t page_live = 0;
    for (uint64_t i = n; i-- > 0;) {
      uint64_t *cell = (uint64_t *)(a + i * size);
      uint64_t w = cell[0];
      if (!(w & FREE_BIT) && (w & MARK)) {
        cell[0] = w & ~MARK;
        page_live++;
      } else {
        cell[0] = head | FREE_BIT;
        head = (uint64_t)cell;
      }
    }
    if (page_live) {
      h->free[c] = head;
      live += page_live * size;
    } else {
      release_pages(h, p, 1, &kept);
    }
  }
  h->live = live;
  h->nfree_pages = 0;
  for (uint64_t p = h->used; p-- > 0;) {
    if (h->page[p] == PG_FREE) {
      h->free_pages[h->nfree_pages++] = p;
    }
  }
}

/* ------------------------------------------------------------------ collection */

/* Every word from this function's frame up to stack_top that points into a live
 * object marks it. Called by np_gc_collect after it spilled the callee-saved
 * registers, which are then in its frame, above this one. */
__attribute__((noinline)) static void scan_stack(Heap *h, uint64_t stack_top) {
  volatile uint64_t anchor = 0;
  for (uint64_t w = (uint64_t)&anchor & ~(uint64_t)7; w < stack_top; w += 8) {
    uint64_t v = *(volatile uint64_t *)w;
    uint64_t a = v & ~(uint64_t)3;
    if (a - (uint64_t)h->base < h->reserved) {
      uint64_t obj = object_at(h, a);
      if (obj) {
        mark(h, obj);
      }
    } else {
      visit_exn(h, v);
    }
  }
}

/* Set up the exception objects' set and work list for a collection; 0 when memory
 * for them ran out. */
static int exn_begin(Heap *h, ExnWorld *x) {
  uint64_t cap = 16, shift = 60;
  while (cap < 2 * x->n) {
    cap <<= 1;
    shift--;
  }
  h->eset = calloc(cap, sizeof(uint64_t));
  h->ework = malloc((x->n + 1) * sizeof(uint64_t));
  if (!h->eset || !h->ework) {
    free(h->eset);
    free(h->ework);
    h->eset = h->ework = 0;
    return 0;
  }
  h->emask = cap - 1;
  h->eshift = shift;
  h->esp = 0;
  for (uint64_t i = 0; i < x->n; i++) {
    uint64_t w = x->reg[i];
    uint64_t j = exn_hash(h, w);
    while (h->eset[j]) {
      j = (j + 1) & h->emask;
    }
    h->eset[j] = w;
  }
  return 1;
}

static void exn_roots(Heap *h, ExnWorld *x) {
  for (uint64_t i = 0; i < x->nranges; i++) {
    const uint64_t *from = (const uint64_t *)x->ranges[2 * i];
    const uint64_t *to = (const uint64_t *)x->ranges[2 * i + 1];
    for (const uint64_t *p = from; p < to; p++) {
      visit_exn(h, *p);
    }
  }
  for (uint64_t i = 0; i < x->nforced; i++) {
    uint64_t o = x->forced[i];
    if (is_exn(h, o)) {
      visit_exn(h, o);
    } else if (o) {
      trace_exn(h, o); /* not registered: marked by nobody, its payload once */
    }
  }
}

/* Free the registered objects no mark reached (sweep != 0), or only unmark them. */
static void exn_end(Heap *h, ExnWorld *x, int sweep) {
  uint64_t live = 0;
  for (uint64_t i = 0; i < x->n; i++) {
    uint64_t o = x->reg[i];
    uint32_t *flags = (uint32_t *)(o + EXN_FLAGS);
    if (*flags & EXN_MARK) {
      *flags &= ~EXN_MARK;
      x->reg[live++] = o;
    } else if (sweep) {
      free((void *)o);
    } else {
      x->reg[live++] = o;
    }
  }
  x->n = live;
  free(h->eset);
  free(h->ework);
  h->eset = h->ework = 0;
  h->esp = 0;
}

/* Collect: mark from `roots` (exact object addresses) and, when stack_top is not 0,
 * from every word between this frame and stack_top; then sweep. With an ExnWorld x,
 * exception objects are marked too (from x's ranges and forced objects, the stack,
 * GC objects' exnref fields, marked exceptions' payloads) and the registered ones
 * nothing reached are freed. Returns the number of host addresses found in live
 * objects (np_gc_hosts), or -1 if memory for the collector's own bookkeeping ran
 * out (nothing was freed then). */
__attribute__((noinline)) int64_t np_gc_collect(Heap *h, const uint64_t *roots, uint64_t nroots,
                                                uint64_t stack_top, ExnWorld *x) {
  __builtin_unwind_init(); /* spill callee-saved registers into this frame */
  h->nhosts = 0;
  h->sp = 0;
  h->overflowed = 0;
  if (x && !exn_begin(h, x)) {
    return -1;
  }
  for (uint64_t i = 0; i < nroots; i++) {
    uint64_t obj = object_at(h, roots[i]);
    if (obj) {
      mark(h, obj);
    }
  }
  if (x) {
    exn_roots(h, x);
  }
  if (stack_top) {
    scan_stack(h, stack_top);
  }
  drain(h);
  while (h->overflowed == 1) {
    h->overflowed = 0;
    rescan(h);
  }
  if (h->overflowed == 2) {
    /* Host addresses could not all be recorded: keep everything this time. */
    for (uint64_t p = 0; p < h->used; p++) {
      uint32_t info = h->page[p];
      if (info == PG_FREE || (info & PG_LARGE_TAIL)) {
        continue;
      }
      uint8_t *a = page_addr(h, p);
      uint64_t size = info & PG_LARGE_HEAD ? PAGE : h->class_size[info - 1];
      uint64_t step = info & PG_LARGE_HEAD ? PAGE : size;
      for (uint64_t off = 0; off + size <= PAGE; off += step) {
        uint64_t *hdr = (uint64_t *)(a + off);
        if (!(*hdr & FREE_BIT)) {
          *hdr &= ~MARK;
        }
      }
    }
    if (x) {
      exn_end(h, x, 0);
    }
    return -1;
  }
  if (x) {
    exn_end(h, x, 1);
  }
  sweep(h);
  h->allocated = 0;
  h->threshold = h->live > h->min_threshold ? h->live : h->min_threshold;
  h->collections++;
  return (int64_t)h->nhosts;
}

/* ------------------------------------------------------------------ queries */

const uint64_t *np_gc_hosts(Heap *h) { return h->hosts; }

/* Statistics: [pages in use, live bytes after the last collection, collections,
 * bytes taken since, threshold, abi version, page size]. */
void np_gc_stats(Heap *h, uint64_t *out) {
  out[0] = h->in_use;
  out[1] = h->live;
  out[2] = h->collections;
  out[3] = h->allocated;
  out[4] = h->threshold;
  out[5] = ABI_VERSION;
  out[6] = PAGE;
}

/* Whether address a is inside the heap's reserved range (Python's handle checks). */
int64_t np_gc_contains(Heap *h, uint64_t a) { return a - (uint64_t)h->base < h->reserved; }
