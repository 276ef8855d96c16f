"""Data at scale: simulate, export, and the region × level × day summary at 1M, 10M and 100M rows.

Side by side, each measurement in a fresh Python process (so imports, caches and the allocator
start cold and the peak memory is that of the whole process):

* ``DuckDB bare summary``: DuckDB's own count, error share and ``quantile_disc`` of the same
  grouping on the same files, no intervals, fetched without pandas — the baseline of the ratios;
* ``daily_summary, DuckDB``: ``daily_summary(dataset_folder)`` — the shipped DuckDB engine;
* ``daily_summary, Ibis on DuckDB (prototype)``: the same through ``bench/ibis_engine.py``
  (when ibis is installed; it lost, see docs/scaling.md);
* ``daily_summary, Spark local[2]``: ``daily_summary(spark.read.parquet(folder))`` at 10M rows;
* ``pandas from SQLite``: ``load_calls(log.sqlite)`` then ``daily_summary(frame)``;
* ``simulate`` (1M rows) and ``export`` (1M and 10M rows, peak memory of the process tree).

Wall time is the call's (imports excluded; they are the same for both paths and reported in the
note), peak memory is the process's ``ru_maxrss`` (for export: the sampled peak of the sum over
the process and its workers).  Datasets are built once and cached in ``.bench-cache/`` keyed by
size and seed; building the 10M one takes a few minutes the first time.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._harness import CACHE, Row

SEED = 20261124
#: Bump when simulate's or export's output changes, so stale caches are rebuilt.
CACHE_VERSION = 2  # v2: the export writes one dictionary per row group
SIZES = {"1M": 1_000_000, "10M": 10_000_000}
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Dataset:
    label: str
    rows: int
    log: Path
    parquet: Path
    built: dict[str, Any]


def calls_for_rows(rows: int) -> int:
    """Calls to simulate so that the log has about ``rows`` rows (attempts + downloads)."""
    from faceid_tools.client.regions import REGIONS
    from faceid_tools.emulator.profile import Profile

    profile = Profile.default()
    ok = 1 - sum(profile.error_rate(r) for r in REGIONS) / len(REGIONS)
    return round(rows / (1 + ok))


def dataset(label: str) -> Dataset:
    """The cached simulated log and its export for ``label`` (built on first use)."""
    target = SIZES[label]
    folder = CACHE / f"analysis-{label}-seed{SEED}-v{CACHE_VERSION}"
    done = folder / "built.json"
    log, parquet = folder / "calls.sqlite", folder / "calls.parquet"
    if not done.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for stale in (log, Path(f"{log}-wal"), Path(f"{log}-shm")):
            stale.unlink(missing_ok=True)
        if parquet.exists():
            import shutil

            shutil.rmtree(parquet)
        print(f"  building the {label}-row dataset in {folder} ...", file=sys.stderr, flush=True)
        sim = _child(
            f"""
            from faceid_tools.simulate import simulate
            rows = simulate({calls_for_rows(target)}, {str(log)!r}, seed={SEED})
            result = {{"rows": rows}}
            """
        )
        exp = _child(_EXPORT.format(log=str(log), out=str(parquet)))
        built = {"rows": sim["rows"], "simulate": sim, "export": exp}
        done.write_text(json.dumps(built, indent=1))
    built = json.loads(done.read_text())
    return Dataset(label, int(built["rows"]), log, parquet, built)


#: Bump when the 100M dataset's layout changes (v3: the copies are shifted by days).
CACHE_VERSION_100M = 4  # v4: one dictionary per row group, as the export now writes


def dataset_100m() -> Dataset:
    """100M rows, cheaply: the 10M dataset ten times, copy k with every ``started_at`` moved k
    times the 10M dataset's span of days later, in its own ``day=`` folders.  So there are ten
    times the days and groups, each of the 10M dataset's size (as a longer log of the same
    traffic would be).  Copy 0 is hard-linked; copies 1–9 are rewritten row group by row group
    as the export writes them (about 20 s of CPU per copy, once; cached)."""
    import shutil
    from concurrent.futures import ProcessPoolExecutor
    from datetime import date

    from faceid_tools.calllog.parquet import dataset_files

    base = dataset("10M")
    folder = CACHE / f"analysis-100M-seed{SEED}-v{CACHE_VERSION_100M}"
    done, out = folder / "built.json", folder / "calls.parquet"
    if not done.is_file():
        shutil.rmtree(out, ignore_errors=True)
        print(f"  building the 100M-row dataset in {folder} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        files = dataset_files(base.parquet)
        days = [date.fromisoformat(f.parent.name.removeprefix("day=")) for f in files]
        span = (max(days) - min(days)).days + 1
        jobs = []
        for k in range(10):
            for f, day in zip(files, days, strict=True):
                shifted = date.fromordinal(day.toordinal() + k * span)
                dest = out / f"day={shifted.isoformat()}" / f"copy{k}-{f.name}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                if k == 0:
                    try:
                        os.link(f, dest)
                    except OSError:
                        shutil.copy2(f, dest)
                else:
                    jobs.append((str(f), str(dest), k * span))
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_shifted_copy, *zip(*jobs, strict=True)))
        built = {
            "rows": base.rows * 10,
            "seconds": time.perf_counter() - t0,
            "copies": 10,
            "shift_days": span,
        }
        done.write_text(json.dumps(built, indent=1))
    built = json.loads(done.read_text())
    return Dataset("100M", int(built["rows"]), base.log, out, built)


def _shifted_copy(source: str, dest: str, days: int, *, per_chunk: bool = False) -> None:
    """``source`` rewritten to ``dest`` with ``started_at`` ``days`` later, encoded as the
    export encodes: the same row groups and writer settings, one dictionary per row group for the
    coded columns (so the copies scan at the speed of the export's own files).  ``per_chunk``
    re-encodes the coded columns per chunk of ``CHUNK_ROWS`` rows instead, as the export did up
    to issue 24 (their pages then fall back to PLAIN): the "before" layout of the scan bench."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from faceid_tools.calllog.export import CHUNK_ROWS
    from faceid_tools.calllog.export.convert import _DICTIONARY_COLUMNS, _STATISTICS_COLUMNS

    reader = pq.ParquetFile(source)
    schema = reader.schema_arrow
    at = schema.get_field_index("started_at")
    coded = [i for i, f in enumerate(schema) if pa.types.is_dictionary(f.type)]
    shift = pa.scalar(days * 86_400_000_000, pa.duration("us"))
    tmp = Path(dest).with_suffix(".tmp")
    with pq.ParquetWriter(
        tmp,
        schema,
        compression="zstd",
        use_dictionary=_DICTIONARY_COLUMNS,
        write_statistics=_STATISTICS_COLUMNS,
        write_page_checksum=True,
    ) as writer:
        for i in range(reader.num_row_groups):
            table = reader.read_row_group(i)
            moved = pc.add(table.column(at), shift).cast(schema.field(at).type)
            table = table.set_column(at, schema.field(at), moved)
            step = CHUNK_ROWS if per_chunk else max(1, table.num_rows)
            chunks = []
            for start in range(0, table.num_rows, step):
                chunk = table.slice(start, step)
                for c in coded:
                    plain = chunk.column(c).cast(pa.string())
                    encoded = plain.combine_chunks().dictionary_encode().cast(schema.field(c).type)
                    chunk = chunk.set_column(c, schema.field(c), encoded)
                chunks.append(chunk)
            writer.write_table(pa.concat_tables(chunks), table.num_rows)
    tmp.rename(dest)


# --- measuring in a fresh process ---------------------------------------------------------------

_PRELUDE = """
import json, resource, sys, time
t_import = time.perf_counter()
{imports}
t_import = time.perf_counter() - t_import
t0 = time.perf_counter()
"""

_EPILOGUE = """
wall = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
result.update(
    wall=wall,
    imports=t_import,
    peak_mib=me.ru_maxrss / 1024,
    # CPU seconds of the process and its workers (imports included): what wall time would be
    # on an idle machine with one core per process; the machine is shared, wall time is not
    cpu=me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
)
print("RESULT " + json.dumps(result))
"""

#: Export with a sampler of the whole process tree's resident memory (the workers included).
_EXPORT = """
import os, threading
from pathlib import Path

def tree_kib(pid):
    # (PSS, RSS) of a process and its descendants, KiB (PSS counts shared pages once)
    pss = rss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{{p}}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
            for task in Path(f"/proc/{{p}}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass
    return pss, rss

peak = [0, 0]
stop = threading.Event()
def sample():
    while not stop.wait(0.02):
        pss, rss = tree_kib(os.getpid())
        peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)
threading.Thread(target=sample, daemon=True).start()
from faceid_tools.calllog.export import export
r = export({log!r}, {out!r})
stop.set()
result = {{"rows": r.rows, "files": len(r.files), "tree_peak_mib": peak[0] / 1024,
          "tree_rss_mib": peak[1] / 1024,
          "children_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}
"""


def _child(body: str, imports: str = "") -> dict[str, Any]:
    """Run ``body`` (which sets ``result``) in a fresh interpreter; return ``result`` + timings."""
    code = _PRELUDE.format(imports=textwrap.dedent(imports)) + textwrap.dedent(body) + _EPILOGUE
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # no child reuses another's results through the user cache unless the bench says so
        env={
            "FACEID_TOOLS_CACHE": "off",
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p
            ),
        },
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


