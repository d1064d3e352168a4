/* A wasi:http/incoming-handler written against the canonical ABI directly (no
 * libc, no bindings generator): every import is declared with the flattened
 * signature `wasm-tools component embed --dummy` gives for wit/handler.wit.
 *
 *   GET  /...       200 "hello from a nanoprocess: GET /... (request N of this instance)"
 *                   N is always 1 when every request gets a fresh instance
 *   POST /echo      200 with the request body as the response body
 *   /trap           traps (the server answers 500 and keeps serving)
 *   /loop           loops forever (stopped by the per-request fuel or timeout)
 *   /grow           grows memory by 64 MiB: 200 "grew", or 507 when refused
 *   /status/NNN     answers status NNN with an empty body
 *   /fetch/AUTHORITY/PATH
 *                   GET http://AUTHORITY/PATH with wasi:http/outgoing-handler and
 *                   answers "upstream STATUS: BODY", or 502 "error TAG" (the
 *                   error-code's case number) when the request fails
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#define T "wasi:http/types@0.2.12"
#define S "wasi:io/streams@0.2.12"
#define O "wasi:http/outgoing-handler@0.2.12"
#define P "wasi:io/poll@0.2.12"
#define IMPORT(m, n) __attribute__((import_module(m), import_name(n))) extern
#define EXPORT(n) __attribute__((export_name(n)))

IMPORT(T, "[constructor]fields") int fields_new(void);
IMPORT(T, "[method]fields.append") void fields_append(int f, const char *n, u32 nl, const char *v, u32 vl, void *ret);
IMPORT(T, "[method]incoming-request.method") void req_method(int r, void *ret);
IMPORT(T, "[method]incoming-request.path-with-query") void req_path(int r, void *ret);
IMPORT(T, "[method]incoming-request.consume") void req_consume(int r, void *ret);
IMPORT(T, "[resource-drop]incoming-request") void req_drop(int r);
IMPORT(T, "[method]incoming-body.stream") void ibody_stream(int b, void *ret);
IMPORT(T, "[static]incoming-body.finish") int ibody_finish(int b);
IMPORT(T, "[resource-drop]future-trailers") void trailers_drop(int t);
IMPORT(T, "[constructor]outgoing-response") int resp_new(int headers);
IMPORT(T, "[method]outgoing-response.set-status-code") int resp_set_status(int r, int code);
IMPORT(T, "[method]outgoing-response.body") void resp_body(int r, void *ret);
IMPORT(T, "[method]outgoing-body.write") void obody_write(int b, void *ret);
IMPORT(T, "[static]outgoing-body.finish") void obody_finish(int b, int has_trailers, int trailers, void *ret);
IMPORT(T, "[static]response-outparam.set") void outparam_set(int o, int is_err, int resp, int a,
                                                           u64 b, int c, int d, int e, int f);
IMPORT(T, "[constructor]outgoing-request") int oreq_new(int headers);
IMPORT(T, "[method]outgoing-request.set-scheme") int oreq_set_scheme(int r, int some, int tag, const char *p, u32 n);
IMPORT(T, "[method]outgoing-request.set-authority") int oreq_set_authority(int r, int some, const void *p, u32 n);
IMPORT(T, "[method]outgoing-request.set-path-with-query") int oreq_set_path(int r, int some, const void *p, u32 n);
IMPORT(O, "handle") void outgoing_handle(int req, int has_options, int options, void *ret);
IMPORT(T, "[method]future-incoming-response.subscribe") int future_subscribe(int f);
IMPORT(T, "[method]future-incoming-response.get") void future_get(int f, void *ret);
IMPORT(T, "[resource-drop]future-incoming-response") void future_drop(int f);
IMPORT(T, "[method]incoming-response.status") int iresp_status(int r);
IMPORT(T, "[method]incoming-response.consume") void iresp_consume(int r, void *ret);
IMPORT(T, "[resource-drop]incoming-response") void iresp_drop(int r);
IMPORT(P, "[method]pollable.block") void pollable_block(int p);
IMPORT(P, "[resource-drop]pollable") void pollable_drop(int p);
IMPORT(S, "[method]input-stream.blocking-read") void in_read(int s, u64 len, void *ret);
IMPORT(S, "[resource-drop]input-stream") void in_drop(int s);
IMPORT(S, "[method]output-stream.blocking-write-and-flush") void out_write(int s, const void *p, u32 n, void *ret);
IMPORT(S, "[resource-drop]output-stream") void out_drop(int s);

#include "p2common.h"
static int requests;

static union { u64 align; u8 b[64]; u32 w[16]; } ret;

static u32 slen(const char *s) { u32 n = 0; while (s[n]) n++; return n; }
static int prefix(const u8 *s, u32 n, const char *p) {
    u32 k = slen(p);
    if (n < k) return 0;
    for (u32 i = 0; i < k; i++) if (s[i] != (u8)p[i]) return 0;
    return n == k || s[k] == '?' || s[k] == '/';
}

static u8 out[4096];
static u32 outn;
static void put(const void *p, u32 n) {
    for (u32 i = 0; i < n && outn < sizeof out; i++) out[outn++] = ((const u8 *)p)[i];
}
static void puts_(const char *s) { put(s, slen(s)); }
static void putnum(u32 v) {
    char d[12]; int i = 12;
    do { d[--i] = '0' + v % 10; v /= 10; } while (v);
    put(d + i, 12 - i);
}

static const char *METHODS[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                "TRACE", "PATCH"};

static void respond(int outparam, int status, int echo_body, int echo_stream) {
    int headers = fields_new();
    fields_append(headers, "content-type", 12, "text/plain", 10, &ret);
    int resp = resp_new(headers);
    resp_set_status(resp, status);
    resp_body(resp, &ret);
    if (ret.b[0]) __builtin_trap();
    int body = (int)ret.w[1];
    obody_write(body, &ret);
    if (ret.b[0]) __builtin_trap();
    int stream = (int)ret.w[1];
    outparam_set(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
    if (outn) {
        out_write(stream, out, outn, &ret);
        if (ret.b[0]) __builtin_trap();
    }
    if (echo_stream >= 0) {
        for (;;) {
            in_read(echo_stream, 65536, &ret);
            if (ret.b[0]) break; /* closed (or failed): the end of the body */
            u8 *p = (u8 *)ret.w[1];
            u32 n = ret.w[2];
            out_write(stream, p, n, &ret);
            if (ret.b[0]) __builtin_trap();
            heap_top = (u32)p; /* the chunk is written: reuse its memory */
        }
        in_drop(echo_stream);
        trailers_drop(ibody_finish(echo_body));
    }
    out_drop(stream);
    obody_finish(body, 0, 0, &ret);
    if (ret.b[0]) __builtin_trap();
}

