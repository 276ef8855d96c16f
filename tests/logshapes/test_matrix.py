"""Every log shape × every page and summary: it works and shows no missing-value marker, or it
says in one line what the log lacks (exit 2 from the CLI).

Shapes (``shapes.py``): FaceIDClient calls outside any campaign (the README's snippet), a campaign,
a resumed one, a SIGKILLed one, one with retries, ``simulate``, a mix in one file, one region ×
one level, only failures, no successful call, an empty log, the previous schema version — each
as SQLite and as its Parquet export.  Checks: the four report pages (one ``faceid-tools report``
per shape, the report machinery; a failing page is retried without it so each page is judged),
``faceid-tools calls``, the campaign end summary over the log, ``report --baseline`` against
another shape, and every public analysis function (pandas on SQLite, DuckDB on Parquet).
Each cell is also recorded for the matrix table (``python -m tests.logshapes``).
"""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from faceid_tools import analysis
from faceid_tools.campaign.records import CampaignStore, has_table
from faceid_tools.campaign.resume import completed_indices
from faceid_tools.campaign.summary import summarize
from faceid_tools.cli import main as cli_main
from faceid_tools.errors import FaceIDError
from faceid_tools.report import present
from tests.logshapes.matrix import OK, PAGES, forbidden_in, is_pass, page_text, record
from tests.logshapes.shapes import PARQUET, SHAPES

ALL = [*SHAPES, *(s + PARQUET for s in SHAPES)]
#: Parquet renders repeat the SQLite ones through DuckDB: slow; the SQLite ones cover every shape.
RENDERED = [*SHAPES, *(pytest.param(s + PARQUET, marks=pytest.mark.slow) for s in SHAPES)]
#: The baseline each shape is compared with in ``report --baseline``.
BASELINE_OF = {"campaign": "simulate"}
DEFAULT_BASELINE = "campaign"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _said(code: int, err: str) -> str | None:
    """``said: <line>`` when the command refused in one line with exit 2, else None (the
    ``notebooks:``/``data:`` lines ``report`` prints first are not the refusal)."""
    lines = [line for line in err.splitlines() if line.strip()]
    refusals = [line for line in lines if line.startswith("faceid-tools")]
    if code == 2 and len(refusals) == 1 and lines[-1] == refusals[0]:
        return "said: " + refusals[0].split(": ", 1)[-1]
    return None


def _report(
    capsys: pytest.CaptureFixture[str], data: Path, out: Path, pages: list[str], *extra: str
) -> dict[str, str]:
    """Render ``pages`` with ``faceid-tools report``; each page's cell of the matrix.

    A failing page is noted and the others rendered again without it, so one bad page does
    not hide the rest."""
    results: dict[str, str] = {}
    todo = list(pages)
    while todo:
        only = [a for p in todo for a in ("--only", p)]
        code, _, err = _cli(
            capsys, "report", "--data", str(data), "--out", str(out), "--jobs", "2", *only, *extra
        )
        if code == 0:
            for page in todo:
                text = page_text((out / f"{page}.html").read_text(encoding="utf-8"))
                results[page] = forbidden_in(text) or OK
            break
        said = _said(code, err)
        failed = [p for p in todo if p in err] or todo[:1]
        line = err.strip().splitlines()[-1] if err.strip() else f"exit {code}"
        for page in failed if said is None else todo:
            results[page] = said or f"exit {code}: {line.split(': ', 1)[-1][:160]}"
        if said is not None:
            break
        todo = [p for p in todo if p not in failed]
    return results


