"""Issue 16: every public analysis function gives the same result on every engine.

One simulated log of 100,000+ rows (``simulate`` → SQLite → ``export`` → Parquet), read three
ways: the pandas DataFrame ``load_calls`` returns, the Parquet folder (DuckDB), and
``spark.read.parquet`` of the same folder (Spark ``local[2]``).  Counts and order statistics are
equal to the last digit; sums (means) and p-values within 1e-9 (``assert_identical``).  The Spark
tests share one session and one xdist worker (group ``spark``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from faceid_tools import analysis
from faceid_tools.analysis._inputs import CallLogColumnsError, UnsupportedDataError
from faceid_tools.errors import FaceIDError

from .conftest import SimulatedLog
from .test_identity import CASES, assert_identical

ROOT = Path(__file__).resolve().parents[2]
EXTRA: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("errors by minute", analysis.error_rates, {"by": ("minute", "region")}),
    ("latency by day", analysis.latency_summary, {"by": "day"}),
    ("duplicate rate by region", analysis.duplicate_rate, {"by": "region"}),
    ("duplicate rate overall", analysis.duplicate_rate, {}),
]
ALL = CASES + EXTRA
spark_group = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="session")
def spark_log(spark: Any, simulated_log: SimulatedLog) -> Any:
    return spark.read.parquet(str(simulated_log.parquet))


@pytest.mark.parametrize(("name", "fn", "kwargs"), ALL, ids=[c[0] for c in ALL])
def test_pandas_and_duckdb_agree_on_the_simulated_log(
    simulated_log: SimulatedLog, name: str, fn: Callable[..., Any], kwargs: dict[str, Any]
) -> None:
    assert_identical(fn(simulated_log.frame, **kwargs), fn(simulated_log.parquet, **kwargs))


@spark_group
@pytest.mark.parametrize(("name", "fn", "kwargs"), ALL, ids=[c[0] for c in ALL])
def test_spark_agrees_with_duckdb(
    simulated_log: SimulatedLog,
    spark_log: Any,
    name: str,
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
) -> None:
    assert_identical(fn(simulated_log.parquet, **kwargs), fn(spark_log, **kwargs))


@spark_group
def test_top_findings_agree_on_spark(simulated_log: SimulatedLog, spark_log: Any) -> None:
    from faceid_tools.report.present import top_findings

    ours = top_findings(spark_log, limit=6)
    assert ours == top_findings(simulated_log.parquet, limit=6)


def test_duplicate_rates_of_the_groups_add_up_to_the_overall_one(
    simulated_log: SimulatedLog,
) -> None:
    overall = analysis.duplicate_rate(simulated_log.parquet)
    by_region = analysis.duplicate_rate(simulated_log.parquet, by="region")
    assert overall["repeats"].iloc[0] > 0
    assert by_region["repeats"].sum() == overall["repeats"].iloc[0]
    assert by_region["n"].sum() == overall["n"].iloc[0]


def test_a_sequence_repeated_from_another_region_counts_in_the_repeating_group() -> None:
    """Region B's download repeats bytes region A's call received earlier: B has the repeat."""
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for i, (region, sha) in enumerate(
        [("ap-bangkok", "x"), ("ap-singapore", "x"), ("ap-bangkok", "y")]
    ):
        for action in ("GenerateReflectSequence", "DownloadSequence"):
            rows.append(
                {
                    "call_id": f"c{i}",
                    "attempt": 1,
                    "action": action,
                    "region": region,
                    "security_level": "2" if action.startswith("Gen") else None,
                    "started_at": t0 + pd.Timedelta(seconds=10 * i),
                    "outcome": "ok",
                    "seq_sha256": sha if action == "DownloadSequence" else None,
                }
            )
    out = analysis.duplicate_rate(pd.DataFrame(rows), by="region").set_index("region")
    assert out.loc["ap-bangkok", "repeats"] == 0
    assert out.loc["ap-singapore", "repeats"] == 1
    assert out.loc["ap-singapore", "rate"] == 1.0


# -- bad input ----------------------------------------------------------------------------------


def test_a_pandas_frame_missing_or_mistyping_columns_is_named(simulated_log: SimulatedLog) -> None:
    frame = simulated_log.frame.head(100)
    with pytest.raises(CallLogColumnsError, match=r"missing column\(s\) \['outcome'\]"):
        analysis.error_rates(frame.drop(columns="outcome"))
    bad = frame.assign(latency_ms=frame["latency_ms"].astype(str), started_at="yesterday")
    with pytest.raises(CallLogColumnsError) as caught:
        analysis.latency_summary(bad)
    assert "latency_ms" in str(caught.value) and "started_at" in str(caught.value)
    assert isinstance(caught.value, FaceIDError) and isinstance(caught.value, ValueError)


def test_an_unsupported_object_lists_what_is_accepted() -> None:
    with pytest.raises(UnsupportedDataError, match=r"pyspark\.sql\.DataFrame") as caught:
        analysis.error_rates(42)
    assert isinstance(caught.value, TypeError) and "got int" in str(caught.value)


@spark_group
def test_a_spark_frame_missing_or_mistyping_columns_is_named(spark_log: Any) -> None:
    from pyspark.sql import functions as F

    with pytest.raises(CallLogColumnsError, match=r"missing column\(s\) \['action'\]"):
        analysis.error_rates(spark_log.drop("action"))
    bad = spark_log.withColumn("latency_ms", F.lit("fast")).withColumn("attempt", F.lit(1.5))
    with pytest.raises(CallLogColumnsError, match=r"attempt .*latency_ms") as caught:
        analysis.latency_summary(bad)
    assert "expected numbers" in str(caught.value)
    with pytest.raises(CallLogColumnsError, match=r"missing column\(s\) \['seq_sha256'\]"):
        analysis.duplicate_rate(spark_log.drop("seq_sha256"))


def test_the_package_imports_and_analyses_without_pyspark(simulated_log: SimulatedLog) -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "from faceid_tools import analysis\n"
        f"print(len(analysis.error_rates({str(simulated_log.parquet)!r})))\n"
        "assert not any(m.startswith('pyspark') and sys.modules[m] for m in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) == 3


# -- notebooks ----------------------------------------------------------------------------------


@spark_group
def test_notebook_01_runs_on_a_spark_dataframe(simulated_log: SimulatedLog, tmp_path: Path) -> None:
    """``DATA`` given as a Spark DataFrame (built in the kernel, as a user would from Python)."""
    from faceid_tools.report.notebooks import PARAMETERS_TAG, execute_notebook

    nb = nbformat.read(ROOT / "notebooks" / "01-latency.ipynb", as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in c.metadata.get("tags", []))
    build = (
        "from pyspark.sql import SparkSession\n"
        "spark = (SparkSession.builder.master('local[2]').config('spark.driver.memory', '1g')\n"
        "         .config('spark.sql.shuffle.partitions', '2').config('spark.ui.enabled', 'false')\n"
        "         .config('spark.ui.showConsoleProgress', 'false').getOrCreate())\n"
        f"DATA = spark.read.parquet({str(simulated_log.parquet)!r})\n"
    )
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(build))
    path = tmp_path / "01-latency-spark.ipynb"
    nbformat.write(nb, path)
    executed = execute_notebook(path, cwd=ROOT / "notebooks", timeout=600).notebook
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    images = sum(
        "image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", [])
    )
    assert images >= 1
    source = "\n".join(c.source for c in executed.cells if c.cell_type == "code")
    assert "spark.read.parquet" in source and "analysis.source(DATA)" in source


# -- the recipe of docs/scaling.md, end to end --------------------------------------------------


@spark_group
def test_the_scaling_recipe_export_verify_copy_read_in_spark_analyse(
    simulated_log: SimulatedLog, spark: Any, tmp_path: Path
) -> None:
    """export --verify → copy the committed files, then the state, to "object storage" (a
    folder here) → verify the copy → spark.read.parquet → the same numbers as DuckDB."""
    import shutil

    from faceid_tools.calllog.parquet import dataset_files, verify_dataset
    from faceid_tools.cli import main

    local, bucket = tmp_path / "calls.parquet", tmp_path / "bucket" / "faceid" / "calls"
    argv = ["export", "--log", str(simulated_log.sqlite), "--out", str(local), "--verify"]
    assert main(argv) == 0
    for f in dataset_files(local):
        (bucket / f.relative_to(local)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, bucket / f.relative_to(local))
    shutil.copy2(local / "_export_state.json", bucket / "_export_state.json")
    assert verify_dataset(bucket).rows == len(simulated_log.frame)
    calls = spark.read.option("basePath", str(bucket)).parquet(str(bucket))
    assert calls.count() == len(simulated_log.frame)
    for fn in (analysis.daily_summary, analysis.error_rates):
        assert_identical(fn(local), fn(calls))


def test_the_topic_modules_define_metrics_without_engine_branches_or_sql() -> None:
    """One definition per metric: no engine class, no isinstance on the input, no SQL."""
    import ast
    import re

    topic = ("latency", "error_rates", "compare", "sequences", "timeseries", "review")
    engines = {"PandasSource", "DuckSource", "SparkSource", "Staged", "DataFrame"}
    for name in topic:
        path = ROOT / "faceid_tools" / "analysis" / f"{name}.py"
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & (engines - {"DataFrame"}), (name, names & engines)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
                assert not {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & engines
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not re.search(r"\bSELECT\b|\bGROUP BY\b", node.value), (name, node.value)