/* GET http://AUTHORITY/PATH for "/fetch/AUTHORITY/PATH"; the text answered. */
static int fetch(const u8 *path, u32 plen) {
    u32 a = 7, e = 7; /* after "/fetch/" */
    while (e < plen && path[e] != '/') e++;
    int req = oreq_new(fields_new());
    oreq_set_scheme(req, 1, 0, 0, 0); /* some(HTTP) */
    oreq_set_authority(req, 1, path + a, e - a);
    if (e < plen) oreq_set_path(req, 1, path + e, plen - e);
    else oreq_set_path(req, 1, "/", 1);
    outgoing_handle(req, 0, 0, &ret);
    if (ret.b[0]) { /* err(error-code): its case number at offset 8 */
        puts_("error ");
        putnum(ret.b[8]);
        puts_("\n");
        return 502;
    }
    int future = (int)ret.w[2];
    int poll = future_subscribe(future);
    pollable_block(poll);
    pollable_drop(poll);
    future_get(future, &ret); /* option<result<result<incoming-response, error-code>>> */
    future_drop(future);
    if (!ret.b[0] || ret.b[8]) __builtin_trap(); /* not ready after block / taken twice */
    if (ret.b[16]) {
        puts_("error ");
        putnum(ret.b[24]);
        puts_("\n");
        return 502;
    }
    int resp = (int)ret.w[6];
    int status = iresp_status(resp);
    iresp_consume(resp, &ret);
    if (ret.b[0]) __builtin_trap();
    int body = (int)ret.w[1];
    ibody_stream(body, &ret);
    if (ret.b[0]) __builtin_trap();
    int stream = (int)ret.w[1];
    puts_("upstream ");
    putnum(status);
    puts_(": ");
    for (;;) {
        in_read(stream, 4096, &ret);
        if (ret.b[0]) break;
        put((u8 *)ret.w[1], ret.w[2]);
    }
    in_drop(stream);
    trailers_drop(ibody_finish(body));
    iresp_drop(resp);
    return 200;
}

EXPORT("wasi:http/incoming-handler@0.2.12#handle") void handle(int request, int outparam) {
    requests++;
    req_method(request, &ret);
    u32 m = ret.b[0];
    const char *mname = m < 9 ? METHODS[m] : 0;
    const u8 *mp = (const u8 *)ret.w[1];
    u32 ml = ret.w[2];
    req_path(request, &ret);
    const u8 *path = ret.b[0] ? (const u8 *)ret.w[1] : (const u8 *)"/";
    u32 plen = ret.b[0] ? ret.w[2] : 1;
    if (prefix(path, plen, "/trap")) __builtin_trap();
    if (prefix(path, plen, "/loop")) {
        volatile u32 spin = 0;
        for (;;) spin++;
    }
    if (prefix(path, plen, "/grow")) {
        int got = __builtin_wasm_memory_grow(0, 1024) != (u32)-1;
        puts_(got ? "grew\n" : "memory refused\n");
        req_drop(request);
        respond(outparam, got ? 200 : 507, 0, -1);
        return;
    }
    if (prefix(path, plen, "/status")) {
        u32 code = 0;
        for (u32 i = 8; i < plen && path[i] >= '0' && path[i] <= '9'; i++) code = code * 10 + path[i] - '0';
        req_drop(request);
        respond(outparam, code, 0, -1);
        return;
    }
    if (prefix(path, plen, "/fetch")) {
        int status = fetch(path, plen);
        req_drop(request);
        respond(outparam, status, 0, -1);
        return;
    }
    if (m == 2 && prefix(path, plen, "/echo")) {
        req_consume(request, &ret);
        if (ret.b[0]) __builtin_trap();
        int body = (int)ret.w[1];
        ibody_stream(body, &ret);
        if (ret.b[0]) __builtin_trap();
        int stream = (int)ret.w[1];
        req_drop(request);
        respond(outparam, 200, body, stream);
        return;
    }
    puts_("hello from a nanoprocess: ");
    if (mname) puts_(mname); else put(mp, ml);
    puts_(" ");
    put(path, plen);
    puts_(" (request ");
    putnum(requests);
    puts_(" of this instance)\n");
    req_drop(request);
    respond(outparam, 200, 0, -1);
}
