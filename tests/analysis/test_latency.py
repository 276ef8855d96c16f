"""Latency percentiles: estimates, intervals, selections and groupings on hand-made logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceid_tools.analysis import latency_ecdf, latency_summary, queueing_summary
from faceid_tools.analysis.intervals import quantile_ci_ranks

from ._logs import schema_frame


def calls(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {
        "action": "GenerateReflectSequence",
        "outcome": "ok",
        "attempt": 1,
        "region": "ap-singapore",
        "security_level": "4",
        "started_at": "2026-03-01T10:00:00Z",
    }
    return schema_frame(pd.DataFrame([{**base, **r} for r in rows]))


def test_percentiles_are_order_statistics_with_binomial_intervals() -> None:
    values = np.arange(1.0, 1001.0)  # 1..1000 ms, shuffled
    rng = np.random.default_rng(1)
    frame = calls([{"latency_ms": v} for v in rng.permutation(values)])
    out = latency_summary(frame, by=())
    assert len(out) == 1
    row = out.iloc[0]
    assert row["n"] == 1000
    for q, label in ((0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99")):
        assert row[label] == q * 1000  # x_(ceil(q n)) of 1..1000
        lo, hi = quantile_ci_ranks(1000, q)
        assert (row[f"{label}_lo"], row[f"{label}_hi"]) == (lo, hi)  # value = rank here


def test_small_groups_get_missing_bounds_not_made_up_ones() -> None:
    frame = calls([{"latency_ms": float(v)} for v in range(1, 21)])
    row = latency_summary(frame, by=()).iloc[0]
    assert row["p50"] == 10
    assert row["p50_lo"] == 6 and row["p50_hi"] == 15
    assert row["p99"] == 20
    assert np.isnan(row["p99_hi"])  # 20 values cannot bound the p99 from above


def test_only_successful_generate_calls_count_by_default() -> None:
    frame = calls(
        [
            {"latency_ms": 100.0},
            {"latency_ms": 200.0},
            {"latency_ms": 5000.0, "outcome": "api_error", "error_code": "InternalError"},
            {"latency_ms": 9000.0, "action": "DownloadSequence", "security_level": None},
            {"latency_ms": None},  # an ok row without a latency is not a sample
        ]
    )
    out = latency_summary(frame, by=())
    assert out["n"].tolist() == [2]
    assert out["p99"].tolist() == [200.0]
    everything = latency_summary(frame, by="action", outcome=None, action=None)
    assert dict(zip(everything["action"].astype(str), everything["n"], strict=True)) == {
        "GenerateReflectSequence": 3,
        "DownloadSequence": 1,
    }


def test_first_attempts_apart_from_all_attempts() -> None:
    frame = calls(
        [
            {"call_id": "a", "attempt": 1, "latency_ms": 10.0},
            {"call_id": "b", "attempt": 1, "latency_ms": 20.0},
            {"call_id": "b", "attempt": 2, "latency_ms": 900.0},
        ]
    )
    assert latency_summary(frame, by=())["n"].tolist() == [3]
    first = latency_summary(frame, by=(), attempts="first")
    assert first["n"].tolist() == [2] and first["p99"].tolist() == [20.0]
    with pytest.raises(ValueError, match="attempts"):
        latency_summary(frame, attempts="last")  # type: ignore[arg-type]


def test_groupings_keep_schema_categories_and_derived_time_keys() -> None:
    frame = calls(
        [
            {"latency_ms": 10.0, "region": "ap-bangkok", "started_at": "2026-03-01T10:59:59Z"},
            {"latency_ms": 20.0, "region": "ap-bangkok", "started_at": "2026-03-01T11:00:00Z"},
            {"latency_ms": 30.0, "region": "ap-hongkong", "started_at": "2026-03-02T00:00:01Z"},
        ]
    )
    out = latency_summary(frame, by=("region", "hour"))
    assert list(out.columns[:3]) == ["region", "hour", "n"]
    assert list(out["region"].cat.categories) == ["ap-bangkok", "ap-hongkong", "ap-singapore"]
    assert out["hour"].tolist() == [
        pd.Timestamp("2026-03-01T10:00Z"),
        pd.Timestamp("2026-03-01T11:00Z"),
        pd.Timestamp("2026-03-02T00:00Z"),
    ]
    days = latency_summary(frame, by="day")
    assert days["n"].tolist() == [2, 1]
    assert str(days["day"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="unknown group key"):
        latency_summary(frame, by="colour")


def test_queueing_is_reported_apart_and_for_every_outcome() -> None:
    frame = calls(
        [
            {"latency_ms": 100.0, "queued_ms": 0.0},
            {"latency_ms": 100.0, "queued_ms": 200.0, "outcome": "timeout"},
        ]
    )
    out = queueing_summary(frame, by=())
    assert out["n"].tolist() == [2]
    assert out["p99"].tolist() == [200.0]
    assert out.attrs["analysis"] == "queueing_summary"
    assert out.attrs["column"] == "queued_ms"


def test_ecdf_runs_from_the_minimum_to_the_maximum() -> None:
    frame = calls([{"latency_ms": float(v)} for v in range(1, 101)])
    out = latency_ecdf(frame, by=(), points=11)
    assert out["value"].iloc[0] == 1 and out["value"].iloc[-1] == 100
    assert out["cum_prob"].iloc[-1] == 1.0
    assert out["value"].is_monotonic_increasing and out["cum_prob"].is_monotonic_increasing
    assert len(out) == 11