_SUMMARY_IMPORTS = """
from faceid_tools.analysis import daily_summary
from faceid_tools.calllog.load import load_calls
"""


def _pandas_summary(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        frame = load_calls({str(ds.log)!r})
        t_load = time.perf_counter() - t0
        summary = daily_summary(frame)
        result = {{"groups": len(summary), "load": t_load}}
        """,
        _SUMMARY_IMPORTS,
    )


def _duckdb_summary(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        summary = daily_summary({str(ds.parquet)!r})
        result = {{"groups": len(summary)}}
        """,
        _SUMMARY_IMPORTS,
    )


#: DuckDB's own summary of the same grouping on the same files: count, error share and exact
#: quantiles of successful attempts' latency, no intervals, fetched without pandas — the yardstick
#: of the targets (issue 16).
_BARE_IMPORTS = """
import duckdb
from faceid_tools.calllog.parquet import dataset_files
"""
#: The query itself, after a line that sets ``files`` (the list of Parquet files to read).
BARE_QUERY = """
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
got = con.execute(
    "SELECT region, security_level, day, count(*) AS n, "
    "avg(CASE WHEN outcome <> 'ok' THEN 1.0 ELSE 0.0 END) AS error_share, "
    "quantile_disc(latency_ms, [0.5, 0.95, 0.99]) FILTER (WHERE outcome = 'ok') AS q "
    f"FROM read_parquet([{{files}}], hive_partitioning = true) "
    "WHERE action = 'GenerateReflectSequence' AND outcome IS NOT NULL GROUP BY ALL"
).fetchall()
result = {{"groups": len(got)}}
"""
_BARE = (
    """
files = ", ".join("'" + str(f) + "'" for f in dataset_files({folder!r}))"""
    + BARE_QUERY
)


