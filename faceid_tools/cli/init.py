"""``faceid-tools init``: create an analysis folder with editable notebooks, a data folder, a README."""

from __future__ import annotations

import argparse
import sys

from ..workspace import init_folder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create an analysis folder: editable notebooks, data/, README",
        description=(
            "Create (or bring up to date) an analysis folder you own: notebooks/ with copies of "
            "the four analysis notebooks to edit, data/ with the sample call log and a README "
            "on where logs go, and a README.md with the next commands. An edited notebook is "
            "never overwritten without --force; prints what it wrote."
        ),
    )
    parser.add_argument(
        "folder",
        nargs="?",
        default=".",
        metavar="DIR",
        help="the analysis folder, created if missing (default: the current folder)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite edited notebooks with the packaged ones",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = init_folder(args.folder, force=args.force)
    except OSError as exc:
        print(f"faceid-tools init: {args.folder}: {exc}", file=sys.stderr)
        return 1
    for item in result.files:
        if item.action != "refused":
            print(f"{item.action:9} {result.folder / item.path}")
    for path in result.refused:
        print(
            f"faceid-tools init: {result.folder / path} was edited; kept it (--force overwrites it)",
            file=sys.stderr,
        )
    if result.refused:
        return 1
    where = "" if args.folder == "." else f"cd {args.folder} && "
    print(f"next: {where}faceid-tools report   (see README.md)", file=sys.stderr)
    return 0
