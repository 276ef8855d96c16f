"""The four pages' cost: ``faceid-tools report`` on a dataset against DuckDB's bare summary of it.

``python -m bench report`` (``FACEID_BENCH_SIZES=1M,10M,100M`` picks sizes; default 1M,10M).
Per size, side by side in one run, alternating fresh processes (median of 3), each timed in-process
after its imports:

* ``DuckDB bare summary`` of the dataset's files (``bench_analysis``'s yardstick);
* ``report, sample``: :func:`render_reports` of the shipped sample (4,800 calls);
* ``report, first render``: of the dataset, with an empty result cache (:mod:`faceid_tools.analysis._cache`);
* ``report, second render``: again, data unchanged (the cache of the first render of that rep).

The data cost is ``first render − sample``; its ratio to the bare summary is the target (≤ 10×).
Peak memory is the PSS summed over the process tree (the kernels included), sampled every 20 ms.
Passes: every DuckDB statement the kernels run that reads the Parquet files is logged (a
``sitecustomize`` on the kernels' path wraps the engine's connection); ``passes`` is the files
those statements read divided by the dataset's files (one full pass = 1).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import bench_analysis as ba
from bench._harness import CACHE, Row

SAMPLE = ba.ROOT / "data" / "sample" / "calls.sqlite"

_SITECUSTOMIZE = """
import os
if os.environ.get("FACEID_BENCH_QUERY_LOG"):
    import json, threading
    from faceid_tools.analysis import _duck
    _lock = threading.Lock()
    _connect = _duck.DuckSource.connect

    class _Logged:
        def __init__(self, con):
            self._con = con
        def __getattr__(self, name):
            return getattr(self._con, name)
        def execute(self, sql, *args, **kwargs):
            if "read_parquet(" in sql:
                with _lock, open(os.environ["FACEID_BENCH_QUERY_LOG"], "a") as out:
                    out.write(json.dumps({"files": sql.count(".parquet'"), "pid": os.getpid()}) + "\\n")
            return self._con.execute(sql, *args, **kwargs)

    def connect(self):
        con = _connect(self)
        if not isinstance(con, _Logged):
            self._con = con = _Logged(con)
        return con

    _duck.DuckSource.connect = connect
"""

_RENDER_IMPORTS = """
import logging
from faceid_tools.report import render_reports
"""

_RENDER = """
import os, threading
from pathlib import Path
{sampler}
seconds = {{}}
class _Times(logging.Handler):
    def emit(self, record):
        if record.msg == "executed %s in %.1f s":
            seconds[record.args[0]] = record.args[1]
logging.getLogger("faceid_tools.report").addHandler(_Times())
logging.getLogger("faceid_tools.report").setLevel(logging.INFO)
render_reports({data!r}, {out!r})
stop.set()
result = {{"notebooks": seconds, "tree_peak_mib": peak[0] / 1024}}
"""

_SAMPLER = """
def tree_kib(pid):
    pss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass
    return pss
peak = [0]
stop = threading.Event()
def sample():
    while not stop.wait(0.02):
        peak[0] = max(peak[0], tree_kib(os.getpid()))
