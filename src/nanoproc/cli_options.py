"""``nanoproc run``'s ``-W`` (execution) and ``-S`` (WASI) options, spelt as wasmtime
spells them: comma-separated ``KEY[=VALUE]`` lists, booleans as ``KEY``,
``KEY=y|yes|true`` or ``KEY=n|no|false``, numbers in decimal or ``0x`` hex with
``_`` allowed, and ``-W help`` / ``-S help`` listing what is accepted.

Options wasmtime has that nanoproc cannot honour are refused with an error naming
them (turning a feature off is accepted); unknown keys are refused as unknown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .internal.records import Record

if TYPE_CHECKING:
    from fractions import Fraction

U64_MAX = (1 << 64) - 1


class OptionError(Exception):
    """A bad ``-W``/``-S`` option: one ``error:`` line."""


def split(flag: str, specs: list[str]) -> list[tuple[str, str | None, str]]:
    """``(key, value or None, original text)`` for every item of every ``specs``."""
    out = []
    for spec in specs:
        for item in spec.split(","):
            key, eq, value = item.partition("=")
            if not key:
                raise OptionError(f"{flag} {spec}: expected KEY[=VALUE][,...]")
            out.append((key, value if eq else None, item))
    return out


def boolean(flag: str, key: str, value: str | None) -> bool:
    if value in (None, "y", "yes", "true"):
        return True
    if value in ("n", "no", "false"):
        return False
    raise OptionError(f"{flag} {key}={value}: expected y, yes, true, n, no or false")


def number(flag: str, item: str, value: str | None, limit: int = U64_MAX) -> int:
    """A non-negative integer up to ``limit`` (wasmtime's u64 options)."""
    if value is None:
        raise OptionError(f"{flag} {item}: expected {item}=N")
    text = value.replace("_", "")
    try:
        n = int(text[2:], 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise OptionError(f"{flag} {item}: not a number") from None
    if n < 0:
        raise OptionError(f"{flag} {item}: must not be negative")
    if n > limit:
        raise OptionError(f"{flag} {item}: must be at most {limit}")
    return n


_UNITS = {"ns": (1, 10**9), "us": (1, 10**6), "µs": (1, 10**6), "μs": (1, 10**6),
          "ms": (1, 1000), "s": (1, 1), "m": (60, 1), "min": (60, 1), "h": (3600, 1)}
"""Seconds per unit, as a fraction."""


def duration(text: str, what: str = "-W timeout") -> Fraction:
    """Seconds in ``2s``, ``500ms``, ``1.5m``, ``3`` (seconds), ... at most u64-max
    seconds (wasmtime's Duration)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([a-zµμ]*)\s*", text)
    if not m or m.group(2) not in ("", *_UNITS):
        raise OptionError(f"{what}={text}: expected a duration such as 2s or 500ms")
    from fractions import Fraction  # with decimal, ~3 ms: only when a duration is given

    seconds = Fraction(m.group(1)) * Fraction(*_UNITS[m.group(2) or "s"])
    if seconds > U64_MAX:
        raise OptionError(f"{what}={text}: must be at most {U64_MAX}s")
    return seconds


# ---------------------------------------------------------------- -W
WASM_HELP = {
    "fuel=N": "run out of fuel (a trap) after about N instructions",
    "timeout=DURATION": "stop with an interrupt trap after DURATION (2s, 500ms, ...)",
    "max-memory-size=BYTES": "largest size of any linear memory",
    "max-table-elements=N": "most elements of any table",
    "max-instances=N": "most instances",
    "max-tables=N": "most tables",
    "max-memories=N": "most linear memories",
    "max-wasm-stack=BYTES": "Wasm stack size (a stack overflow traps beyond it)",
    "epoch-interruption[=y|n]": "compile in epoch checks (timeout does so itself)",
    "unknown-imports-trap[=y|n]": "a function import no host defines traps when called",
    "unknown-imports-default[=y|n]": "a function import no host defines returns zeros",
}
_LIMITS = {"max-memory-size": "memory_size", "max-table-elements": "table_elements",
           "max-instances": "instances", "max-tables": "tables", "max-memories": "memories"}  # fmt: skip
_WASM_UNSUPPORTED = frozenset({
    "nan-canonicalization", "async-stack-size", "async-stack-zeroing", "unknown-exports-allow",
    "wmemcheck", "trap-on-grow-failure",
    "all-proposals", "bulk-memory", "multi-memory", "multi-value", "reference-types", "simd",
    "relaxed-simd", "relaxed-simd-deterministic", "tail-call", "threads", "shared-everything-threads",
    "memory64", "component-model", "component-model-async", "function-references", "gc",
    "custom-page-sizes", "wide-arithmetic", "extended-const", "exceptions", "stack-switching",
})  # fmt: skip
"""wasmtime -W keys nanoproc does not take (its features are all on)."""


class WasmOptions(Record):
    __match_args__ = ("fuel", "timeout", "limits", "max_wasm_stack", "epoch_interruption",
                      "unknown_imports")  # fmt: skip
    fuel: int | None
    timeout: Fraction | None
    limits: dict[str, int]
    """Store.set_limits keyword arguments."""
    max_wasm_stack: int | None
    epoch_interruption: bool
    unknown_imports: str | None
    """"trap" or "default": how function imports no host defines are linked."""

    def __init__(self, fuel: int | None = None, timeout: Fraction | None = None,
                 limits: dict[str, int] | None = None, max_wasm_stack: int | None = None,
                 epoch_interruption: bool = False, unknown_imports: str | None = None) -> None:  # fmt: skip
        self.fuel = fuel
        self.timeout = timeout
        self.limits = {} if limits is None else limits
        self.max_wasm_stack = max_wasm_stack
        self.epoch_interruption = epoch_interruption
        self.unknown_imports = unknown_imports


def parse_wasm(specs: list[str]) -> WasmOptions:
    opts = WasmOptions()
    for key, value, item in split("-W", specs):
        if key == "fuel":
            opts.fuel = number("-W", item, value)
        elif key == "timeout":
            if value is None:
                raise OptionError(f"-W {item}: expected timeout=DURATION")
            opts.timeout = duration(value)
        elif key in _LIMITS:
            opts.limits[_LIMITS[key]] = number("-W", item, value)
        elif key == "max-wasm-stack":
            opts.max_wasm_stack = number("-W", item, value, (1 << 63) - 1)
        elif key == "epoch-interruption":
            opts.epoch_interruption = boolean("-W", key, value)
        elif key in ("unknown-imports-trap", "unknown-imports-default"):
            kind = key.rsplit("-", 1)[1]
            if boolean("-W", key, value):
                opts.unknown_imports = kind
            elif opts.unknown_imports == kind:
                opts.unknown_imports = None
        elif key in _WASM_UNSUPPORTED:
            raise OptionError(f"-W {item}: not supported by nanoproc (every Wasm feature it "
                              "implements is on)")  # fmt: skip
        else:
            raise OptionError(f"-W {item}: unknown -W option (-W help lists them)")
    return opts


# ---------------------------------------------------------------- -S
WASI_HELP = {
    "cli[=y|n]": "WASI preview1 (on; n: no WASI imports at all)",
    "common[=y|n]": "the same as cli",
    "preview2[=y|n]": "accepted: core modules get preview1 either way",
    "inherit-env[=y|n]": "pass this process's environment (--env overrides; non-UTF-8 "
                         "variables are left out)",
    "inherit-stdin[=y|n]": "the program reads this process's stdin (on; n: empty)",
    "inherit-stdout[=y|n]": "the program writes to this process's stdout (on; n: discarded)",
    "inherit-stderr[=y|n]": "the program writes to this process's stderr (on; n: discarded)",
    "tcplisten=HOST:PORT": "the same as --tcplisten",
    "http[=y|n]": "components: wasi:http (types, outgoing-handler); serve always has it",
    "allow-http-host=HOST[:PORT]": "wasi:http may send requests to HOST (any port, or PORT "
                                   "only; * for any host); none allowed by default (nanoproc)",
    "inherit-network[=y|n]": "components: wasi:sockets may use every address (preview1 "
                             "programs cannot open sockets of their own, as in wasmtime)",
    "allow-ip-name-lookup[=y|n]": "components: wasi:sockets may resolve host names",
    "allow-tcp=ADDR[/BITS][:PORT]": "components: TCP may bind/connect to ADDR (an IP or a "
                                    "network; [v6]:PORT), PORT only if given (nanoproc)",
    "allow-udp=ADDR[/BITS][:PORT]": "components: the same for UDP (bind, send)",
    "tcp[=y|n]": "components: n forbids TCP whatever else allows it",
    "udp[=y|n]": "components: n forbids UDP whatever else allows it",
}
_WASI_FLAGS_UNSUPPORTED = frozenset({
    "nn", "threads", "config", "keyvalue", "tls", "p3", "preview0", "listenfd",
    "cli-exit-with-code", "network-error-code",
})  # fmt: skip
"""wasmtime -S switches for proposals nanoproc does not implement: ``KEY=n`` is fine."""
_WASI_VALUES_UNSUPPORTED = frozenset({
    "cwd", "nn-graph", "config-var", "keyvalue-in-memory-data", "max-resources", "hostcall-fuel",
    "max-random-size", "max-http-fields-size", "http-outgoing-body-buffer-chunks",
    "http-outgoing-body-chunk-size",
})  # fmt: skip
_NO_EFFECT = frozenset({"preview2"})


class WasiOptions(Record):
    __match_args__ = ("enabled", "inherit_env", "inherit_stdin", "inherit_stdout",
                      "inherit_stderr", "tcplisten", "http", "http_hosts", "inherit_network",
                      "ip_name_lookup", "tcp", "udp", "net_rules")  # fmt: skip
    enabled: bool
    inherit_env: bool
    inherit_stdin: bool
    inherit_stdout: bool
    inherit_stderr: bool
    tcplisten: list[str]
    http: bool
    http_hosts: list[str]
    inherit_network: bool
    ip_name_lookup: bool
    tcp: bool
    udp: bool
    net_rules: list[tuple[str, str, int | None]]
    """(protocol, IP network, port or None) from allow-tcp / allow-udp."""

    def __init__(self, enabled: bool = True, inherit_env: bool = False, inherit_stdin: bool = True,
                 inherit_stdout: bool = True, inherit_stderr: bool = True,
                 tcplisten: list[str] | None = None, http: bool = False,
                 http_hosts: list[str] | None = None, inherit_network: bool = False,
                 ip_name_lookup: bool = False, tcp: bool = True, udp: bool = True,
                 net_rules: list[tuple[str, str, int | None]] | None = None) -> None:  # fmt: skip
        self.enabled = enabled
        self.inherit_env = inherit_env
        self.inherit_stdin = inherit_stdin
        self.inherit_stdout = inherit_stdout
        self.inherit_stderr = inherit_stderr
        self.tcplisten = [] if tcplisten is None else tcplisten
        self.http = http
        self.http_hosts = [] if http_hosts is None else http_hosts
        self.inherit_network = inherit_network
        self.ip_name_lookup = ip_name_lookup
        self.tcp = tcp
        self.udp = udp
        self.net_rules = [] if net_rules is None else net_rules


def parse_wasi(specs: list[str]) -> WasiOptions:
    opts = WasiOptions()
    for key, value, item in split("-S", specs):
        if key in ("cli", "common"):
            opts.enabled = boolean("-S", key, value)
        elif key in ("inherit-env", "inherit-stdin", "inherit-stdout", "inherit-stderr"):
            setattr(opts, key.replace("-", "_"), boolean("-S", key, value))
        elif key == "tcplisten":
            if not value:
                raise OptionError(f"-S {item}: expected tcplisten=HOST:PORT")
            opts.tcplisten.append(value)
        elif key == "http":
            opts.http = boolean("-S", key, value)
        elif key == "allow-http-host":
            if not value or any(c in value for c in " /?#@"):
                raise OptionError(f"-S {item}: expected allow-http-host=HOST[:PORT]")
            opts.http_hosts.append(value)
        elif key in ("inherit-network", "allow-ip-name-lookup", "tcp", "udp"):
            attr = {"allow-ip-name-lookup": "ip_name_lookup"}.get(key, key.replace("-", "_"))
            setattr(opts, attr, boolean("-S", key, value))
        elif key in ("allow-tcp", "allow-udp"):
            opts.net_rules.append((key[6:], *net_rule(item, value)))
        elif key in _NO_EFFECT:
            boolean("-S", key, value)
        elif key in _WASI_FLAGS_UNSUPPORTED:
            if boolean("-S", key, value):
                raise OptionError(f"-S {item}: not supported by nanoproc (WASI preview1 only)")
        elif key in _WASI_VALUES_UNSUPPORTED:
            raise OptionError(f"-S {item}: not supported by nanoproc (WASI preview1 only)")
        else:
            raise OptionError(f"-S {item}: unknown -S option (-S help lists them)")
    return opts


def net_rule(item: str, value: str | None) -> tuple[str, int | None]:
    """``ADDR[/BITS][:PORT]`` (``[v6addr][/BITS]:PORT`` for IPv6) as (network, port)."""
    import ipaddress

    text = value or ""
    port: int | None = None
    if text.startswith("["):
        addr, _, rest = text[1:].partition("]")
        if rest.startswith("/"):
            bits, _, p = rest[1:].partition(":")
            addr += "/" + bits
            rest = ":" + p if p else ""
        if rest:
            port = number("-S", item, rest[1:], 65535) if rest.startswith(":") else -1
    elif text.count(":") == 1:
        addr, _, p = text.partition(":")
        port = number("-S", item, p, 65535)
    else:
        addr = text
    try:
        if port == -1:
            raise ValueError
        net = str(ipaddress.ip_network(addr, strict=False))
    except ValueError:
        raise OptionError(f"-S {item}: expected ADDR[/BITS][:PORT] (an IP address or "
                          "network, e.g. 127.0.0.1:8080, 10.0.0.0/8, [::1]:80)") from None  # fmt: skip
    return net, port


def help_text(flag: str) -> str:
    """What ``-W help`` / ``-S help`` prints."""
    table = WASM_HELP if flag == "-W" else WASI_HELP
    width = max(len(k) for k in table)
    lines = [f"Options for {flag} (comma-separated, or {flag} more than once):", ""]
    lines += [f"  {flag} {key:<{width}}  {text}" for key, text in table.items()]
    return "\n".join(lines) + "\n"
