"""``wasi:sockets`` (TCP, UDP, ip-name-lookup) on the host's non-blocking sockets.

Denied unless allowed: the store's ``WasiConfig`` carries the network rules
(``allow_tcp``/``allow_udp`` by address or network and port, ``inherit_network``
for every address, ``allow_ip_name_lookup``). Without a rule for a protocol its
sockets cannot even be created (``access-denied``, as wasmtime answers when the
network is not inherited); with rules, every address a socket binds to,
connects to or sends a datagram to must match one, else ``access-denied``
before the host makes any system call with it. Name lookup without permission
is ``permanent-resolver-failure`` (as in wasmtime).

The state machines follow the WIT: ``start-*``/``finish-*`` pairs,
``not-in-progress`` and ``invalid-state`` for calls out of order, and
``would-block`` from ``finish-connect``/``accept``/``receive`` until the
socket's pollable is ready. Waiting (``pollable.block``, blocking stream calls)
obeys the store's deadline.
"""

from __future__ import annotations

import errno as E
import ipaddress
import socket
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ...exec.component.values import Variant
from ...exec.trap import Trap
from ...threads import start_daemon
from .io import Closed, FdReadable, InStream, OutStream, Pollable, wait
from .state import ERROR, INPUT_STREAM, OUTPUT_STREAM, POLLABLE, P2State

NETWORK, TCP_SOCKET, UDP_SOCKET = 0x5732_0021, 0x5732_0022, 0x5732_0023
INCOMING_DATAGRAMS, OUTGOING_DATAGRAMS, RESOLVE_STREAM = 0x5732_0024, 0x5732_0025, 0x5732_0026

MAX_DATAGRAM = 65535
SEND_PERMIT = 64
"""Datagrams ``check-send`` permits at once."""

_ERRNO = {
    E.EACCES: "access-denied", E.EPERM: "access-denied", E.EADDRINUSE: "address-in-use",
    E.EADDRNOTAVAIL: "address-not-bindable", E.ECONNREFUSED: "connection-refused",
    E.ECONNRESET: "connection-reset", E.ECONNABORTED: "connection-aborted",
    E.ENETUNREACH: "remote-unreachable", E.EHOSTUNREACH: "remote-unreachable",
    E.ENETDOWN: "remote-unreachable", E.ETIMEDOUT: "timeout", E.EAGAIN: "would-block",
    E.EINPROGRESS: "would-block", E.EINVAL: "invalid-argument", E.EMSGSIZE: "datagram-too-large",
    E.ENOBUFS: "out-of-memory", E.ENOMEM: "out-of-memory", E.EMFILE: "new-socket-limit",
    E.ENFILE: "new-socket-limit", E.EAFNOSUPPORT: "not-supported", E.EOPNOTSUPP: "not-supported",
    E.EPIPE: "connection-reset", E.ENOTCONN: "invalid-state", E.EISCONN: "invalid-state",
}  # fmt: skip


class SockError(OSError):
    """A failed socket stream operation; ``net_code`` is what
    ``network-error-code`` reports for the stream's error."""

    def __init__(self, e: OSError) -> None:
        super().__init__(e.errno, e.strerror)
        self.net_code = code_of(e)


class NetError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def code_of(e: OSError) -> str:
    return _ERRNO.get(e.errno or 0, "unknown")


class Policy:
    """What the store's WasiConfig allows: rules (protocol, network, port or None)."""

    def __init__(self, rules: tuple[tuple[str, str, int | None], ...], lookup: bool) -> None:
        self.rules = [(proto, ipaddress.ip_network(net, strict=False), port)
                      for proto, net, port in rules]  # fmt: skip
        self.lookup = lookup

    def any(self, proto: str) -> bool:
        return any(p == proto for p, _, _ in self.rules)

    def allows(self, proto: str, ip: str, port: int) -> bool:
        addr = ipaddress.ip_address(ip)
        for p, net, rport in self.rules:
            if p == proto and addr.version == net.version and addr in net and rport in (None, port):
                return True
        return False


