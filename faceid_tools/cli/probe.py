"""``faceid-tools probe``: run (or resume) a probe campaign; a thin layer over ``run_campaign``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from ..calllog.conventions import DEFAULT_LOG_PATH
from ..campaign.decided import UNTIL_DECIDED_CAP
from ..client.regions import REGIONS, SECURITY_LEVELS
from ._options import (
    add_profile_option,
    add_slo_options,
    budget,
    non_negative_int,
    positive_float,
    positive_int,
    slo_values,
)
from .exit_codes import BadInput

DEFAULT_LOG = str(DEFAULT_LOG_PATH)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="run a probe campaign over regions × security levels at the quota",
        description=(
            "Call GenerateReflectSequence per-cell times for every region × security level, in a "
            "randomised blocked order, at the requested rate (held under the 5 requests/s quota), "
            "download and inspect every light sequence, and log every exchange. Ctrl-C stops "
            "cleanly (twice: abandon the calls in flight); --resume finishes a stopped or killed "
            "campaign. Prints a summary at the end."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint",
        metavar="URL",
        default=None,
        help="API endpoint: a URL, or 'regional' (default: https://faceid.intl.tencentcloudapi.com;"
        " credentials from the usual chain)",
    )
    where.add_argument(
        "--emulator",
        action="store_true",
        help="start an in-process emulator (real time) and probe it with its demo credential",
    )
    add_profile_option(parser, "behaviour profile for --emulator")
    parser.add_argument(
        "--regions",
        nargs="+",
        metavar="REGION",
        default=list(REGIONS),
        choices=list(REGIONS),
        help=f"regions to probe (default: {' '.join(REGIONS)})",
    )
    parser.add_argument(
        "--levels",
        nargs="+",
        metavar="LEVEL",
        default=list(SECURITY_LEVELS),
        choices=list(SECURITY_LEVELS),
        help="security levels to probe, 1..4 (default: all)",
    )
    parser.add_argument(
        "--per-cell",
        type=positive_int,
        default=None,
        metavar="N",
        help="calls per region × level cell (default: 10)",
    )
    parser.add_argument(
        "--rate",
        type=positive_float,
        default=5.0,
        metavar="R",
        help="calls started per second (default: 5.0, the quota; a small margin is kept under it)",
    )
    parser.add_argument(
        "--quota",
        type=positive_float,
        default=5.0,
        metavar="Q",
        help="requests/s the service allows for GenerateReflectSequence (default: 5; change only"
        " for an emulator run with another quota)",
    )
    parser.add_argument(
        "--margin-ms",
        type=float,
        default=None,
        metavar="MS",
        help="how much longer than one second any quota+1 consecutive starts span (default 17,"
        " sized for loopback; raise it for a distant service at the cost of throughput)",
    )
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="extra attempts per call on retryable failures, each paced like a call (default: 0)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="seconds before one request times out (default: 10)",
    )
    parser.add_argument(
        "--log",
        metavar="PATH",
        default=DEFAULT_LOG,
        help=f"SQLite call log; the campaign's plan is stored in it too (default: {DEFAULT_LOG})",
    )
    parser.add_argument(
        "--device-data",
        nargs=3,
        action="append",
        metavar=("REGION", "URL", "MD5"),
        default=None,
        help="use this device data for REGION instead of uploading a package (repeat per region;"
        " the object must be in a bucket of that region)",
    )
    parser.add_argument(
        "--resume",
        metavar="CAMPAIGN_ID",
        default=None,
        help="finish this campaign: run exactly the calls the log shows incomplete (the plan is"
        " read from the log; --regions/--levels/--per-cell/--seed are ignored)",
    )
    parser.add_argument(
        "--campaign-id",
        metavar="ID",
        default=None,
        help="id for a new campaign (default: c<UTC time>-<random>)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the randomised order (default: random; stored with the campaign)",
    )
    parser.add_argument(
        "--until-decided",
        action="store_true",
        help="adaptive: spend calls only on cells with an objective still open (cheapest to decide"
        " first) and stop when every objective of every cell is decided; --per-cell is then the"
        " most calls a cell may get (default 20000)",
    )
    parser.add_argument(
        "--budget",
        type=budget,
        default=None,
        metavar="CALLS|DURATION",
        help="with --until-decided: stop after this many calls (5000) or this long (30m, 1h)",
    )
    add_slo_options(parser, "with --until-decided: ")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=main)


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Any]:
    if not args.emulator:
        if args.profile:
            raise BadInput("--profile", "needs --emulator (a profile drives the emulator only)")
        yield args.endpoint
        return
    from ..emulator.server import Emulator

    with Emulator(profile=args.profile, time_scale=1.0) as emu:
        print(f"emulator at {emu.endpoint}", file=sys.stderr)
        yield emu


def main(args: argparse.Namespace) -> int:
    from ..campaign import run_campaign

    device_data = None
    if args.device_data:
        device_data = {region: (url, md5) for region, url, md5 in args.device_data}
    if args.budget is not None and not args.until_decided:
        raise BadInput("--budget", "needs --until-decided (a fixed campaign's size is --per-cell)")
    judge = None
    if args.until_decided:
        from ..campaign.adaptive import Judge

        values = slo_values(args)
        judge = Judge(
            p95_ms=values.get("SLO_P95_MS", 800.0),
            error_rate=values.get("SLO_ERROR_RATE", 0.01),
            integrity_rate=values.get("SLO_INTEGRITY_RATE", 0.995),
        )
    per_cell = args.per_cell or (UNTIL_DECIDED_CAP if args.until_decided else 10)
    kind, amount = args.budget or (None, None)
    with _target(args) as target:
        result = run_campaign(
            target,
            regions=tuple(args.regions),
            levels=tuple(args.levels),
            per_cell=per_cell,
            rate=args.rate,
            log=args.log,
            device_data=device_data,
            campaign_id=args.resume or args.campaign_id,
            resume=args.resume is not None,
            progress=not args.quiet,
            retries=args.retries,
            seed=args.seed,
            timeout=args.timeout,
            quota=args.quota,
            margin=None if args.margin_ms is None else args.margin_ms / 1000.0,
            until_decided=args.until_decided,
            budget_calls=int(amount) if kind == "calls" and amount else None,
            budget_s=amount if kind == "seconds" else None,
            objectives=judge,
        )
    print(result.summary.format())
    if result.summary.verdicts:
        print(result.summary.verdicts)
    print(f"log: {result.log_path}")
    if result.summary.remaining:
        print(f"resume: faceid-tools probe --resume {result.campaign_id} --log {args.log}")
    if result.summary.abandoned or result.summary.interrupted:
        return 130
    return 0
