"""``faceid-tools demo`` (``make demo``): a fresh emulator, a one-minute campaign, reports.

Starts the emulator in-process (real time, default profile), probes all 3 regions × 4 security
levels at the quota with a progress bar into the default call log ``data/calls.sqlite`` (the
file ``faceid-tools calls`` and ``faceid-tools report`` read without flags), prints the summary and
where the log is, then renders the analysis reports from that log into ``reports/``.  Each demo
starts a fresh log; a previous one is kept beside it as ``calls.<time>.sqlite``, never deleted.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..calllog.conventions import DEFAULT_LOG_PATH
from ..campaign import CampaignResult, run_campaign
from ._options import positive_int

DEMO_LOG = DEFAULT_LOG_PATH
#: 12 cells × 24 calls = 288 calls: about a minute at the quota.
DEMO_PER_CELL = 24
REPORTS_DIR = Path("reports")


def fresh_log(path: Path) -> Path | None:
    """Move a previous log at ``path`` (with its WAL files) aside so the demo starts from nothing;
    return where it was kept (None: there was none).  Nothing is deleted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return None
    kept = path.with_name(f"{path.stem}.{datetime.now(UTC):%Y%m%dT%H%M%SZ}{path.suffix}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            old.rename(f"{kept}{suffix}")
    return kept


def run_demo_campaign(log: Path, *, per_cell: int, progress: bool) -> CampaignResult:
    """Start a fresh emulator and run the demo campaign against it."""
    from ..emulator.server import Emulator

    with Emulator(time_scale=1.0) as emu:
        print(f"emulator at {emu.endpoint}; campaign of {12 * per_cell} calls", file=sys.stderr)
        return run_campaign(emu, per_cell=per_cell, log=log, progress=progress)


def report_step(log: Path, out_dir: Path = REPORTS_DIR) -> list[Path]:
    """The report step: render the analysis notebooks on the demo log; return the HTML paths."""
    from ..report.notebooks import render_reports

    return render_reports(log, out_dir)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a fresh emulator, a one-minute campaign into the default log, then the reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--per-cell",
        type=positive_int,
        default=DEMO_PER_CELL,
        help=f"calls per region × level, >= 1 (default {DEMO_PER_CELL}: about a minute)",
    )
    parser.add_argument("--log", type=Path, default=DEMO_LOG, help=f"log file (default {DEMO_LOG})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="skip rendering the reports")
    parser.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """``faceid-tools demo`` with ``argv`` (what ``make demo`` runs), through the one entry point."""
    from . import main as cli_main

    return cli_main(["demo", *(sys.argv[1:] if argv is None else argv)])


def run(args: argparse.Namespace) -> int:
    log = args.log
    kept = fresh_log(log)
    if kept is not None:
        print(f"previous log kept as {kept}", file=sys.stderr)
    result = run_demo_campaign(log, per_cell=args.per_cell, progress=not args.quiet)
    print(result.summary.format())
    print(f"call log: {log.resolve()} (faceid-tools calls and report read it without flags)")
    if result.interrupted:
        return 130
    if args.no_report:
        return 0
    print("rendering the reports ...", file=sys.stderr)
    for path in report_step(log):
        print(f"report: {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