def _bare_summary(ds: Dataset) -> dict[str, Any]:
    return _child(_BARE.format(folder=str(ds.parquet)), _BARE_IMPORTS)


def _ibis_summary(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        summary = daily_summary(open_dataset({str(ds.parquet)!r}))
        result = {{"groups": len(summary)}}
        """,
        "from faceid_tools.analysis import daily_summary\nfrom bench.ibis_engine import open_dataset",
    )


_SPARK_SESSION = """
from faceid_tools.analysis import daily_summary
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "2g")
         .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
"""


def _spark_summary(ds: Dataset) -> dict[str, Any]:
    return _child(
        f"""
        summary = daily_summary(spark.read.parquet({str(ds.parquet)!r}))
        result = {{"groups": len(summary)}}
        spark.stop()
        """,
        _SPARK_SESSION,
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _simulate(rows: int, folder: Path) -> dict[str, Any]:
    log = folder / "simulate.sqlite"
    for f in (log, Path(f"{log}-wal"), Path(f"{log}-shm")):
        f.unlink(missing_ok=True)
    try:
        return _child(
            f"""
            rows = simulate({calls_for_rows(rows)}, {str(log)!r}, seed={SEED})
            result = {{"rows": rows}}
            """,
            "from faceid_tools.simulate import simulate",
        )
    finally:
        for f in (log, Path(f"{log}-wal"), Path(f"{log}-shm")):
            f.unlink(missing_ok=True)


def _export(ds: Dataset, folder: Path) -> dict[str, Any]:
    import shutil

    out = folder / "export-run"
    shutil.rmtree(out, ignore_errors=True)
    try:
        return _child(_EXPORT.format(log=str(ds.log), out=str(out)))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _code_key(*paths: str) -> str:
    """A digest of the source files a measurement depends on (re-measure when they change)."""
    import hashlib

    digest = hashlib.sha256()
    for rel in paths:
        for f in sorted((ROOT / rel).rglob("*.py")) if (ROOT / rel).is_dir() else [ROOT / rel]:
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def _cached(path: Path, key: str, measure: Any) -> tuple[dict[str, Any], bool]:
    """``measure()``'s result, reused from ``path`` while ``key`` (the code) is unchanged."""
    if path.is_file() and not os.environ.get("FACEID_BENCH_FULL"):
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["result"], True
    result = measure()
    path.write_text(json.dumps({"key": key, "result": result}))
    return result, False


