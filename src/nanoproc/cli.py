"""The nanoproc command: run modules and spec scripts, convert, print and validate modules.

Every failure the user can cause (a missing, unreadable, malformed or invalid
input) ends in one ``error: ...`` line on stderr and a non-zero exit, never a
traceback; a bug in nanoproc ends in ``internal error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from . import cli_component
from .cli_stdio import ensure_standard_streams, flush_quietly, write_quietly
from .internal.errors import WasmtimeError

EXIT_FAILED = 1
"""Bad input, an invalid module, or failed script commands."""
EXIT_INTERNAL = 2
"""A bug in nanoproc (and argparse's usage errors)."""


class UserError(Exception):
    """Bad input: reported as ``error: <message>``."""


# ---------------------------------------------------------------- files


def read_input(path: str, what: str) -> bytes:
    """The bytes of an input file; UserError naming the file if it cannot be read."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{path}: is a directory, expected a {what} file")
    try:
        return p.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: {e.strerror or e}") from None


def write_output(path: str | None, data: bytes | str) -> None:
    """Write to ``path``, or to stdout when it is None or ``-``."""
    if path is None or path == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    try:
        if isinstance(data, bytes):
            Path(path).write_bytes(data)
        else:
            Path(path).write_text(data, encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: cannot write: {e.strerror or e}") from None


def is_binary(data: bytes) -> bool:
    return data[:4] == b"\0asm"


def text_of(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte offset {e.start}) and not a Wasm binary") from None


def refuse_components(data: bytes, path: str, command: str) -> None:
    """UserError if ``data`` is a component, which ``command`` does not take yet."""
    from .cli_component import component_refusal

    refusal = component_refusal(data, command)
    if refusal is not None:
        raise UserError(f"{path}: {refusal}")


def load_module(path: str, command: str) -> object:
    """A module tree from a binary or text file (function bodies fully decoded)."""
    from .internal.binary import decode_module
    from .internal.text.wat import parse_wat

    data = read_input(path, "module")
    refuse_components(data, path, command)
    if is_binary(data):
        return decode_module(data, lazy=False)
    return parse_wat(text_of(data, path), filename=path)


# ---------------------------------------------------------------- subcommands


def cmd_parse(args: argparse.Namespace) -> int:
    """Text to binary (no validation: that is ``validate``'s job)."""
    from .internal.binary.encode import encode_module
    from .internal.text.wat import parse_wat

    data = read_input(args.input, "WAT text")
    if is_binary(data):
        raise UserError(f"{args.input}: is already a Wasm binary, expected WAT text")
    if cli_component.is_component_input(data):
        write_output(args.output, cli_component.parse_to_binary(data, args.input))
        return 0
    module = parse_wat(text_of(data, args.input), filename=args.input)
    write_output(args.output, encode_module(module))
    return 0


def cmd_print(args: argparse.Namespace) -> int:
    from .internal.binary import decode_module
    from .internal.text.printer import print_module

    data = read_input(args.input, "Wasm binary")
    if not is_binary(data):
        raise UserError(f"{args.input}: not a Wasm binary (no \\0asm header)")
    if cli_component.is_component_input(data):
        write_output(args.output, cli_component.print_text(data, args.input))
        return 0
    text = print_module(decode_module(data, lazy=False), fold=args.fold)
    write_output(args.output, text if text.endswith("\n") else text + "\n")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .internal.binary import decode_module
    from .internal.errors import ValidationError
    from .internal.text.wat import parse_wat
    from .internal.valid import validate_module

    data = read_input(args.input, "module")
    if cli_component.is_component_input(data):
        cli_component.validate(data, args.input)
        if args.verbose:
            print(f"{args.input}: valid")
        return 0
    if is_binary(data):
        module: object = decode_module(data)
    else:
        module = parse_wat(text_of(data, args.input), filename=args.input)
    try:
        # one body decoded at a time: a 100 MB module stays near its own size; a big
        # one is checked by worker processes too
        validate_module(module, release=True,  # type: ignore[arg-type]
                        wasm=data if is_binary(data) else None)  # fmt: skip
    except ValidationError as e:
        if e.func is None:
            raise
        k = e.func - module.num_imported_funcs  # type: ignore[attr-defined]
        if is_binary(data):
            if e.offset is not None or not 0 <= k < len(module.funcs):  # type: ignore[attr-defined]
                raise
            body = module.funcs[k].code_offset  # type: ignore[attr-defined]
            raise UserError(f"{args.input}: {e} (function body at offset 0x{body:x})") from None
        where = func_position(text_of(data, args.input), k)
        if where is None:
            raise
        raise UserError(f"{args.input}:{where[0]}:{where[1]}: {e}") from None
    if args.verbose:
        print(f"{args.input}: valid")
    return 0


def cmd_compose(args: argparse.Namespace) -> int:
    for path in [args.socket, *args.plug]:
        read_input(path, "component")  # a clear error for a missing or unreadable file
    write_output(args.output, cli_component.compose(args.socket, args.plug))
    return 0


def cmd_wit(args: argparse.Namespace) -> int:
    features = frozenset(f.strip() for f in args.features.split(",") if f.strip())
    if not Path(args.input).exists():
        raise UserError(f"{args.input}: no such file or directory")
    text = cli_component.wit_text(args.input, features, args.all_features)
    write_output(args.output, text)
    return 0


def func_position(text: str, k: int) -> tuple[int, int] | None:
    """line:column of the ``k``-th function defined (not imported) in WAT ``text``: the
    validator knows function indices, text users want to know where to look."""
    from .internal.text.lexer import Node, Source, read_sexprs

    src = Source(text)
    root = read_sexprs(src)
    fields = root.items
    if len(fields) == 1 and isinstance(fields[0], Node) and fields[0].head() == "module":
        fields = fields[0].items
    funcs = [f for f in fields if isinstance(f, Node) and f.head() == "func"
             and not any(isinstance(i, Node) and i.head() == "import" for i in f.items)]
    return src.line_col(funcs[k].pos) if 0 <= k < len(funcs) else None


def cmd_wast(args: argparse.Namespace) -> int:
    from .internal.script.pool import run_files
    from .internal.script.report import FileResult, Totals

    for path in args.files:  # check them all before spending minutes on the first
        try:
            with open(path, "rb"):
                pass
        except IsADirectoryError:
            raise UserError(f"{path}: is a directory, expected a .wast file") from None
        except OSError as e:
            raise UserError(f"{path}: {e.strerror or e}") from None
    totals = Totals()

    def show(r: FileResult) -> None:
        totals.add(r)
        print(f"{r.summary()} [{r.seconds:.1f}s]", flush=True)
        limit = None if args.all_failures else args.max_failures
        for f in r.failures[:limit]:
            print(f"  {_one_line(str(f))}")
        if limit is not None and len(r.failures) > limit:
            print(f"  ... and {len(r.failures) - limit} more failures (--all-failures shows them)")

    run_files(args.files, jobs=args.jobs, api_name=args.api, strategy=args.engine,
              timeout=args.timeout or None, on_result=show, start_method="forkserver",
              malformed_messages=args.malformed_messages)
    print(totals.summary())
    return 0 if totals.failed == 0 else EXIT_FAILED


def _one_line(text: str) -> str:
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


# ---------------------------------------------------------------- argument parsing


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="nanoproc", description=__doc__.splitlines()[0],
                                 epilog="`nanoproc FILE ...` is `nanoproc run FILE ...`, "
                                        "as with wasmtime.")  # fmt: skip
    ap.add_argument("-V", "--version", action=_Version, nargs=0, help="print the version and exit")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from .cli_run import add_run_parser, cmd_run

    add_run_parser(sub).set_defaults(func=cmd_run)

    from .cli_compile import add_compile_parser
    from .cli_serve import add_serve_parser

    add_serve_parser(sub)

    add_compile_parser(sub)

    w = sub.add_parser("wast", help="run .wast spec scripts and count passed/failed/skipped")
    w.add_argument("files", nargs="+", metavar="FILE.wast")
    w.add_argument("--engine", choices=("interp", "llvm"), default=None,
                   help="execution tier (default: nanoproc's automatic choice)")
    w.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                   help="run N files at a time, each in its own process")
    w.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                   help="time limit per file (default 600; 0 for none)")
    w.add_argument("--max-failures", type=int, default=20, metavar="N",
                   help="failures listed per file (default 20)")
    w.add_argument("--all-failures", action="store_true", help="list every failure")
    w.add_argument("--malformed-messages", action="store_true",
                   help="also compare assert_malformed messages with the spec's wording")
    w.add_argument("--api", default="nanoproc", metavar="MODULE",
                   help="wasmtime-py-shaped module to run against, e.g. wasmtime as a control")
    w.set_defaults(func=cmd_wast)

    p = sub.add_parser("parse", help="convert WAT text to a Wasm binary")
    p.add_argument("input", metavar="IN.wat")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wasm", help="- for stdout")
    p.set_defaults(func=cmd_parse)

    r = sub.add_parser("print", help="print a Wasm binary as WAT text")
    r.add_argument("input", metavar="IN.wasm")
    r.add_argument("-o", "--output", default=None, metavar="OUT.wat",
                   help="output file (default: stdout)")
    r.add_argument("--fold", action="store_true", help="print bodies as folded expressions")
    r.set_defaults(func=cmd_print)

    comp = sub.add_parser("compose", help="plug a component's imports with other components' "
                          "exports of the same names (as `wac plug`)")  # fmt: skip
    comp.add_argument("socket", metavar="SOCKET.wasm")
    comp.add_argument("--plug", action="append", required=True, metavar="PLUG.wasm",
                      help="a component whose exports satisfy the socket's imports (repeatable)")
    comp.add_argument("-o", "--output", required=True, metavar="OUT.wasm", help="- for stdout")
    comp.set_defaults(func=cmd_compose)

    wit = sub.add_parser("wit", help="print the WIT of a component, or check and print a WIT "
                         "package (a directory or .wit file)")  # fmt: skip
    wit.add_argument("input", metavar="COMPONENT|DIR|FILE.wit")
    wit.add_argument("-o", "--output", default=None, metavar="OUT.wit",
                     help="output file (default: stdout)")
    wit.add_argument("--features", default="", metavar="A,B",
                     help="enable these @unstable features")
    wit.add_argument("--all-features", action="store_true", help="enable every @unstable feature")
    wit.set_defaults(func=cmd_wit)

    v = sub.add_parser("validate", help="check a module (binary or text); exit 1 if invalid")
    v.add_argument("input", metavar="IN.wasm|IN.wat")
    v.add_argument("-v", "--verbose", action="store_true", help="say so when it is valid")
    v.set_defaults(func=cmd_validate)
    ap.set_defaults(commands=tuple(sub.choices))
    return ap


