/* wasi:sockets from a command component, against the canonical ABI directly
 * (no libc; signatures as `wasm-tools component embed --dummy` gives them for
 * wit/sockets.wit). Usage: p2sockets ECHO_PORT [NAME]
 *
 * Prints one line per step, going on after a refusal (error-code names):
 *   lookup NAME (default localhost), tcp connect to 127.0.0.1:ECHO_PORT (a host
 *   echo server: sends "ping", prints the reply), tcp listen on 127.0.0.1:0 and
 *   connect to itself (accept, one message each way), udp between two sockets on
 *   127.0.0.1, tcp connect to 10.255.255.1:9 (never allowed by the tests), and
 *   misuse: finish-bind before start-bind, listen before bind, a socket used twice.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define V "@0.2.12"
#define IMPORT(m, n) __attribute__((import_module(m), import_name(n))) extern
#define EXPORT(n) __attribute__((export_name(n)))
#define TCP "wasi:sockets/tcp" V
#define UDP "wasi:sockets/udp" V

IMPORT("wasi:cli/environment" V, "get-arguments") void get_arguments(void *ret);
IMPORT("wasi:cli/stdout" V, "get-stdout") int get_stdout(void);
IMPORT("wasi:io/streams" V, "[method]output-stream.blocking-write-and-flush") void out_write(int s, const void *p, u32 n, void *ret);
IMPORT("wasi:io/streams" V, "[method]input-stream.blocking-read") void in_read(int s, u64 len, void *ret);
IMPORT("wasi:io/streams" V, "[resource-drop]input-stream") void in_drop(int s);
IMPORT("wasi:io/streams" V, "[resource-drop]output-stream") void out_drop(int s);
IMPORT("wasi:io/poll" V, "[method]pollable.block") void pollable_block(int p);
IMPORT("wasi:io/poll" V, "[resource-drop]pollable") void pollable_drop(int p);
IMPORT("wasi:sockets/instance-network" V, "instance-network") int instance_network(void);
IMPORT("wasi:sockets/ip-name-lookup" V, "resolve-addresses") void resolve_addresses(int net, const char *p, u32 n, void *ret);
IMPORT("wasi:sockets/ip-name-lookup" V, "[method]resolve-address-stream.resolve-next-address") void resolve_next(int s, void *ret);
IMPORT("wasi:sockets/ip-name-lookup" V, "[method]resolve-address-stream.subscribe") int resolve_subscribe(int s);
IMPORT("wasi:sockets/ip-name-lookup" V, "[resource-drop]resolve-address-stream") void resolve_drop(int s);
IMPORT("wasi:sockets/tcp-create-socket" V, "create-tcp-socket") void create_tcp(int family, void *ret);
IMPORT(TCP, "[method]tcp-socket.start-bind") void tcp_start_bind(int s, int net, int tag, int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, void *ret);
IMPORT(TCP, "[method]tcp-socket.finish-bind") void tcp_finish_bind(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.start-connect") void tcp_start_connect(int s, int net, int tag, int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, void *ret);
IMPORT(TCP, "[method]tcp-socket.finish-connect") void tcp_finish_connect(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.start-listen") void tcp_start_listen(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.finish-listen") void tcp_finish_listen(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.accept") void tcp_accept(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.local-address") void tcp_local_address(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.remote-address") void tcp_remote_address(int s, void *ret);
IMPORT(TCP, "[method]tcp-socket.is-listening") int tcp_is_listening(int s);
IMPORT(TCP, "[method]tcp-socket.subscribe") int tcp_subscribe(int s);
IMPORT(TCP, "[method]tcp-socket.shutdown") void tcp_shutdown(int s, int how, void *ret);
IMPORT(TCP, "[resource-drop]tcp-socket") void tcp_drop(int s);
IMPORT("wasi:sockets/udp-create-socket" V, "create-udp-socket") void create_udp(int family, void *ret);
IMPORT(UDP, "[method]udp-socket.start-bind") void udp_start_bind(int s, int net, int tag, int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, void *ret);
IMPORT(UDP, "[method]udp-socket.finish-bind") void udp_finish_bind(int s, void *ret);
IMPORT(UDP, "[method]udp-socket.stream") void udp_stream(int s, int some, int tag, int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, void *ret);
IMPORT(UDP, "[method]udp-socket.local-address") void udp_local_address(int s, void *ret);
IMPORT(UDP, "[resource-drop]udp-socket") void udp_drop(int s);
IMPORT(UDP, "[method]incoming-datagram-stream.receive") void udp_receive(int s, u64 max, void *ret);
IMPORT(UDP, "[method]incoming-datagram-stream.subscribe") int udp_in_subscribe(int s);
IMPORT(UDP, "[resource-drop]incoming-datagram-stream") void udp_in_drop(int s);
IMPORT(UDP, "[method]outgoing-datagram-stream.check-send") void udp_check_send(int s, void *ret);
IMPORT(UDP, "[method]outgoing-datagram-stream.send") void udp_send(int s, const void *list, u32 n, void *ret);
IMPORT(UDP, "[resource-drop]outgoing-datagram-stream") void udp_out_drop(int s);

#define P2_LINE_OUTPUT
#include "p2common.h"

static union { u64 align; u8 b[64]; u16 h[32]; u32 w[16]; } ret;
static const char *ERRS[] = {
    "unknown", "access-denied", "not-supported", "invalid-argument", "out-of-memory", "timeout",
    "concurrency-conflict", "not-in-progress", "would-block", "invalid-state", "new-socket-limit",
    "address-not-bindable", "address-in-use", "remote-unreachable", "connection-refused",
    "connection-reset", "connection-aborted", "datagram-too-large", "name-unresolvable",
    "temporary-resolver-failure", "permanent-resolver-failure"};

/* result<_, error-code> / result<T, error-code> with the code at offset `at` (1 for
 * result<_, error-code>, T's alignment otherwise): 0 if ok, else prints "error NAME"
 * and returns 1. */
