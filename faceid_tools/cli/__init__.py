"""``faceid-tools``: one entry point, one module per subcommand (each a thin layer over the package).

Each module ``faceid_tools.cli.<name>`` defines ``register(subparsers)`` which adds its parser and
sets ``func`` to a callable taking the parsed arguments and returning an exit code.  A command
raises what goes wrong; :mod:`faceid_tools.cli.exit_codes` turns it into one line and an exit code
(2 bad input, 1 a failure during the work, 130 Ctrl-C; the traceback only with ``-vv``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
from collections.abc import Sequence

from .._version import __version__
from .exit_codes import OneLineParser, explain

SUBCOMMANDS: tuple[str, ...] = (
    "init",
    "emulator",
    "probe",
    "simulate",
    "calls",
    "export",
    "report",
    "demo",
)


def available_subcommands() -> list[str]:
    return [n for n in SUBCOMMANDS if importlib.util.find_spec(f"faceid_tools.cli.{n}") is not None]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="faceid-tools",
        description="Measure Tencent Cloud FaceID GenerateReflectSequence: emulator, probes, analysis, reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )
    for name in available_subcommands():
        importlib.import_module(f"faceid_tools.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # a usage error prints one line and exits 2 here (OneLineParser), as argparse does
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (Exception, KeyboardInterrupt) as exc:
        return explain(args.command, exc, args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
