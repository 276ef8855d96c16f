"""``faceid-tools export``: the SQLite call log to a day-partitioned Parquet dataset, incrementally."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the call log to a Parquet dataset partitioned by day (incremental)",
        description=(
            "Write the rows of the SQLite call log that are not yet exported to a Parquet dataset "
            "partitioned by UTC day (hive layout: OUT/day=YYYY-MM-DD/part-<first id>-<last id>"
            ".parquet), with the column types load_calls gives. Re-running adds only new rows; "
            "an interrupted or failed export leaves the dataset as it was. load_calls(OUT), the "
            "analysis functions and the notebooks read the folder directly (large ones through "
            "DuckDB)."
        ),
    )
    parser.add_argument(
        "--log",
        default="data/calls.sqlite",
        metavar="PATH",
        help="call log (SQLite) to read (default data/calls.sqlite)",
    )
    parser.add_argument(
        "--out",
        default="data/calls.parquet",
        metavar="DIR",
        help="dataset folder to write (default data/calls.parquet)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes for large exports (default: CPU count, at most 4; 1 = this process only)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..calllog.export import ExportError, export

    try:
        result = export(args.log, args.out, workers=args.workers)
    except (ExportError, ValueError) as exc:
        print(f"faceid-tools export: {exc}", file=sys.stderr)
        return 1
    if result.rows == 0:
        print(f"{args.out}: up to date ({result.total_rows:,} rows, last id {result.watermark})")
    else:
        print(
            f"{args.out}: added {result.rows:,} rows in {len(result.files)} file(s) in "
            f"{result.seconds:.1f} s ({result.total_rows:,} rows, last id {result.watermark})"
        )
    return 0
