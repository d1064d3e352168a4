/* The bump allocator the canonical ABI calls (cabi_realloc) and a byte-by-byte memcpy
   (clang turns copy loops into memcpy calls), shared by the libc-free test
   components p2handler, p2sockets and p2edges. */
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