static int failed(u32 at) {
    if (!ret.b[0]) return 0;
    puts_("error ");
    puts_(ret.b[at] < 21 ? ERRS[ret.b[at]] : "?");
    return 1;
}

static int net;
#define V4(port, a, b, c, d) 0, port, a, b, c, d, 0, 0, 0, 0, 0, 0

static int tcp_bind(int s, u32 port) {
    tcp_start_bind(s, net, V4(port, 127, 0, 0, 1), &ret);
    if (failed(1)) return 1;
    tcp_finish_bind(s, &ret);
    return failed(1);
}

/* Connect `s`; on success `in` and `o` receive its streams. */
static int tcp_connect(int s, u32 port, int a, int b, int c, int d, int *in, int *o) {
    tcp_start_connect(s, net, V4(port, a, b, c, d), &ret);
    if (failed(1)) return 1;
    for (;;) {
        tcp_finish_connect(s, &ret);
        if (ret.b[0] && ret.b[4] == 8) { /* would-block: wait */
            int p = tcp_subscribe(s);
            pollable_block(p);
            pollable_drop(p);
            continue;
        }
        if (failed(4)) return 1;
        *in = (int)ret.w[1];
        *o = (int)ret.w[2];
        return 0;
    }
}

/* A new IPv4 TCP socket, or -1 (the error printed). */
static int new_tcp(void) {
    create_tcp(0, &ret);
    if (failed(4)) return -1;
    return (int)ret.w[1];
}

static void send_text(int o, const char *s) {
    out_write(o, s, slen(s), &ret);
    if (ret.b[0]) __builtin_trap();
}

static void read_some(int in) {
    in_read(in, 100, &ret);
    if (ret.b[0]) { puts_("read failed"); return; }
    put((const void *)ret.w[1], ret.w[2]);
}

static void lookup(const char *name, u32 n) {
    puts_("lookup ");
    put(name, n);
    puts_(": ");
    resolve_addresses(net, name, n, &ret);
    if (failed(4)) { flush(); return; }
    int stream = (int)ret.w[1];
    int count = 0, v4 = 0;
    for (;;) {
        resolve_next(stream, &ret);
        if (ret.b[0] && ret.b[2] == 8) {
            int p = resolve_subscribe(stream);
            pollable_block(p);
            pollable_drop(p);
            continue;
        }
        if (failed(2)) break;
        if (!ret.b[2]) break; /* none: the end */
        count++;
        if (ret.b[4] == 0 && ret.b[6] == 127 && ret.b[9] == 1) v4 = 1;
    }
    resolve_drop(stream);
    if (count) { puts_(v4 ? "127.0.0.1 among " : "no 127.0.0.1 among "); putnum(count); puts_(" addresses"); }
    flush();
}

static void echo_client(u32 port) {
    puts_("tcp connect 127.0.0.1:echo: ");
    int s = new_tcp(), in, o;
    if (s < 0) { flush(); return; }
    if (!tcp_connect(s, port, 127, 0, 0, 1, &in, &o)) {
        send_text(o, "ping");
        puts_("reply ");
        read_some(in);
        in_drop(in);
        out_drop(o);
    }
    tcp_drop(s);
    flush();
}

static void self_connect(void) {
    puts_("tcp listen 127.0.0.1:0: ");
    int l = new_tcp();
    if (l < 0) { flush(); return; }
    if (tcp_bind(l, 0)) { tcp_drop(l); flush(); return; }
    tcp_start_listen(l, &ret);
    if (failed(1)) { tcp_drop(l); flush(); return; }
    tcp_finish_listen(l, &ret);
    if (failed(1)) { tcp_drop(l); flush(); return; }
    puts_(tcp_is_listening(l) ? "listening" : "not listening?");
    tcp_local_address(l, &ret);
    u32 port = ret.h[4];
    puts_(port ? " on a port" : " on port 0?");
    int c = new_tcp(), cin, cout;
    puts_(", connect to it: ");
    if (c < 0) { tcp_drop(l); flush(); return; }
    if (tcp_connect(c, port, 127, 0, 0, 1, &cin, &cout)) { tcp_drop(c); tcp_drop(l); flush(); return; }
    int p = tcp_subscribe(l);
    pollable_block(p);
    pollable_drop(p);
    tcp_accept(l, &ret);
    if (failed(4)) { flush(); return; }
    int a = (int)ret.w[1], ain = (int)ret.w[2], aout = (int)ret.w[3];
    tcp_remote_address(a, &ret);
    u32 rport = ret.h[4];
    tcp_local_address(c, &ret);
    puts_(rport == ret.h[4] ? "accepted the right peer, " : "accepted another peer?, ");
    send_text(cout, "hello server");
    puts_("server got ");
    read_some(ain);
    send_text(aout, "hello client");
    puts_(", client got ");
    read_some(cin);
    tcp_shutdown(c, 1, &ret);
    puts_(ret.b[0] ? ", shutdown failed" : ", shutdown");
    in_read(ain, 10, &ret);
    puts_(ret.b[0] && ret.b[4] == 1 ? ", server sees the end" : ", no end?");
    in_drop(ain); out_drop(aout); tcp_drop(a);
    in_drop(cin); out_drop(cout); tcp_drop(c);
    tcp_drop(l);
    flush();
}

