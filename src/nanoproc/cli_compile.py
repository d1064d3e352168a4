"""``nanoproc compile IN.wasm -o OUT.cwasm``: ahead-of-time compilation with the llvm tier.

The output is a ``Module.serialize`` artifact (the module's binary plus its machine
code for this CPU), which ``nanoproc run OUT.cwasm`` and ``Module.deserialize``
load without any LLVM work. Large modules are compiled by several processes at
once, with a progress bar on a terminal.

Hooked into ``nanoproc`` with :func:`add_compile_parser`; also runs standalone:
``python -m nanoproc.cli_compile IN.wasm -o OUT.cwasm``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

EXIT_FAILED = 1
EXIT_INTERNAL = 2

DESCRIPTION = "compile a module ahead of time (llvm tier) into a .cwasm artifact"


def add_compile_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``compile`` subcommand to ``nanoproc``'s subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compile", help=DESCRIPTION, description=DESCRIPTION)  # fmt: skip
    _add_arguments(parser)
    return parser


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="IN.wasm|IN.wat")
    p.add_argument("-o", "--output", metavar="OUT.cwasm",
                   help="where to write the artifact (default: IN with .cwasm)")
    p.add_argument("-O", "--opt-level", type=int, choices=(0, 1, 2, 3), default=None,
                   help="LLVM optimisation level (default 2)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="compile with up to N processes (default: one per CPU)")
    p.add_argument("-W", dest="wasm_options", action="append", default=[], metavar="OPT",
                   help="compile in fuel metering (consume-fuel, or run's fuel=N) or epoch "
                        "checks (epoch-interruption, or run's timeout=D), so the artifact "
                        "runs under those `nanoproc run -W` options")
    p.add_argument("--sign-key", metavar="FILE",
                   help="sign the artifact with the key in FILE (its bytes, at least 16), "
                        "so that `nanoproc run --verify-key FILE` can tell it was not "
                        "changed by anyone without the key")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="show a progress bar (auto: on a terminal, for long compiles)")
    p.set_defaults(func=cmd_compile)


class ProgressBar:
    """A one-line progress bar on ``stream``, drawn only after ``delay`` seconds."""

    def __init__(self, stream: TextIO, enabled: bool, delay: float = 0.5) -> None:
        self.stream = stream
        self.enabled = enabled
        self.start = time.monotonic()
        self.delay = delay
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 1:
            return
        if not self.drawn and time.monotonic() - self.start < self.delay and done < total:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        secs = time.monotonic() - self.start
        self.stream.write(f"\rcompiling [{bar}] {done}/{total} parts, {secs:.1f}s")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def cmd_compile(args: argparse.Namespace) -> int:
    """Compile ``args.file``; the exit status to use."""
    try:
        return _compile(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - sorted below; never a traceback
        from .internal.errors import WasmtimeError

        if isinstance(e, WasmtimeError):
            where = "" if str(e).startswith("--") else f"{args.file}: "
            print(f"error: {where}{_one_line(str(e))}", file=sys.stderr)
            return EXIT_FAILED
        if isinstance(e, OSError):
            name = e.filename or args.file
            print(f"error: {name}: {e.strerror or e}", file=sys.stderr)
            return EXIT_FAILED
        print(f"internal error: {type(e).__name__}: {_one_line(str(e))}", file=sys.stderr)
        return EXIT_INTERNAL


def _compile(args: argparse.Namespace) -> int:
    import nanoproc
    from nanoproc.api.tiers import llvm_unavailable_reason

    reason = llvm_unavailable_reason()
    if reason is not None:
        print(f"error: the llvm tier is not available: {reason}", file=sys.stderr)
        return EXIT_FAILED
    if os.path.isdir(args.file):
        print(f"error: {args.file}: is a directory, expected a module file", file=sys.stderr)
        return EXIT_FAILED
    with open(args.file, "rb") as f:
        data = f.read()
    from .cli_component import component_refusal

    refusal = component_refusal(data, "compile")
    if refusal is not None:
        print(f"error: {args.file}: {refusal}", file=sys.stderr)
        return EXIT_FAILED
    output = args.output or os.path.splitext(args.file)[0] + ".cwasm"
    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_FAILED

    config = nanoproc.Config()
    config.strategy = "llvm"
    if args.sign_key is not None:
        config.artifact_key = read_key_file(args.sign_key, "--sign-key")
    for spec in args.wasm_options:
        key = spec.partition("=")[0]
        if key in ("consume-fuel", "fuel"):
            config.consume_fuel = True
        elif key in ("epoch-interruption", "timeout"):
            config.epoch_interruption = True
        else:
            print(f"error: -W {spec}: unknown option (consume-fuel, epoch-interruption, "
                  "fuel=N, timeout=D)", file=sys.stderr)
            return EXIT_FAILED
    engine = nanoproc.Engine(config)
    backend = engine.backend
    if args.opt_level is not None:
        backend.options = backend.options.replace(opt_level=args.opt_level)  # type: ignore[attr-defined]
    from .api.wat import to_wasm_bytes

    # Not Module(): it would compile before the progress bar and job count apply.
    module = nanoproc.Module._of_binary(engine, to_wasm_bytes(data))
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    bar = ProgressBar(sys.stderr, show, delay=0.0 if args.progress == "always" else 0.5)
    art = backend.prepare(module._compiled)
    try:
        art.compile(progress=bar, jobs=args.jobs)  # type: ignore[attr-defined]
    finally:
        bar.finish()
    blob = module.serialize()
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, output)
    return 0


def read_key_file(path: str, option: str) -> bytes:
    """The key in file ``path`` (all its bytes); WasmtimeError saying what is wrong."""
    from .api.artifact import check_key
    from .internal.errors import WasmtimeError

    try:
        with open(path, "rb") as f:
            key = f.read()
    except OSError as e:
        raise WasmtimeError(f"{option} {path}: {e.strerror or e}") from None
    try:
        return check_key(key)
    except WasmtimeError as e:
        raise WasmtimeError(f"{option} {path}: {e}") from None


def _one_line(text: str) -> str:
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    from .cli_stdio import ensure_standard_streams

    ensure_standard_streams()
    parser = argparse.ArgumentParser(prog="nanoproc compile", description=DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return cmd_compile(args)


if __name__ == "__main__":
    sys.exit(main())