@pytest.mark.parametrize("shape", RENDERED)
def test_every_page_renders_without_missing_markers(
    shape: str, shape_paths: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _report(capsys, shape_paths[shape], tmp_path / "pages", list(PAGES))
    for page, result in results.items():
        record(shape, page, result)
    assert all(is_pass(r) for r in results.values()), results


#: Shapes whose review with a baseline runs in the fast suite (the others are slow: one more
#: render each, and the pages of every shape run fast already).
FAST_BASELINE = ("client-calls", "no-success", "empty", "mix")


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(s, marks=() if s in FAST_BASELINE else pytest.mark.slow)
        for s in (*SHAPES, *(s + PARQUET for s in SHAPES))
    ],
)
def test_the_review_with_a_baseline(
    shape: str, shape_paths: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = BASELINE_OF.get(shape.removesuffix(PARQUET), DEFAULT_BASELINE)
    page = "04-product-review"
    results = _report(
        capsys,
        shape_paths[shape],
        tmp_path / "review",
        [page],
        "--baseline",
        str(shape_paths[base]),
    )
    result = results[page] if results[page] != OK else f"ok (vs {base})"
    record(shape, "report --baseline", result)
    assert is_pass(result), result


@pytest.mark.parametrize("shape", ALL)
def test_calls_summary(
    shape: str, shape_paths: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(capsys, "calls", "--log", str(shape_paths[shape]))
    result = (forbidden_in(out) or OK) if code == 0 else _said(code, err)
    result = result or f"exit {code}: {err.strip()[-200:]}"
    record(shape, "calls", result)
    assert is_pass(result), result


def _campaign_summaries(log: Path) -> list[str]:
    """The end-of-run summary of every campaign in the log, as ``probe`` prints it."""
    conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    try:
        if not has_table(conn, "calls"):
            return []
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT campaign_id FROM calls WHERE campaign_id IS NOT NULL ORDER BY 1"
            )
        ]
        stored = set()
        if has_table(conn, "campaigns"):
            stored = {r[0] for r in conn.execute("SELECT campaign_id FROM campaigns")}
    finally:
        conn.close()
    texts = []
    with CampaignStore(log) as store:
        for cid in ids:
            if cid in stored:
                rec = store.load(cid)
                marked = set(store.finished_calls(cid))
                done = completed_indices(store.connection, cid, retries=rec.retries, marked=marked)
                planned, completed = len(rec.plan), len(done)
            else:  # simulate's campaigns have no plan: every call of it is the plan
                n = store.connection.execute(
                    "SELECT count(DISTINCT call_id) FROM calls WHERE campaign_id = ?", (cid,)
                ).fetchone()[0]
                planned = completed = int(n)
            texts.append(
                summarize(store.connection, cid, planned=planned, completed=completed).format()
            )
    return texts


