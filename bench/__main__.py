"""Run every benchmark module and print one table of medians, ranges and ratios."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from bench._harness import CACHE, Row, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller sizes")
    parser.add_argument(
        "only", nargs="*", help="module names to run (e.g. client emulator); default all"
    )
    args = parser.parse_args(argv)
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    rows: list[Row] = []
    for name in names:
        t0 = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += importlib.import_module(f"bench.{name}").run(quick=args.quick)
        print(f"  {name} took {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    CACHE.mkdir(exist_ok=True)
    (CACHE / "results.json").write_text(
        json.dumps([{**r.__dict__, "median": r.median} for r in rows], indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