class _Version(argparse.Action):
    """``--version``, looked up only when asked (package metadata is slow to read)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:  # fmt: skip
        from .api.artifact import nanoproc_version

        write_quietly(sys.stdout, f"nanoproc {nanoproc_version()}\n")
        parser.exit(0)


def default_to_run(argv: list[str], commands: Iterable[str]) -> list[str]:
    """``nanoproc app.wasm ...`` and ``nanoproc --dir . app.wasm`` mean ``nanoproc run
    ...``, as with wasmtime (so a module named like a command needs ``run``)."""
    if not argv or argv[0] in commands or argv[0] in ("-h", "--help", "-V", "--version"):
        return argv
    return ["run", *argv]


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand, turning every expected failure into one ``error:`` line."""
    where = getattr(args, "input", None)
    try:
        return func(args)
    except UserError as e:
        _say(f"error: {e}")
    except WasmtimeError as e:
        prefix = f"{where}: " if where and not str(e).startswith(where) else ""
        _say(f"error: {prefix}{_one_line(str(e))}")
    except OSError as e:
        name = f"{e.filename}: " if e.filename else ""
        _say(f"error: {name}{e.strerror or e}")
    except KeyboardInterrupt:
        _say("error: interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - a bug: say so, without a traceback
        _say(f"internal error: {type(e).__name__}: {_one_line(str(e))}")
        return EXIT_INTERNAL
    return EXIT_FAILED


def _say(line: str) -> None:
    flush_quietly()
    write_quietly(sys.stderr, line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    ensure_standard_streams()
    parser = build_parser()
    commands = parser.get_default("commands")
    args = parser.parse_args(default_to_run(list(sys.argv[1:] if argv is None else argv), commands))
    code = _guarded(args.func, args)
    flush_quietly()
    return code


if __name__ == "__main__":
    sys.exit(main())
