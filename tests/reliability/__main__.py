"""``python -m tests.reliability --out docs/reliability.md``: the full suite, then its table.

Runs every test of ``tests/reliability`` (slow ones included) at full counts
(``FACEID_RELIABILITY_FULL=1``: 20 SIGKILLs, a 60 s flood...) with a fresh seed, collects the
figures each test recorded, and writes them as Markdown.  The exit status is pytest's.
``--fast`` keeps the CI counts (a quick look at the table); arguments after ``--`` go to pytest.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _git(*args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
    )
    return out.stdout.strip()


def _commit() -> str:
    """HEAD, and whether the working tree differed from it (tracked files) during the run."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with uncommitted changes in the working tree)" if dirty else head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--fast", action="store_true", help="CI counts instead of the full ones")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: a fresh one)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="pytest-xdist workers (default 2; 0 runs in this process)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    # Before pytest imports the tests: settings.py reads these at import.
    from tests.reliability import settings

    os.environ[settings.FULL_ENV] = "0" if args.fast else "1"
    os.environ[settings.SEED_ENV] = str(seed)
    importlib.reload(settings)

    import pytest

    from tests.reliability.report import Collector, render

    collector = Collector()
    started = datetime.now(UTC)
    t0 = time.monotonic()
    workers = ["-n", str(args.workers), "--dist", "load"] if args.workers > 0 else []
    code = pytest.main(
        [str(HERE), "-p", "no:cacheprovider", "-q", "-rfEx", *workers, *args.pytest_args],
        plugins=[collector],
    )
    elapsed = time.monotonic() - t0
    if args.out is not None:
        meta = {
            "Command": "`make reliability` = `.venv/bin/python -m tests.reliability "
            f"--out {args.out.as_posix()}{' --fast' if args.fast else ''}`",
            "Date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "Counts": "fast (CI subset)" if args.fast else "full",
            "Seed": str(seed),
            "Commit": _commit(),
            "Machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}",
            "Duration": f"{elapsed:.0f} s for {len(collector.results)} tests on "
            f"{args.workers or 1} worker(s) (pytest exit status {int(code)})",
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(collector.results, meta), encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