static int udp_bound(void) {
    create_udp(0, &ret);
    if (failed(4)) return -1;
    int s = (int)ret.w[1];
    udp_start_bind(s, net, V4(0, 127, 0, 0, 1), &ret);
    if (failed(1)) { udp_drop(s); return -1; }
    udp_finish_bind(s, &ret);
    if (failed(1)) { udp_drop(s); return -1; }
    return s;
}

static struct { u8 *data; u32 len; u8 some; u8 pad[3]; u8 tag; u8 pad2[3]; u16 port; u8 addr[4]; u8 rest[22]; } dgram;

static void udp_test(void) {
    puts_("udp 127.0.0.1: ");
    int a = udp_bound();
    if (a < 0) { flush(); return; }
    int b = udp_bound();
    if (b < 0) { udp_drop(a); flush(); return; }
    udp_local_address(a, &ret);
    u32 aport = ret.h[4];
    udp_local_address(b, &ret);
    u32 bport = ret.h[4];
    udp_stream(a, 0, V4(0, 0, 0, 0, 0), &ret);
    if (failed(4)) { flush(); return; }
    int ain = (int)ret.w[1], aout = (int)ret.w[2];
    udp_stream(b, 0, V4(0, 0, 0, 0, 0), &ret);
    if (failed(4)) { flush(); return; }
    int bin = (int)ret.w[1], bout = (int)ret.w[2];
    udp_check_send(bout, &ret);
    if (failed(8)) { flush(); return; }
    dgram.data = (u8 *)"datagram";
    dgram.len = 8;
    dgram.some = 1;
    dgram.tag = 0;
    dgram.port = (u16)aport;
    dgram.addr[0] = 127; dgram.addr[3] = 1;
    udp_send(bout, &dgram, 1, &ret);
    if (failed(8)) { flush(); return; }
    puts_("sent ");
    putnum((u32)ret.w[2]);
    for (;;) {
        int p = udp_in_subscribe(ain);
        pollable_block(p);
        pollable_drop(p);
        udp_receive(ain, 4, &ret);
        if (failed(4)) { flush(); return; }
        if (ret.w[2]) break;
    }
    u8 *d = (u8 *)ret.w[1];
    puts_(", received ");
    putnum(ret.w[2]);
    puts_(": ");
    put(*(u8 **)d, *(u32 *)(d + 4));
    puts_(*(u16 *)(d + 12) == bport ? " from the sender" : " from elsewhere?");
    udp_in_drop(ain); udp_out_drop(aout); udp_in_drop(bin); udp_out_drop(bout);
    udp_drop(a); udp_drop(b);
    flush();
}

static void misuse(void) {
    puts_("misuse: ");
    int s = new_tcp();
    if (s < 0) { flush(); return; }
    tcp_finish_bind(s, &ret);
    puts_("finish-bind first: ");
    if (!failed(1)) puts_("ok?");
    tcp_start_listen(s, &ret);
    puts_(", listen unbound: ");
    if (!failed(1)) puts_("ok?");
    tcp_accept(s, &ret);
    puts_(", accept unbound: ");
    if (!failed(4)) puts_("ok?");
    tcp_drop(s);
    flush();
}

EXPORT("wasi:cli/run@0.2.12#run") int run(void) {
    out = get_stdout();
    get_arguments(&ret);
    u32 argc = ret.w[1];
    u32 *argv = (u32 *)ret.w[0];
    u32 port = 0;
    if (argc > 1)
        for (u32 i = 0; i < argv[3]; i++) port = port * 10 + ((u8 *)argv[2])[i] - '0';
    net = instance_network();
    if (argc > 2) lookup((const char *)argv[4], argv[5]);
    else lookup("localhost", 9);
    echo_client(port);
    self_connect();
    udp_test();
    puts_("tcp connect 10.255.255.1:9: ");
    int s = new_tcp(), in, o;
    if (s >= 0) {
        if (!tcp_connect(s, 9, 10, 255, 255, 1, &in, &o)) puts_("connected?");
        tcp_drop(s);
    }
    flush();
    misuse();
    return 0;
}
