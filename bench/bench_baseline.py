"""compare_to_baseline at scale: 1M and 10M rows per side, pandas from SQLite vs DuckDB over Parquet.

Side by side, each measurement in a fresh Python process (imports excluded from the wall time):

* ``pandas from SQLite`` (1M only): ``load_calls`` of each side, then ``compare_to_baseline`` —
  the baseline;
* ``DuckDB over Parquet``: ``compare_to_baseline(source(dataset), source(dataset))`` — every
  aggregate pushed down, only aggregates reach pandas.  Both sides are the same simulated dataset
  opened twice (the work is that of two datasets of that size; the same-data warning is silenced);
* ``DuckDB, two windows``: the dataset's second half against its first half,
  ``window(dataset, start=mid)`` vs ``window(dataset, end=mid)`` — one growing log compared with
  itself (half the rows per side, plus the windows' filters).

The datasets are :mod:`bench.bench_analysis`'s (``.bench-cache/analysis-{1M,10M}-...``, built on
first use).
"""

from __future__ import annotations

from typing import Any

from bench._harness import Row
from bench.bench_analysis import SIZES, Dataset, _child, dataset

_IMPORTS = """
import warnings
from faceid_tools import analysis
from faceid_tools.calllog.load import load_calls
warnings.simplefilter("ignore")
"""


def _pandas(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        now, then = load_calls({str(ds.log)!r}), load_calls({str(ds.log)!r})
        table = analysis.compare_to_baseline(now, then)
        result = {{"rows": len(table)}}
        print()  # DuckDB's progress bar may leave a line open on stdout
        """,
        _IMPORTS,
    )


def _duckdb(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        path = {str(ds.parquet)!r}
        table = analysis.compare_to_baseline(analysis.source(path), analysis.source(path))
        result = {{"rows": len(table)}}
        print()  # DuckDB's progress bar may leave a line open on stdout
        """,
        _IMPORTS,
    )


def _windows(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        import pandas as pd
        path = {str(ds.parquet)!r}
        days = analysis.error_rates(path, "day", per="attempt")
        first, last = days["day"].min(), days["day"].max() + pd.Timedelta(days=1)
        mid = first + (last - first) / 2
        table = analysis.compare_to_baseline(
            analysis.window(path, start=mid), analysis.window(path, end=mid)
        )
        calls = table[table["metric"] == "error_rate"]
        result = {{"rows": len(table), "calls_now": int(calls["n_current"].sum()),
                   "calls_then": int(calls["n_baseline"].sum())}}
        print()  # DuckDB's progress bar may leave a line open on stdout
        """,
        _IMPORTS,
    )


def _row(group: str, name: str, runs: list[dict[str, Any]], baseline: str | None) -> Row:
    cpu = sorted(r["cpu"] for r in runs)[len(runs) // 2]
    peak = max(r["peak_mib"] for r in runs)
    return Row(
        group,
        name,
        "s",
        [r["wall"] for r in runs],
        baseline=baseline,
        note=f"CPU {cpu:.1f} s, peak {peak:,.0f} MiB",
        extra={"cpu_s": cpu, "peak_mib": peak},
    )


def run(quick: bool) -> list[Row]:
    times = 1 if quick else 3
    rows: list[Row] = []
    for label in ("1M",) if quick else tuple(SIZES):
        ds = dataset(label)
        group = f"compare_to_baseline, {label} rows/side"
        duck = "DuckDB over Parquet"
        if label == "1M":
            rows.append(
                _row(group, "pandas from SQLite", [_pandas(ds) for _ in range(times)], None)
            )
            base: str | None = "pandas from SQLite"
        else:
            base = None
        rows.append(_row(group, duck, [_duckdb(ds) for _ in range(times)], base))
        rows.append(
            _row(
                group,
                "DuckDB, two windows (½ per side)",
                [_windows(ds) for _ in range(times)],
                duck,
            )
        )
    return rows