threading.Thread(target=sample, daemon=True).start()
"""


def _render(data: Path, work: Path, cache: Path, qlog: Path) -> dict[str, Any]:
    out = work / "reports"
    shutil.rmtree(out, ignore_errors=True)
    qlog.unlink(missing_ok=True)
    env = {
        "FACEID_TOOLS_CACHE": str(cache),
        "FACEID_BENCH_QUERY_LOG": str(qlog),
        "PYTHONPATH": f"{work / 'site'}{os.pathsep}{ba.ROOT}",
    }
    body = _RENDER.format(sampler=_SAMPLER, data=str(data), out=str(out))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = ba._child(body, _RENDER_IMPORTS)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    entries = [json.loads(ln) for ln in qlog.read_text().splitlines()] if qlog.exists() else []
    result["statements"] = len(entries)
    result["file_reads"] = sum(e["files"] for e in entries)
    return result


def _bare(ds: ba.Dataset) -> dict[str, Any]:
    return ba._bare_summary(ds)


def run(quick: bool) -> list[Row]:
    """Rows per size: bare summary, the sample's report, first and second render; ratios."""
    from faceid_tools.calllog.parquet import dataset_files

    labels = os.environ.get("FACEID_BENCH_SIZES", "1M" if quick else "1M,10M").split(",")
    reps = int(os.environ.get("FACEID_BENCH_REPS", "1" if quick else "3"))
    work = Path(tempfile.mkdtemp(prefix="bench-report-", dir=CACHE if CACHE.is_dir() else None))
    (work / "site").mkdir()
    (work / "site" / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    rows: list[Row] = []
    try:
        for label in labels:
            ds = ba.dataset_100m() if label == "100M" else ba.dataset(label)
            nfiles = len(dataset_files(ds.parquet))
            runs: dict[str, list[dict[str, Any]]] = {
                k: [] for k in ("bare", "sample", "first", "second")
            }
            for rep in range(reps):
                cache = work / f"cache-{label}-{rep}"
                runs["bare"].append(_bare(ds))
                runs["sample"].append(
                    _render(SAMPLE, work, work / f"cache-sample-{label}-{rep}", work / "q.log")
                )
                runs["first"].append(_render(ds.parquet, work, cache, work / "q.log"))
                runs["second"].append(_render(ds.parquet, work, cache, work / "q.log"))
                print(
                    f"  report {label} rep {rep + 1}: "
                    + ", ".join(f"{k} {v[-1]['wall']:.1f} s" for k, v in runs.items()),
                    file=sys.stderr,
                    flush=True,
                )
            rows += _rows(label, ds, nfiles, runs)
            from bench._harness import table

            print(
                table([r for r in rows if r.group.startswith(f"report {label}")]), file=sys.stderr
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _rows(
    label: str, ds: ba.Dataset, nfiles: int, runs: dict[str, list[dict[str, Any]]]
) -> list[Row]:
    group = f"report {label}"
    bare = [r["wall"] for r in runs["bare"]]
    cost = [f["wall"] - s["wall"] for f, s in zip(runs["first"], runs["sample"], strict=True)]
    out = [
        Row(group, "DuckDB bare summary", "s", bare, note=f"{ds.rows:,} rows, {nfiles} files"),
        Row(group, "report, sample", "s", [r["wall"] for r in runs["sample"]], baseline=None),
    ]
    for side in ("first", "second"):
        rs = runs[side]
        per = {
            nb: statistics.median(r["notebooks"].get(nb, float("nan")) for r in rs)
            for nb in sorted(rs[0]["notebooks"])
        }
        shown = ", ".join(f"{nb.split('-')[0]} {s:.1f}" for nb, s in per.items())
        out.append(
            Row(
                group,
                f"report, {side} render",
                "s",
                [r["wall"] for r in rs],
                baseline="report, sample",
                note=f"per notebook (s): {shown}; passes {_med(rs, 'file_reads') / nfiles:.1f} "
                f"({_med(rs, 'statements'):.0f} statements)",
            )
        )
    out.append(
        Row(
            group,
            "data cost (first − sample)",
            "s",
            cost,
            baseline="DuckDB bare summary",
            note="target ≤ 10× the bare summary",
        )
    )
    out.append(
        Row(
            group,
            "peak memory, first render",
            "MiB",
            [r["tree_peak_mib"] for r in runs["first"]],
            note="PSS over the process tree (kernels included); target ≤ 2,048 at 100M",
        )
    )
    return out


if __name__ == "__main__":  # pragma: no cover - python -m bench report is the entry point
    from bench._harness import table

    print(table(run(quick="--quick" in sys.argv)))
