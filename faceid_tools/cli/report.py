"""``faceid-tools report``: execute the analysis notebooks on a call log and render HTML reports."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..client.vocabulary import DEFAULT_LOG_PATH
from ..errors import MissingInputError
from ..report.defaults import DEFAULT_CELL_TIMEOUT, choose_data, choose_notebooks, default_jobs
from ._options import add_slo_options, positive_float, positive_int, slo_values
from .exit_codes import BadInput


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="execute the notebooks on a call log and render HTML reports",
        description=(
            "Execute every notebook (01-latency, 02-errors, 03-sequences, 04-product-review) on a "
            "call log, injecting the data source papermill-style after each notebook's "
            "'parameters' cell, and write one self-contained HTML file per notebook (figures "
            "embedded; the product review without code). Prints the paths written."
        ),
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help=(
            "call log: a SQLite file or a Parquet dataset folder (default: "
            f"{DEFAULT_LOG_PATH} when it exists, else the sample packaged with faceid-tools)"
        ),
    )
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        default=None,
        help=(
            "an earlier call log or Parquet dataset to compare with: the product review adds a "
            "'Since the baseline' section (regressions and improvements, with intervals)"
        ),
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="reports",
        help="folder for the HTML files (default: reports)",
    )
    parser.add_argument(
        "--notebooks",
        metavar="DIR",
        default=None,
        help=(
            "folder of notebooks to execute (default: ./notebooks when it holds notebooks, "
            "e.g. made by faceid-tools init, else the notebooks packaged with faceid-tools)"
        ),
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        default=None,
        help="render only this notebook (file name or stem, e.g. 04-product-review); repeatable",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="SECONDS",
        help=f"longest time one cell may run (default: {DEFAULT_CELL_TIMEOUT:g})",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"notebooks executed at once, each in its own kernel (default: {default_jobs()})",
    )
    parser.add_argument(
        "--kernel",
        metavar="NAME",
        default=None,
        help=(
            "installed Jupyter kernel to run the notebooks on (see `jupyter kernelspec list`; "
            "default: the Python running faceid-tools)"
        ),
    )
    add_slo_options(parser, "product review: ")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report.notebooks import (  # Jupyter loads only when reports are made
        check_kernel,
        render_reports,
    )

    if args.kernel is not None:
        try:
            check_kernel(args.kernel)
        except ValueError as exc:
            print(f"faceid-tools report: {exc}", file=sys.stderr)
            return 2
    parameters = slo_values(args)
    started = time.perf_counter()
    if args.kernel is not None:
        check_kernel(args.kernel)  # errors: one line and exit code in cli/errors.py
    notebooks = choose_notebooks(args.notebooks)
    data = choose_data(args.data)
    if not data.path.exists():  # before any other line, so bad input stays one line
        raise MissingInputError(f"call log not found: {data.path}")
    if args.baseline is not None and not Path(args.baseline).exists():
        raise BadInput("--baseline", f"no call log or dataset at {args.baseline}")
    compare = args.baseline is not None
    _check_data("--data", data.path, compare=compare)
    if compare:
        _check_data("--baseline", Path(args.baseline), compare=compare)
    print(f"notebooks: {notebooks.origin}", file=sys.stderr)
    print(f"data: {data.origin}", file=sys.stderr)
    paths = render_reports(
        data.path,
        args.out,
        notebooks_dir=notebooks.path,
        notebooks=args.only,
        parameters=parameters,
        timeout=args.timeout,
        jobs=args.jobs,
        kernel=args.kernel,
        baseline=args.baseline,
    )
    for path in paths:
        print(path)
    print(f"{len(paths)} report(s) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _check_data(flag: str, path: Path, *, compare: bool) -> None:
    """What no page can be made from, said in one line before any kernel starts: a Parquet
    folder without data files; with a baseline, a side without a GenerateReflectSequence call."""
    if path.is_dir():
        from ..analysis import source, summary_table

        try:
            src = source(path)
        except FileNotFoundError as exc:
            raise BadInput(flag, str(exc)) from exc
        calls = int(summary_table(src, by=(), per="call")["n"].sum()) if compare else 1
    elif compare:
        calls = _sqlite_calls(path)
    else:
        return
    if not calls:
        raise BadInput(flag, f"{path.name} holds no GenerateReflectSequence call to compare")


def _sqlite_calls(path: Path) -> int:
    """1 if the SQLite log holds a GenerateReflectSequence row, else 0 (unreadable: 1, and the
    report's own reading says what is wrong)."""
    import sqlite3

    from ..calllog.conventions import GENERATE

    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT 1 FROM calls WHERE action = ? LIMIT 1", (GENERATE,))
            return 1 if row.fetchone() else 0
        finally:
            conn.close()
    except sqlite3.Error:
        return 1
