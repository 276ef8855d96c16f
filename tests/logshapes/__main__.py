"""``python -m tests.logshapes --out /tmp/logshapes.md``: run the matrix, write it as a table.

Runs ``tests/logshapes`` (``--all`` adds the slow cells: the Parquet renders and most reviews with
a baseline) with fresh records,
then writes shape × page/command (ok, or the one line) as Markdown.  The exit status is pytest's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.logshapes", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="write the Markdown table here")
    parser.add_argument("--all", action="store_true", help="slow cells too (Parquet renders)")
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (0: none)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    from tests.logshapes import matrix
    from tests.logshapes.shapes import PARQUET, SHAPES

    records = Path(tempfile.mkdtemp(prefix="logshapes-records-"))
    os.environ[matrix.RECORDS_ENV] = str(records)
    import pytest

    t0 = time.monotonic()
    workers = ["-n", str(args.workers), "--dist", "loadgroup"] if args.workers else ["-n", "0"]
    marks = [] if args.all else ["-m", "not slow"]
    code = pytest.main([str(HERE), "-p", "no:cacheprovider", "-q", *workers, *marks,
                        *args.pytest_args])  # fmt: skip
    elapsed = time.monotonic() - t0
    order = tuple(x for s in SHAPES for x in (s, s + PARQUET))
    table = matrix.render(records, order)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        f"# Log shapes × pages and commands\n\n{table}\n"
        f"pytest exit status {int(code)}, {elapsed:.0f} s"
        f"{'' if args.all else ' (slow cells skipped: shown as —)'}.\n",
        encoding="utf-8",
    )
    shutil.rmtree(records, ignore_errors=True)
    print(f"wrote {args.out}", file=sys.stderr)
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
