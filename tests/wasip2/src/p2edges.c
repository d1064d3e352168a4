/* wasi:io and wasi:filesystem calls the preview1 adapter never makes, straight
 * against the canonical ABI (no libc; signatures from `wasm-tools component embed
 * --dummy` for wit/edges.wit): poll over several pollables, pollable.ready, stdin
 * at its end, file streams (write, read, read to the end), descriptor.read at and
 * past the end, splice between file streams, append-via-stream, is-same-object,
 * metadata-hash, refused paths. Preopen: /work (read-write, starts empty).
 * Error codes are printed as numbers (wasi:filesystem error-code cases). */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#define V "@0.2.12"
#define IMPORT(m, n) __attribute__((import_module(m), import_name(n))) extern
#define EXPORT(n) __attribute__((export_name(n)))
#define IO "wasi:io/streams" V
#define FS "wasi:filesystem/types" V

IMPORT("wasi:io/poll" V, "poll") void poll(const u32 *list, u32 n, void *ret);
IMPORT("wasi:io/poll" V, "[method]pollable.ready") int ready(int p);
IMPORT("wasi:io/poll" V, "[resource-drop]pollable") void pollable_drop(int p);
IMPORT(IO, "[method]input-stream.read") void in_read(int s, u64 n, void *ret);
IMPORT(IO, "[method]input-stream.blocking-read") void in_blocking_read(int s, u64 n, void *ret);
IMPORT(IO, "[resource-drop]input-stream") void in_drop(int s);
IMPORT(IO, "[method]output-stream.check-write") void check_write(int s, void *ret);
IMPORT(IO, "[method]output-stream.blocking-write-and-flush") void out_write(int s, const void *p, u32 n, void *ret);
IMPORT(IO, "[method]output-stream.subscribe") int out_subscribe(int s);
IMPORT(IO, "[method]output-stream.blocking-splice") void splice(int dst, int src, u64 n, void *ret);
IMPORT(IO, "[resource-drop]output-stream") void out_drop(int s);
IMPORT("wasi:cli/stdout" V, "get-stdout") int get_stdout(void);
IMPORT("wasi:cli/stdin" V, "get-stdin") int get_stdin(void);
IMPORT("wasi:clocks/monotonic-clock" V, "subscribe-duration") int subscribe_duration(u64 ns);
IMPORT("wasi:filesystem/preopens" V, "get-directories") void get_directories(void *ret);
IMPORT(FS, "[method]descriptor.open-at") void open_at(int d, int pflags, const char *p, u32 n, int oflags, int dflags, void *ret);
IMPORT(FS, "[method]descriptor.read-via-stream") void read_via_stream(int d, u64 off, void *ret);
IMPORT(FS, "[method]descriptor.write-via-stream") void write_via_stream(int d, u64 off, void *ret);
IMPORT(FS, "[method]descriptor.append-via-stream") void append_via_stream(int d, void *ret);
IMPORT(FS, "[method]descriptor.read") void dread(int d, u64 n, u64 off, void *ret);
IMPORT(FS, "[method]descriptor.stat") void dstat(int d, void *ret);
IMPORT(FS, "[method]descriptor.is-same-object") int is_same(int a, int b);
IMPORT(FS, "[method]descriptor.metadata-hash") void metadata_hash(int d, void *ret);
IMPORT(FS, "[resource-drop]descriptor") void desc_drop(int d);

#define P2_LINE_OUTPUT
#include "p2common.h"

static union { u64 align; u8 b[128]; u32 w[32]; u64 q[16]; } ret; /* descriptor-stat: 104 bytes */
static int fs_failed(void) { /* result<T, error-code>, T aligned to 4: code at 4 */
    if (!ret.b[0]) return 0;
    puts_("error ");
    putnum(ret.b[4]);
    return 1;
}

static int work;

static int open_file(const char *path, int oflags, int dflags) {
    open_at(work, 0, path, slen(path), oflags, dflags, &ret);
    if (fs_failed()) return -1;
    return (int)ret.w[1];
}

static void read_stream_all(int s) {
    for (;;) {
        in_blocking_read(s, 4, &ret);
        if (ret.b[0]) {
            puts_(ret.b[4] == 1 ? ", then closed" : ", then failed");
            return;
        }
        put((const void *)ret.w[1], ret.w[2]);
    }
}

static u64 size_of(int fd) {
    dstat(fd, &ret);
    if (ret.b[0]) return (u64)-1;
    return ret.q[3]; /* descriptor-stat at 8: type, link-count at 16, size at 24 */
}

