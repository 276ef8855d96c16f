"""``faceid-tools export``: the SQLite call log to a day-partitioned Parquet dataset, incrementally."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..calllog.conventions import DEFAULT_LOG_PATH
from ._options import positive_int
from .exit_codes import WorkFailed

if TYPE_CHECKING:
    from ..calllog.export import ExportResult


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
        default=str(DEFAULT_LOG_PATH),
        metavar="PATH",
        help=f"call log (SQLite) to read (default {DEFAULT_LOG_PATH})",
    )
    parser.add_argument(
        "--out",
        default="data/calls.parquet",
        metavar="DIR",
        help="dataset folder to write (default data/calls.parquet)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes for large exports (default: CPU count, at most 4; 1 = this process only)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="then read every page of the dataset back, checking page CRCs, footer digests and "
        "row counts (DuckDB does not check page CRCs); exit 1 naming a damaged file",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..calllog.export import export
    from ..calllog.parquet import ParquetDatasetError, verify_dataset

    result = export(args.log, args.out, workers=args.workers)
    _report(args.out, result)
    if args.verify:
        try:
            check = verify_dataset(args.out)
        except ParquetDatasetError as exc:  # damage found by the check: the work failed
            raise WorkFailed(exc.message) from exc
        print(
            f"{args.out}: verified {check.rows:,} rows in {check.files} file(s), "
            f"{check.bytes / 2**20:,.1f} MiB: every page CRC and footer digest matches"
        )
    return 0


def _report(out: str, result: ExportResult) -> None:
    if result.rows == 0:
        print(f"{out}: up to date ({result.total_rows:,} rows, last id {result.watermark})")
    else:
        print(
            f"{out}: added {result.rows:,} rows in {len(result.files)} file(s) in "
            f"{result.seconds:.1f} s ({result.total_rows:,} rows, last id {result.watermark})"
        )