_PANDAS_CODE = (
    "faceid_tools/calllog/load.py",
    "faceid_tools/calllog/frame.py",
    "faceid_tools/calllog/types.py",
    "faceid_tools/analysis",
)
_EXPORT_CODE = (
    "faceid_tools/calllog/export",
    "faceid_tools/calllog/parquet.py",
    "faceid_tools/calllog/schema.py",
    "faceid_tools/calllog/types.py",
)


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def run(quick: bool) -> list[Row]:
    """The rows of the data-at-scale benchmark (quick: 1M rows only, one repetition).

    Per size, side by side and alternating fresh processes (median of 3): DuckDB's bare summary
    (the baseline of the ratios), ``daily_summary`` on the DuckDB engine, on the Ibis prototype
    (1M and 10M, when ibis is installed) and on Spark ``local[2]`` (10M, when pyspark is); the
    pandas-from-SQLite path at 1M (and at 10M with ``FACEID_BENCH_PANDAS_10M=1``: ~15 GiB).
    ``FACEID_BENCH_SUMMARY_ONLY=1`` leaves out the simulate and export rows.
    """
    labels = ["1M"] if quick else ["1M", "10M", "100M"]
    reps = 1 if quick else 3
    rows: list[Row] = []
    for label in labels:
        ds = dataset_100m() if label == "100M" else dataset(label)
        t0 = time.perf_counter()
        ways: dict[str, Any] = {
            "DuckDB bare summary": _bare_summary,
            "daily_summary, DuckDB": _duckdb_summary,
        }
        if label != "100M" and _has("ibis"):
            ways["daily_summary, Ibis on DuckDB (prototype)"] = _ibis_summary
        if label == "10M" and _has("pyspark"):
            ways["daily_summary, Spark local[2]"] = _spark_summary
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in ways}
        for _ in range(reps):
            for name, measure in ways.items():
                runs[name].append(measure(ds))
        pandas_runs: list[dict[str, Any]] = []
        skipped = ""
        if label == "1M":
            pandas_runs = [_pandas_summary(ds) for _ in range(reps)]
        elif label == "10M" and os.environ.get("FACEID_BENCH_PANDAS_10M"):
            result, reused = _cached(
                ds.log.parent / "pandas-10M.json",
                _code_key(*_PANDAS_CODE),
                functools.partial(_pandas_summary, ds),
            )
            pandas_runs = [result]
            skipped = "reused from an earlier run with the same code" if reused else ""
        groups = {r["groups"] for rs in runs.values() for r in rs}
        note = f"{ds.rows:,} rows, {groups.pop() if len(groups) == 1 else groups} groups"
        base = "DuckDB bare summary"
        for name, rs in runs.items():
            extra = f"imports {_median([r['imports'] for r in rs]):.1f} s not included"
            if name.endswith("Spark local[2]"):
                extra = (
                    f"SparkSession start {_median([r['imports'] for r in rs]):.1f} s not "
                    "included; peak is the Python driver's only (the JVM is another process)"
                )
            rows.append(
                Row(
                    f"summary {label}: wall",
                    name,
                    "s",
                    [r["wall"] for r in rs],
                    baseline=None if name == base else base,
                    note=f"{note}; imports {_median([r['imports'] for r in rs]):.1f} s not included"
                    if name == base
                    else extra,
                )
            )
        if pandas_runs:
            load = _median([r["load"] for r in pandas_runs])
            rows.append(
                Row(
                    f"summary {label}: wall",
                    "pandas from SQLite",
                    "s",
                    [r["wall"] for r in pandas_runs],
                    baseline=base,
                    note=f"load_calls {load:.1f} s of it" + (f"; {skipped}" if skipped else ""),
                )
            )
        for name, rs in [*runs.items(), ("pandas from SQLite", pandas_runs)]:
            if rs and not name.endswith("Spark local[2]"):
                rows.append(
                    Row(
                        f"summary {label}: peak RSS",
                        name,
                        "MiB",
                        [r["peak_mib"] for r in rs],
                        baseline=None if name == base else base,
                        note="whole process",
                    )
                )
        print(f"  summary {label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        from bench._harness import table

        print(table([r for r in rows if r.group.startswith(f"summary {label}:")]), file=sys.stderr)
    if os.environ.get("FACEID_BENCH_SUMMARY_ONLY"):  # the summaries only (no simulate/export)
        return rows
    # simulate and export timings
    small = dataset("1M")
    work = CACHE / "analysis-scratch"
    work.mkdir(parents=True, exist_ok=True)
    sims = [_simulate(SIZES["1M"], work) for _ in range(1 if quick else 2)]
    rows.append(
        Row(
            "data at scale",
            "simulate 1M rows",
            "s",
            [r["wall"] for r in sims],
            note=f"{sims[0]['rows']:,} rows incl. downloads, through CallLog.record_many; "
            f"CPU {_median([r['cpu'] for r in sims]):.0f} s",
        )
    )
    exports = [_export(small, work) for _ in range(1 if quick else 2)]
    rows.append(
        Row(
            "data at scale",
            "export 1M rows",
            "s",
            [r["wall"] for r in exports],
            note=f"peak {_median([r['tree_peak_mib'] for r in exports]):.0f} MiB PSS (process "
            f"tree); CPU {_median([r['cpu'] for r in exports]):.0f} s",
        )
    )
    if not quick:
        big = dataset("10M")
        result, reused = _cached(
            big.log.parent / "export-10M.json",
            _code_key(*_EXPORT_CODE),
            functools.partial(_export, big, work),
        )
        exports = [result]
        rows.append(
            Row(
                "data at scale",
                "export 10M rows",
                "s",
                [r["wall"] for r in exports],
                note=f"{exports[0]['files']} files; CPU {exports[0]['cpu']:.0f} s over the "
                "process and its workers"
                + ("; reused from an earlier run with the same code" if reused else ""),
            )
        )
        rows.append(
            Row(
                "data at scale",
                "export 10M rows: peak memory",
                "MiB",
                [r["tree_peak_mib"] for r in exports],
                note="PSS summed over the process and its workers, sampled every 20 ms; "
                f"RSS sum {exports[0]['tree_rss_mib']:.0f} MiB",
            )
        )
        rows.append(
            Row(
                "data at scale",
                "simulate 10M rows (cache build)",
                "s",
                [big.built["simulate"]["wall"]],
                note=f"{big.rows:,} rows; measured when the cache was built",
            )
        )
    return rows
