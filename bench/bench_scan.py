"""How fast DuckDB scans the export's files: the bare summary over three layouts of the same rows.

``python -m bench scan`` (``FACEID_BENCH_SIZES`` as for ``report``; default 10M):

* ``export (one dictionary per row group)``: the files ``faceid-tools export`` writes now;
* ``DuckDB COPY rewrite``: the same rows written by DuckDB's ``COPY … TO (FORMAT parquet,
  PARTITION_BY (day))`` — the target is the export within 1.1× of it;
* ``export before issue 24 (per-chunk dictionaries)``: the same rows re-encoded as the export
  wrote them before (a dictionary per 10,000-row chunk, so Parquet fell back to PLAIN pages).

Side by side, alternating fresh processes, median of 3, timed in-process after imports.  Also the
time of the rewrite itself, to set against the export's own time at that size (``bench_analysis``).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import bench_analysis as ba
from bench._harness import Row

#: The same bare summary over any folder of day partitions (a COPY rewrite has no export state).
_BARE_GLOB = (
    """
files = sorted(str(p) for p in Path({folder!r}).glob("day=*/*.parquet"))
files = ", ".join("'" + f + "'" for f in files)"""
    + ba.BARE_QUERY
)


def _bare(folder: Path) -> dict[str, Any]:
    return ba._child(
        _BARE_GLOB.format(folder=str(folder)), "import duckdb\nfrom pathlib import Path"
    )


def _copy_rewrite(source: Path, dest: Path) -> float:
    import duckdb

    from faceid_tools.calllog.parquet import dataset_files

    shutil.rmtree(dest, ignore_errors=True)
    files = ", ".join(f"'{f}'" for f in dataset_files(source))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_parquet([{files}], hive_partitioning = true)) TO '{dest}' "
        "(FORMAT parquet, PARTITION_BY (day))"
    )
    return time.perf_counter() - t0


def _per_chunk_copy(source: Path, dest: Path) -> None:
    from faceid_tools.calllog.parquet import dataset_files

    shutil.rmtree(dest, ignore_errors=True)
    for f in dataset_files(source):
        out = dest / f.parent.name / f.name
        out.parent.mkdir(parents=True, exist_ok=True)
        ba._shifted_copy(str(f), str(out), 0, per_chunk=True)


def run(quick: bool) -> list[Row]:
    labels = os.environ.get("FACEID_BENCH_SIZES", "1M" if quick else "10M").split(",")
    reps = int(os.environ.get("FACEID_BENCH_REPS", "1" if quick else "3"))
    rows: list[Row] = []
    for label in labels:
        ds = ba.dataset(label)
        work = ds.parquet.parent
        rewrite, before = work / "scan-copy-rewrite", work / "scan-per-chunk"
        copy_seconds = _copy_rewrite(ds.parquet, rewrite)
        if not (before / "done").is_file():
            _per_chunk_copy(ds.parquet, before)
            (before / "done").write_text("")
        layouts = {
            "export (one dictionary per row group)": ds.parquet,
            "DuckDB COPY rewrite": rewrite,
            "export before issue 24 (per-chunk dictionaries)": before,
        }
        runs: dict[str, list[float]] = {k: [] for k in layouts}
        for _ in range(reps):
            for name, folder in layouts.items():
                runs[name].append(_bare(folder)["wall"])
        size = {k: sum(p.stat().st_size for p in v.rglob("*.parquet")) for k, v in layouts.items()}
        base = "DuckDB COPY rewrite"
        for name, samples in runs.items():
            rows.append(
                Row(
                    f"scan {label}",
                    f"bare summary over: {name}",
                    "s",
                    samples,
                    baseline=None if name == base else f"bare summary over: {base}",
                    note=f"{size[name] / 2**20:,.0f} MiB of Parquet",
                )
            )
        built = ds.built.get("export", {})
        rows.append(
            Row(
                f"scan {label}",
                "DuckDB COPY rewrite itself",
                "s",
                [copy_seconds],
                note=f"the export of the same log took {built.get('wall', float('nan')):.1f} s "
                "when the dataset was built (SQLite → Parquet, 2 workers)",
            )
        )
        from bench._harness import table

        print(table([r for r in rows if r.group == f"scan {label}"]), file=sys.stderr)
    return rows