@pytest.mark.parametrize("shape", SHAPES)
def test_campaign_end_summary(shape: str, shape_paths: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "log.sqlite"  # CampaignStore may add its tables: work on a copy
    log.write_bytes(shape_paths[shape].read_bytes())
    texts = _campaign_summaries(log)
    if not texts:
        result = "said: the log holds no campaign (nothing for probe to summarise)"
    else:
        bad = [forbidden_in(t) for t in texts]
        result = next((b for b in bad if b), f"ok ({len(texts)} campaign{'s' * (len(texts) > 1)})")
    record(shape, "probe summary", result)
    assert is_pass(result), result


# -- every public analysis function -------------------------------------------------------------

#: Result columns that hold group keys (a missing one must show by its name).
KEY_COLUMNS = ("region", "security_level", "campaign_id", "endpoint", "error_code", "outcome",
               "action", "a", "b", "grain", "metric")  # fmt: skip


def _calls(data: Any, base: Any) -> dict[str, Callable[[], Any]]:
    """One call of every public function of ``faceid_tools.analysis`` on ``data``."""
    verdicts: list[pd.DataFrame] = []
    changes: list[pd.DataFrame] = []

    def slo() -> pd.DataFrame:
        if not verdicts:
            verdicts.append(analysis.slo_verdicts(data))
        return verdicts[0]

    def change() -> pd.DataFrame:
        if not changes:
            changes.append(analysis.compare_to_baseline(data, base))
        return changes[0]

    a = analysis
    return {
        "source": lambda: a.source(data),
        "provenance": lambda: present.provenance_markdown(data),
        "describe_data": lambda: present.describe_data(data),  # the figures, as a line
        "latency_summary": lambda: a.latency_summary(data),
        "queueing_summary": lambda: a.queueing_summary(data, by="region"),
        "latency_ecdf": lambda: a.latency_ecdf(data, by="region"),
        "error_rates": lambda: a.error_rates(data, by=("campaign_id", "region")),
        "error_codes": lambda: a.error_codes(data, by="endpoint"),
        "outcome_breakdown": lambda: a.outcome_breakdown(data, by="campaign_id"),
        "compare_latency": lambda: a.compare_latency(data, between="region"),
        "compare_error_rates": lambda: a.compare_error_rates(data, between="campaign_id"),
        "integrity_rate": lambda: a.integrity_rate(data, by="security_level"),
        "duplicate_sequences": lambda: a.duplicate_sequences(data),
        "duplicate_rate": lambda: a.duplicate_rate(data, by="region"),
        "sequence_properties": lambda: a.sequence_properties(data),
        "property_histogram": lambda: a.property_histogram(data, "seq_size"),
        "level_conformance": lambda: a.level_conformance(data),
        "time_bucket": lambda: a.time_bucket(data),
        "time_series": lambda: a.time_series(data, by="campaign_id"),
        "hourly_series": lambda: a.hourly_series(data),
        "summary_table": lambda: a.summary_table(data, by=("campaign_id", "endpoint")),
        "daily_summary": lambda: a.daily_summary(data),
        "slo_verdicts": slo,
        "verdict_matrix": lambda: a.verdict_matrix(slo()),
        "cell_decisions": lambda: a.cell_decisions(slo()),
        "key_rows": lambda: a.key_rows(slo()),
        "probe_plan": lambda: a.probe_plan(slo()),
        "top_findings": lambda: present.top_findings(data),  # the records, as sentences
        "window": lambda: a.window(data, start="2000-01-01"),
        "compare_to_baseline": change,
        "change_matrix": lambda: a.change_matrix(change()),
        "change_findings": lambda: present.change_findings(change()),  # as sentences
    }


def _missing_keys(name: str, frame: pd.DataFrame) -> str | None:
    """A key column with a missing value (pooled keys of coarser grains aside)."""
    for col in KEY_COLUMNS:
        if col not in frame.columns:
            continue
        values = frame[col]
        if "grain" in frame.columns and col in ("region", "security_level"):
            values = values[frame["grain"].astype(str).str.contains(col)]
        if values.isna().any():
            return f"{name}: {col} has missing values ({int(values.isna().sum())})"
    return None


def _raised_by_the_package(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by faceid-tools' own code (a check of its input), not by a
    library it called."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "/faceid_tools/" in frames[-1].filename.replace("\\", "/")


def _judge(name: str, result: Any) -> str | None:
    if isinstance(result, pd.DataFrame):
        return _missing_keys(name, result)
    texts = [result] if isinstance(result, str) else result if isinstance(result, list) else []
    for text in texts:
        if isinstance(text, str) and (bad := forbidden_in(text)):
            return f"{name}: {bad}"
    return None


@pytest.mark.parametrize("shape", ALL)
def test_every_analysis_function(shape: str, shape_paths: dict[str, Path]) -> None:
    parquet = shape.endswith(PARQUET)
    base_name = BASELINE_OF.get(shape.removesuffix(PARQUET), DEFAULT_BASELINE)
    base = shape_paths[base_name + (PARQUET if parquet else "")]
    data = shape_paths[shape] if parquet else analysis.source(shape_paths[shape])
    engine = "DuckDB" if parquet else "pandas"
    expected = {n for n in analysis.__all__ if n[0].islower()}  # the functions, not the types
    calls = _calls(data, base)
    assert set(calls) == expected, "a public analysis function is not in the matrix"
    problems, said = [], []
    for name, call in calls.items():
        try:
            _judge_result = _judge(name, call())
        except (FaceIDError, ValueError, FileNotFoundError) as exc:
            text = " ".join(str(exc).split())
            if not _raised_by_the_package(exc):  # pandas' own ValueError is a crash
                problems.append(f"{name}: {type(exc).__name__}: {text[:120]}")
            elif "\n" in str(exc).strip() or not text:
                problems.append(f"{name}: {type(exc).__name__} without a one-line message")
            else:
                said.append(f"{name}: {text}")
            continue
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}")
            continue
        if _judge_result:
            problems.append(_judge_result)
    if problems:
        result = f"{engine}: {len(problems)} fail — " + "; ".join(problems[:3])
    elif said:
        example = said[0][:140]
        result = (
            f"said: {engine}, {len(calls) - len(said)} ok, {len(said)} say what is lacking "
            f"(e.g. {example})"
        )
    else:
        result = f"ok ({engine}, {len(calls)} functions)"
    record(shape, "analysis", result)
    assert not problems, problems
