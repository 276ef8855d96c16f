"""``faceid-tools simulate``: write N simulated calls drawn from a behaviour profile (no HTTP)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ._options import add_profile_option, non_negative_int, positive_float


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="append N simulated GenerateReflectSequence calls to a call log (no HTTP)",
        description=(
            "Draw N GenerateReflectSequence calls straight from an emulator behaviour profile on a "
            "virtual clock and append them to a call log, marked simulated=1: calls start 1/RATE "
            "seconds apart from START, visit the 3 regions x 4 levels in a randomised blocked "
            "order, take their latency and error from the profile, and each successful call is "
            "followed by a DownloadSequence row with its light-sequence properties (the profile's "
            "duplicates and corrupted sequences included). The same seed writes the same rows. "
            "For statistical checks of the analysis against the profile, and for scale tests."
        ),
    )
    parser.add_argument(
        "-n",
        "--calls",
        type=non_negative_int,
        required=True,
        metavar="N",
        help="number of calls to draw",
    )
    parser.add_argument(
        "--log",
        required=True,
        metavar="PATH",
        help="call log (SQLite) to append to; created if missing",
    )
    add_profile_option(parser)
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the profile's seed)"
    )
    parser.add_argument(
        "--start",
        default=None,
        metavar="ISO",
        help="instant of the first call, ISO-8601, e.g. 2026-01-01T00:00:00Z (no zone = UTC) "
        "(default 2026-01-01T00:00:00Z)",
    )
    parser.add_argument(
        "--rate",
        type=positive_float,
        default=5.0,
        metavar="R",
        help="calls started per second of virtual time (default 5, the action's quota)",
    )
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="extra attempts for a retryable error (InternalError, ServiceUnavailable); default 0",
    )
    parser.add_argument(
        "--campaign-id",
        default=None,
        metavar="ID",
        help="campaign_id of the rows (default sim-<seed>-<start in Unix seconds>)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..simulate import simulate

    t0 = time.perf_counter()
    rows = simulate(
        args.calls,
        args.log,
        profile=args.profile,
        seed=args.seed,
        start=args.start,
        rate=args.rate,
        retries=args.retries,
        campaign_id=args.campaign_id,
    )
    seconds = time.perf_counter() - t0
    print(
        f"wrote {rows:,} rows ({args.calls:,} calls, simulated=1) to {args.log} in {seconds:.1f} s"
    )
    return 0