EXPORT("wasi:cli/run@0.2.12#run") int run(void) {
    out = get_stdout();
    check_write(out, &ret);
    puts_(ret.b[0] ? "check-write: failed" : (ret.q[1] ? "check-write: ok" : "check-write: 0?"));
    flush();

    u32 ps[3];
    ps[0] = subscribe_duration(3600000000000ULL);
    ps[1] = out_subscribe(out);
    ps[2] = subscribe_duration(0);
    poll(ps, 2, &ret); /* an hour's timer and stdout: only stdout is ready */
    u32 *idx = (u32 *)ret.w[0];
    u32 n = ret.w[1];
    puts_("poll: [");
    for (u32 i = 0; i < n; i++) { if (i) puts_(", "); putnum(idx[i]); }
    poll(ps + 2, 1, &ret); /* a zero timer alone: ready (block until it is) */
    idx = (u32 *)ret.w[0];
    puts_("], zero timer: [");
    putnum(idx[0]);
    puts_("]; ready: far=");
    putnum(ready(ps[0]));
    puts_(" zero=");
    putnum(ready(ps[2]));
    flush();
    for (int i = 0; i < 3; i++) pollable_drop(ps[i]);

    int in = get_stdin();
    in_read(in, 10, &ret);
    puts_("stdin read: ");
    if (ret.b[0]) puts_(ret.b[4] == 1 ? "closed" : "failed");
    else { puts_("got "); putnum(ret.w[2]); puts_(" bytes"); }
    flush();
    in_drop(in);

    get_directories(&ret);
    u32 *dirs = (u32 *)ret.w[0];
    puts_("preopens: ");
    putnum(ret.w[1]);
    puts_(" named ");
    put((const void *)dirs[1], dirs[2]);
    work = (int)dirs[0];
    flush();

    puts_("create f.txt: ");
    int f = open_file("f.txt", 1, 3); /* create; read | write */
    if (f < 0) { flush(); return 1; }
    write_via_stream(f, 0, &ret);
    if (fs_failed()) { flush(); return 1; }
    int ws = (int)ret.w[1];
    out_write(ws, "hello world", 11, &ret);
    puts_(ret.b[0] ? "write failed" : "wrote 11");
    out_drop(ws);
    flush();

    puts_("read-via-stream: ");
    read_via_stream(f, 0, &ret);
    if (!fs_failed()) { int rs = (int)ret.w[1]; read_stream_all(rs); in_drop(rs); }
    flush();

    dread(f, 100, 6, &ret);
    puts_("read at 6: ");
    if (!fs_failed()) { put((const void *)ret.w[1], ret.w[2]); puts_(" end="); putnum(ret.b[12]); }
    dread(f, 100, 50, &ret);
    puts_("; past the end: ");
    if (!fs_failed()) { putnum(ret.w[2]); puts_(" bytes end="); putnum(ret.b[12]); }
    flush();

    puts_("splice 5 to offset 100: ");
    read_via_stream(f, 0, &ret);
    int rs = (int)ret.w[1];
    write_via_stream(f, 100, &ret);
    ws = (int)ret.w[1];
    splice(ws, rs, 5, &ret);
    if (ret.b[0]) puts_("failed");
    else { putnum(ret.q[1]); puts_(" bytes, size "); }
    in_drop(rs);
    out_drop(ws);
    putnum(size_of(f));
    flush();

    puts_("append: ");
    append_via_stream(f, &ret);
    if (!fs_failed()) {
        int as = (int)ret.w[1];
        out_write(as, "!", 1, &ret);
        out_drop(as);
        puts_("size ");
        putnum(size_of(f));
    }
    flush();

    int g = open_file("f.txt", 0, 1);
    puts_("same object: dir/dir ");
    putnum(is_same(work, work));
    puts_(", file/other open ");
    putnum(is_same(f, g));
    puts_(", dir/file ");
    putnum(is_same(work, f));
    metadata_hash(f, &ret);
    u64 lo = ret.q[1], hi = ret.q[2];
    metadata_hash(g, &ret);
    puts_(", hashes equal ");
    putnum(lo == ret.q[1] && hi == ret.q[2]);
    metadata_hash(work, &ret);
    puts_(", dir hash differs ");
    putnum(lo != ret.q[1] || hi != ret.q[2]);
    flush();
    desc_drop(g);

    static const char *paths[] = {"../x", "/etc/passwd", "missing.txt", "f.txt/x", ""};
    for (int i = 0; i < 5; i++) {
        puts_("open ");
        puts_(paths[i]);
        puts_(": ");
        int h = open_file(paths[i], 0, 1);
        if (h >= 0) { puts_("opened?"); desc_drop(h); }
        flush();
    }
    puts_("write on a read-only open: ");
    g = open_file("f.txt", 0, 1);
    write_via_stream(g, 0, &ret);
    if (!fs_failed()) {
        int s = (int)ret.w[1];
        puts_("stream made, write ");
        out_write(s, "x", 1, &ret);
        puts_(ret.b[0] ? (ret.b[4] == 0 ? "failed" : "closed") : "succeeded?");
        out_drop(s);
    }
    flush();
    desc_drop(g);
    desc_drop(f);
    return 0;
}