_POLICIES: weakref.WeakKeyDictionary[Any, tuple[Any, Policy]] = weakref.WeakKeyDictionary()


def policy_of(store: Any) -> Policy:
    """The network policy of the store's WASI settings (built once per settings)."""
    st = store._state
    settings = st.wasi
    cached = _POLICIES.get(st)
    if cached is not None and cached[0] is settings:
        return cached[1]
    pol = Policy(tuple(getattr(settings, "network", ())), bool(getattr(settings, "ip_name_lookup", False)))
    _POLICIES[st] = (settings, pol)
    return pol


# ------------------------------------------------------------ addresses
def family_of(name: str) -> int:
    return socket.AF_INET if name == "ipv4" else socket.AF_INET6


def from_wit(addr: Any) -> tuple[str, tuple[Any, ...]]:
    """An ``ip-socket-address`` as (family name, Python sockaddr)."""
    tag, rec = (addr.tag, addr.payload) if isinstance(addr, Variant) else addr
    port = int(_field(rec, "port"))
    a = tuple(_field(rec, "address"))
    if tag == "ipv4":
        return "ipv4", (".".join(str(int(x)) for x in a), port)
    ip = str(ipaddress.IPv6Address(b"".join(int(x).to_bytes(2, "big") for x in a)))
    return "ipv6", (ip, port, int(_field(rec, "flow-info")), int(_field(rec, "scope-id")))


def _field(rec: Any, name: str) -> Any:
    if isinstance(rec, dict):
        return rec[name]
    return getattr(rec, name.replace("-", "_"))


def to_wit(sockaddr: tuple[Any, ...]) -> Variant:
    ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
    if ip.version == 4:
        return Variant("ipv4", {"port": sockaddr[1], "address": tuple(ip.packed)})
    p = ip.packed
    words = tuple(int.from_bytes(p[i:i + 2], "big") for i in range(0, 16, 2))
    return Variant("ipv6", {"port": sockaddr[1], "flow-info": sockaddr[2] if len(sockaddr) > 2 else 0,
                            "address": words, "scope-id": sockaddr[3] if len(sockaddr) > 3 else 0})  # fmt: skip


def ip_to_wit(ip: str) -> Variant:
    a = ipaddress.ip_address(ip)
    if a.version == 4:
        return Variant("ipv4", tuple(a.packed))
    p = a.packed
    return Variant("ipv6", tuple(int.from_bytes(p[i:i + 2], "big") for i in range(0, 16, 2)))


# ------------------------------------------------------------ streams over a socket
class SockIn(InStream):
    def __init__(self, sock: socket.socket, p2: P2State) -> None:
        self.sock = sock
        self.p2 = p2
        self.closed = False

    def read(self, n: int) -> bytes:
        if self.closed:
            raise Closed
        try:
            data = self.sock.recv(min(n, 1 << 20))
        except BlockingIOError:
            return b""
        except OSError as e:
            raise SockError(e) from None
        if not data and n:
            self.closed = True
            raise Closed
        return data

    def blocking_read(self, n: int) -> bytes:
        while True:
            data = self.read(n)
            if data or not n:
                return data
            wait(self.p2, [FdReadable(self.sock.fileno())])

    def pollable(self) -> Pollable:
        return FdReadable(self.sock.fileno())


class SockOut(OutStream):
    def __init__(self, sock: socket.socket, p2: P2State) -> None:
        self.sock = sock
        self.p2 = p2

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
            except BlockingIOError:
                wait(self.p2, [_Writable(self.sock)])
                continue
            except OSError as e:
                raise SockError(e) from None
            view = view[n:]


class _Writable(Pollable):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def ready(self) -> bool:
        import select

        return bool(select.select([], [self.sock], [], 0)[1])

    def host_fd(self) -> int | None:
        return self.sock.fileno()


