"""``faceid-tools calls``: print a summary of a call log."""

from __future__ import annotations

import argparse
import json

from ..calllog.conventions import DEFAULT_LOG_PATH as DEFAULT_PATH
from ..calllog.overview import format_summary, summarize


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "calls",
        help="print a summary of a call log",
        description=(
            "Summarise an SQLite call log: rows, logical calls, campaigns, the time span, and rows "
            "by action, region, security level, outcome and error code."
        ),
    )
    parser.add_argument(
        "--log",
        default=str(DEFAULT_PATH),
        metavar="PATH",
        help=f"the SQLite call log to read (default: {DEFAULT_PATH})",
    )
    parser.add_argument(
        "--campaign", default=None, metavar="ID", help="only the rows of this campaign_id"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of text"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = summarize(args.log, campaign_id=args.campaign)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(format_summary(summary))
    return 0
