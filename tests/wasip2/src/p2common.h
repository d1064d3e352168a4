/* What the libc-free test components p2handler, p2sockets and p2edges share: the
   bump allocator the canonical ABI calls (cabi_realloc), a byte-by-byte memcpy
   (clang turns copy loops into memcpy calls) and, with P2_LINE_OUTPUT defined
   (p2sockets, p2edges), line output to stdout: put/puts_/putnum collect a line,
   flush writes it with a newline through out_write to stream `out`. */
extern u8 __heap_base;
static u32 heap_top;

EXPORT("cabi_realloc") void *cabi_realloc(void *old, u32 old_size, u32 align, u32 size) {
    if (!heap_top) heap_top = (u32)&__heap_base;
    u32 p = (heap_top + align - 1) & ~(align - 1);
    u32 end = p + size;
    u32 have = __builtin_wasm_memory_size(0) << 16;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 0xffff) >> 16) == (u32)-1)
        __builtin_trap();
    heap_top = end;
    for (u32 i = 0; old && i < old_size && i < size; i++) ((u8 *)p)[i] = ((u8 *)old)[i];
    return (void *)p;
}

void *memcpy(void *d, const void *s, unsigned long n) {
    volatile u8 *dd = d;
    const u8 *ss = s;
    while (n--) *dd++ = *ss++;
    return d;
}

#ifdef P2_LINE_OUTPUT
static int out; /* the stdout stream (get-stdout) */
static char line[512];
static u32 linen;
static u32 flush_ret[4]; /* result<_, stream-error> */
static u32 slen(const char *s) { u32 n = 0; while (s[n]) n++; return n; }
static void put(const void *p, u32 n) {
    for (u32 i = 0; i < n && linen < sizeof line; i++) line[linen++] = ((const char *)p)[i];
}
static void puts_(const char *s) { put(s, slen(s)); }
static void putnum(u64 v) {
    char d[24]; int i = 24;
    do { d[--i] = '0' + v % 10; v /= 10; } while (v);
    put(d + i, 24 - i);
}
static void flush(void) {
    put("\n", 1);
    out_write(out, line, linen, flush_ret);
    linen = 0;
}
#endif