# ------------------------------------------------------------ TCP
class TcpSocket:
    def __init__(self, family: str, sock: socket.socket | None = None, state: str = "unbound") -> None:
        self.family = family
        self.sock = sock or socket.socket(family_of(family), socket.SOCK_STREAM)
        self.sock.setblocking(False)
        if family == "ipv6":
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.state = state
        self.backlog = 128
        self.connect_error: str | None = None

    def close(self) -> None:
        self.sock.close()

    def pollable(self) -> Pollable:
        if self.state == "connecting":
            return _Writable(self.sock)
        if self.state == "listening":
            return FdReadable(self.sock.fileno())
        return Pollable()


class UdpSocket:
    def __init__(self, family: str) -> None:
        self.family = family
        self.sock = socket.socket(family_of(family), socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        if family == "ipv6":
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.state = "unbound"
        self.remote: tuple[Any, ...] | None = None
        self.generation = 0

    def close(self) -> None:
        self.sock.close()


class Datagrams:
    """An incoming or outgoing datagram stream of a UDP socket (one generation:
    a new ``stream`` call makes the old streams fail)."""

    def __init__(self, udp: UdpSocket) -> None:
        self.udp = udp
        self.generation = udp.generation


class Resolver:
    """The addresses of one name lookup, resolved in a worker thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = threading.Event()
        self.addresses: list[str] = []
        self.error: str | None = None
        start_daemon(self._run, "nanoproc-lookup")

    def _run(self) -> None:
        try:
            infos = socket.getaddrinfo(self.name, None, type=socket.SOCK_STREAM)
            seen: list[str] = []
            for fam, _, _, _, sa in infos:
                ip = str(sa[0]).split("%")[0]
                if fam in (socket.AF_INET, socket.AF_INET6) and ip not in seen:
                    seen.append(ip)
            self.addresses = seen
        except socket.gaierror as e:
            self.error = ("name-unresolvable" if e.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5))
                          else "temporary-resolver-failure" if e.errno == socket.EAI_AGAIN
                          else "permanent-resolver-failure")  # fmt: skip
        except (OSError, UnicodeError):
            self.error = "permanent-resolver-failure"
        finally:
            self.done.set()


class _EventPollable(Pollable):
    def __init__(self, ev: threading.Event) -> None:
        self.ev = ev

    def ready(self) -> bool:
        return self.ev.is_set()

    def event(self) -> threading.Event | None:
        return self.ev


def define(p2_of: Callable[[Any], P2State], out: dict[str, Any]) -> None:
    """Fill ``out`` (interface name -> functions) for ``wasi:sockets``."""

    def obj(store: Any, h: Any, cls: type) -> Any:
        o = p2_of(store).get(h)
        if not isinstance(o, cls):
            raise Trap(f"expected a {cls.__name__} handle")
        return o

    def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
        """``result<T, error-code>`` (untagged: the value, or the code's name)."""

        def call(store: Any, *args: Any) -> Any:
            try:
                return fn(store, *args)
            except NetError as e:
                return e.code
            except BlockingIOError:
                return "would-block"
            except OSError as e:
                return code_of(e)

        return call

    # --- network, instance-network
    def network_error_code(store: Any, err: Any) -> Any:
        return getattr(p2_of(store).get(err), "net_code", None)

    out["network"] = {"network-error-code": network_error_code}
    out["instance-network"] = {"instance-network": lambda store: p2_of(store).own(object(), NETWORK)}

    # --- ip-name-lookup
    def resolve_addresses(store: Any, network: Any, name: str) -> Any:
        p2_of(store).get(network)
        if not policy_of(store).lookup:
            raise NetError("permanent-resolver-failure")
        text = name.strip("[]") if name.startswith("[") else name
        try:
            ipaddress.ip_address(text)
            literal = True
        except ValueError:
            literal = False
        if not literal:
            try:
                name.encode("idna")
            except UnicodeError:
                raise NetError("invalid-argument") from None
            if not name or len(name) > 253 or any(c in name for c in " /\\:@\0"):
                raise NetError("invalid-argument")
        return p2_of(store).own(Resolver(text), RESOLVE_STREAM)

    def resolve_next(store: Any, s: Any) -> Any:
        r = obj(store, s, Resolver)
        if not r.done.is_set():
            raise NetError("would-block")
        if r.error is not None:
            code, r.error = r.error, None
            r.addresses = []
            raise NetError(code)
        if not r.addresses:
            return None
        return ip_to_wit(r.addresses.pop(0))

    def resolve_subscribe(store: Any, s: Any) -> Any:
        return p2_of(store).own(_EventPollable(obj(store, s, Resolver).done), POLLABLE)

    out["ip-name-lookup"] = {
        "resolve-addresses": guard(resolve_addresses),
        "[method]resolve-address-stream.resolve-next-address": guard(resolve_next),
        "[method]resolve-address-stream.subscribe": resolve_subscribe,
    }

    # --- tcp
    def create_tcp(store: Any, family: str) -> Any:
        if not policy_of(store).any("tcp"):
            raise NetError("access-denied")
        return p2_of(store).own(TcpSocket(family), TCP_SOCKET)

    def check_addr(store: Any, proto: str, s: Any, addr: Any, remote: bool) -> tuple[Any, ...]:
        fam, sa = from_wit(addr)
        if fam != s.family:
            raise NetError("invalid-argument")
        ip = ipaddress.ip_address(sa[0])
        if remote and (ip.is_unspecified or sa[1] == 0):
            raise NetError("invalid-argument")
        if ip.is_multicast or (ip.version == 6 and ip.ipv4_mapped is not None):
            raise NetError("invalid-argument")
        if not policy_of(store).allows(proto, sa[0], sa[1]):
            raise NetError("access-denied")
        return sa

    def tcp_start_bind(store: Any, self: Any, network: Any, addr: Any) -> None:
        t = obj(store, self, TcpSocket)
        p2_of(store).get(network)
        if t.state != "unbound":
            raise NetError("invalid-state")
        sa = check_addr(store, "tcp", t, addr, remote=False)
        t.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.sock.bind(sa)
        t.state = "bind-started"

    def tcp_finish_bind(store: Any, self: Any) -> None:
        t = obj(store, self, TcpSocket)
        if t.state != "bind-started":
            raise NetError("not-in-progress")
        t.state = "bound"

    def tcp_start_connect(store: Any, self: Any, network: Any, addr: Any) -> None:
        t = obj(store, self, TcpSocket)
        p2_of(store).get(network)
        if t.state not in ("unbound", "bound"):
            raise NetError("invalid-state")
        sa = check_addr(store, "tcp", t, addr, remote=True)
        rc = t.sock.connect_ex(sa)
        if rc not in (0, E.EINPROGRESS, E.EAGAIN):
            raise NetError(_ERRNO.get(rc, "unknown"))
        t.state = "connecting"

    def tcp_finish_connect(store: Any, self: Any) -> tuple[Any, Any]:
        p2 = p2_of(store)
        t = obj(store, self, TcpSocket)
        if t.state != "connecting":
            raise NetError("not-in-progress")
        if not _Writable(t.sock).ready():
            raise NetError("would-block")
        rc = t.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc:
            t.state = "closed"
            raise NetError(_ERRNO.get(rc, "unknown"))
        t.state = "connected"
        return p2.own(SockIn(t.sock, p2), INPUT_STREAM), p2.own(SockOut(t.sock, p2), OUTPUT_STREAM)

    def tcp_start_listen(store: Any, self: Any) -> None:
        t = obj(store, self, TcpSocket)
        if t.state != "bound":
            raise NetError("invalid-state")
        t.sock.listen(t.backlog)
        t.state = "listen-started"

    def tcp_finish_listen(store: Any, self: Any) -> None:
        t = obj(store, self, TcpSocket)
        if t.state != "listen-started":
            raise NetError("not-in-progress")
        t.state = "listening"

    def tcp_accept(store: Any, self: Any) -> tuple[Any, Any, Any]:
        p2 = p2_of(store)
        t = obj(store, self, TcpSocket)
        if t.state != "listening":
            raise NetError("invalid-state")
        conn, _ = t.sock.accept()
        c = TcpSocket(t.family, conn, "connected")
        return (p2.own(c, TCP_SOCKET), p2.own(SockIn(conn, p2), INPUT_STREAM),
                p2.own(SockOut(conn, p2), OUTPUT_STREAM))  # fmt: skip

    def tcp_local(store: Any, self: Any) -> Any:
        t = obj(store, self, TcpSocket)
        if t.state in ("unbound", "closed"):
            raise NetError("invalid-state")
        return to_wit(t.sock.getsockname())

    def tcp_remote(store: Any, self: Any) -> Any:
        t = obj(store, self, TcpSocket)
        if t.state != "connected":
            raise NetError("invalid-state")
        return to_wit(t.sock.getpeername())

    def tcp_backlog(store: Any, self: Any, n: int) -> None:
        t = obj(store, self, TcpSocket)
        if n == 0:
            raise NetError("invalid-argument")
        t.backlog = min(n, 1 << 16)
        if t.state == "listening":
            t.sock.listen(t.backlog)
        elif t.state in ("connecting", "connected"):
            raise NetError("invalid-state")

    def opt(level: int, name: int, conv: Callable[[int], Any] = int, scale: int = 1,
            low: int = 0) -> tuple[Callable[..., Any], Callable[..., Any]]:  # fmt: skip
        def get(store: Any, self: Any) -> Any:
            t = p2_of(store).get(self)
            return conv(t.sock.getsockopt(level, name) * scale)

        def set_(store: Any, self: Any, value: Any) -> None:
            t = p2_of(store).get(self)
            v = int(value) // scale
            if int(value) < low or (scale > 1 and v == 0):
                raise NetError("invalid-argument")
            t.sock.setsockopt(level, name, min(v, (1 << 31) - 1))

        return guard(get), guard(set_)

    def tcp_shutdown(store: Any, self: Any, how: str) -> None:
        t = obj(store, self, TcpSocket)
        if t.state != "connected":
            raise NetError("invalid-state")
        t.sock.shutdown({"receive": socket.SHUT_RD, "send": socket.SHUT_WR}.get(how, socket.SHUT_RDWR))

    def tcp_subscribe(store: Any, self: Any) -> Any:
        return p2_of(store).own(obj(store, self, TcpSocket).pollable(), POLLABLE)

    m = "[method]tcp-socket."
    ka_on = opt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, bool)
    ka_idle = opt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int, 1_000_000_000, 1)
    ka_intvl = opt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, int, 1_000_000_000, 1)
    ka_cnt = opt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, int, 1, 1)
    hop = opt(socket.IPPROTO_IP, socket.IP_TTL, int, 1, 1)
    rcv = opt(socket.SOL_SOCKET, socket.SO_RCVBUF, int, 1, 1)
    snd = opt(socket.SOL_SOCKET, socket.SO_SNDBUF, int, 1, 1)
    out["tcp"] = {
        m + "start-bind": guard(tcp_start_bind), m + "finish-bind": guard(tcp_finish_bind),
        m + "start-connect": guard(tcp_start_connect),
        m + "finish-connect": guard(tcp_finish_connect),
        m + "start-listen": guard(tcp_start_listen), m + "finish-listen": guard(tcp_finish_listen),
        m + "accept": guard(tcp_accept), m + "local-address": guard(tcp_local),
        m + "remote-address": guard(tcp_remote),
        m + "is-listening": lambda store, self: obj(store, self, TcpSocket).state == "listening",
        m + "address-family": lambda store, self: obj(store, self, TcpSocket).family,
        m + "set-listen-backlog-size": guard(tcp_backlog),
        m + "keep-alive-enabled": ka_on[0], m + "set-keep-alive-enabled": ka_on[1],
        m + "keep-alive-idle-time": ka_idle[0], m + "set-keep-alive-idle-time": ka_idle[1],
        m + "keep-alive-interval": ka_intvl[0], m + "set-keep-alive-interval": ka_intvl[1],
        m + "keep-alive-count": ka_cnt[0], m + "set-keep-alive-count": ka_cnt[1],
        m + "hop-limit": hop[0], m + "set-hop-limit": hop[1],
        m + "receive-buffer-size": rcv[0], m + "set-receive-buffer-size": rcv[1],
        m + "send-buffer-size": snd[0], m + "set-send-buffer-size": snd[1],
        m + "subscribe": tcp_subscribe, m + "shutdown": guard(tcp_shutdown),
    }  # fmt: skip
    out["tcp-create-socket"] = {"create-tcp-socket": guard(create_tcp)}

    # --- udp
    def create_udp(store: Any, family: str) -> Any:
        if not policy_of(store).any("udp"):
            raise NetError("access-denied")
        return p2_of(store).own(UdpSocket(family), UDP_SOCKET)

    def udp_start_bind(store: Any, self: Any, network: Any, addr: Any) -> None:
        u = obj(store, self, UdpSocket)
        p2_of(store).get(network)
        if u.state != "unbound":
            raise NetError("invalid-state")
        u.sock.bind(check_addr(store, "udp", u, addr, remote=False))
        u.state = "bind-started"

    def udp_finish_bind(store: Any, self: Any) -> None:
        u = obj(store, self, UdpSocket)
        if u.state != "bind-started":
            raise NetError("not-in-progress")
        u.state = "bound"

    def udp_stream(store: Any, self: Any, remote: Any) -> tuple[Any, Any]:
        p2 = p2_of(store)
        u = obj(store, self, UdpSocket)
        if u.state != "bound":
            raise NetError("invalid-state")
        if isinstance(remote, Variant) and remote.tag in ("none", "some"):
            remote = remote.payload
        if remote is not None:
            sa = check_addr(store, "udp", u, remote, remote=True)
            u.sock.connect(sa)
            u.remote = sa
        elif u.remote is not None:
            raise NetError("not-supported")  # dissolving a UDP association (AF_UNSPEC)
        u.generation += 1
        return p2.own(Datagrams(u), INCOMING_DATAGRAMS), p2.own(Datagrams(u), OUTGOING_DATAGRAMS)

    def udp_local(store: Any, self: Any) -> Any:
        u = obj(store, self, UdpSocket)
        if u.state == "unbound":
            raise NetError("invalid-state")
        return to_wit(u.sock.getsockname())

    def udp_remote(store: Any, self: Any) -> Any:
        u = obj(store, self, UdpSocket)
        if u.remote is None:
            raise NetError("invalid-state")
        return to_wit(u.sock.getpeername())

    def live(store: Any, h: Any) -> Datagrams:
        d = obj(store, h, Datagrams)
        if d.generation != d.udp.generation:
            raise NetError("invalid-state")
        return d

    def receive(store: Any, self: Any, max_results: int) -> list[dict[str, Any]]:
        d = live(store, self)
        got: list[dict[str, Any]] = []
        while len(got) < min(max_results, 1024):
            try:
                data, sa = d.udp.sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                break
            except OSError as e:
                if got:
                    break
                raise NetError(code_of(e)) from None
            got.append({"data": data, "remote-address": to_wit(sa)})
        return got

    def check_send(store: Any, self: Any) -> int:
        live(store, self)
        return SEND_PERMIT

    def send(store: Any, self: Any, datagrams: list[Any]) -> int:
        d = live(store, self)
        u = d.udp
        if len(datagrams) > SEND_PERMIT:
            raise Trap("outgoing-datagram-stream.send: more datagrams than check-send permitted")
        sent = 0
        for dg in datagrams:
            data = bytes(_field(dg, "data"))
            remote = _field(dg, "remote-address")
            if isinstance(remote, Variant) and remote.tag in ("none", "some"):
                remote = remote.payload
            try:
                if remote is None:
                    if u.remote is None:
                        raise NetError("invalid-argument")
                    u.sock.send(data)
                else:
                    sa = check_addr(store, "udp", u, remote, remote=True)
                    if u.remote is not None and sa[:2] != u.remote[:2]:
                        raise NetError("invalid-argument")
                    if u.remote is not None:
                        u.sock.send(data)
                    else:
                        u.sock.sendto(data, sa)
            except (NetError, OSError) as e:
                if sent:
                    return sent
                if isinstance(e, NetError):
                    raise
                if isinstance(e, BlockingIOError):
                    return 0
                raise NetError(code_of(e)) from None
            sent += 1
        return sent

    def in_subscribe(store: Any, self: Any) -> Any:
        d = obj(store, self, Datagrams)
        return p2_of(store).own(FdReadable(d.udp.sock.fileno()), POLLABLE)

    def out_subscribe(store: Any, self: Any) -> Any:
        obj(store, self, Datagrams)
        return p2_of(store).own(Pollable(), POLLABLE)

    def udp_subscribe(store: Any, self: Any) -> Any:
        obj(store, self, UdpSocket)
        return p2_of(store).own(Pollable(), POLLABLE)

    u = "[method]udp-socket."
    uhop = opt(socket.IPPROTO_IP, socket.IP_TTL, int, 1, 1)
    out["udp"] = {
        u + "start-bind": guard(udp_start_bind), u + "finish-bind": guard(udp_finish_bind),
        u + "stream": guard(udp_stream), u + "local-address": guard(udp_local),
        u + "remote-address": guard(udp_remote),
        u + "address-family": lambda store, self: obj(store, self, UdpSocket).family,
        u + "unicast-hop-limit": uhop[0], u + "set-unicast-hop-limit": uhop[1],
        u + "receive-buffer-size": rcv[0], u + "set-receive-buffer-size": rcv[1],
        u + "send-buffer-size": snd[0], u + "set-send-buffer-size": snd[1],
        u + "subscribe": udp_subscribe,
        "[method]incoming-datagram-stream.receive": guard(receive),
        "[method]incoming-datagram-stream.subscribe": in_subscribe,
        "[method]outgoing-datagram-stream.check-send": guard(check_send),
        "[method]outgoing-datagram-stream.send": guard(send),
        "[method]outgoing-datagram-stream.subscribe": out_subscribe,
    }  # fmt: skip
    out["udp-create-socket"] = {"create-udp-socket": guard(create_udp)}


RESOURCES = {
    "network": {"network": NETWORK, "error": ERROR},
    "instance-network": {"network": NETWORK},
    "ip-name-lookup": {"resolve-address-stream": RESOLVE_STREAM, "network": NETWORK,
                       "pollable": POLLABLE},
    "tcp": {"tcp-socket": TCP_SOCKET, "network": NETWORK, "input-stream": INPUT_STREAM,
            "output-stream": OUTPUT_STREAM, "pollable": POLLABLE},
    "tcp-create-socket": {"tcp-socket": TCP_SOCKET, "network": NETWORK},
    "udp": {"udp-socket": UDP_SOCKET, "incoming-datagram-stream": INCOMING_DATAGRAMS,
            "outgoing-datagram-stream": OUTGOING_DATAGRAMS, "network": NETWORK,
            "pollable": POLLABLE},
    "udp-create-socket": {"udp-socket": UDP_SOCKET, "network": NETWORK},
}  # fmt: skip
