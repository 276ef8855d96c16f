"""Hourly series, the combined summary table and the daily summary."""

from __future__ import annotations

import pandas as pd
import pytest

from faceid_tools.analysis import (
    daily_summary,
    error_rates,
    hourly_series,
    latency_summary,
    summary_table,
)
from faceid_tools.emulator.profile import Profile

from ._logs import draw_log, schema_frame


def test_summary_table_is_error_rates_and_latency_side_by_side() -> None:
    frame = draw_log(Profile.default(), 4, 60, retries=1)
    table = summary_table(frame, ("region", "security_level"), quantiles=(0.5, 0.99))
    errors = error_rates(frame, ("region", "security_level"))
    lat = latency_summary(frame, ("region", "security_level"), quantiles=(0.5, 0.99))
    assert table["n"].tolist() == errors["n"].tolist()
    assert table["error_rate_hi"].tolist() == errors["rate_hi"].tolist()
    assert table["n_ok"].tolist() == lat["n"].tolist()
    assert table["p99_lo"].equals(lat["p99_lo"])
    per_call = summary_table(frame, "region", per="call")
    assert per_call["n"].tolist() == error_rates(frame, "region", per="call")["n"].tolist()
    assert per_call["n_ok"].tolist() == latency_summary(frame, "region")["n"].tolist()


def test_daily_summary_keys_and_columns() -> None:
    frame = draw_log(Profile.default(), 5, 30, rate=0.001)  # ~4 days of calls
    out = daily_summary(frame)
    assert list(out.columns[:3]) == ["region", "security_level", "day"]
    assert {"n", "errors", "error_rate", "error_rate_lo", "error_rate_hi", "n_ok"} <= set(out)
    assert {"p50", "p95_lo", "p99_hi"} <= set(out)
    assert out["day"].dt.tz is not None and (out["day"] == out["day"].dt.floor("D")).all()
    assert out["day"].nunique() >= 3
    assert out["n"].sum() == len(frame)


def test_hourly_series_fills_gaps_with_empty_hours() -> None:
    rows = [
        {"started_at": "2026-03-01T10:05:00Z", "latency_ms": 100.0},
        {"started_at": "2026-03-01T10:35:00Z", "latency_ms": 300.0, "outcome": "api_error"},
        {"started_at": "2026-03-01T13:10:00Z", "latency_ms": 200.0},
    ]
    frame = schema_frame(
        pd.DataFrame(
            [
                {
                    "action": "GenerateReflectSequence",
                    "region": "ap-hongkong",
                    "security_level": "1",
                    "outcome": "ok",
                    "attempt": 1,
                    **r,
                }
                for r in rows
            ]
        )
    )
    out = hourly_series(frame)
    assert out["hour"].dt.hour.tolist() == [10, 11, 12, 13]
    assert out["n"].tolist() == [2, 0, 0, 1]
    assert out["errors"].tolist() == [1, 0, 0, 0]
    assert out["error_rate"].iloc[0] == 0.5
    assert pd.isna(out["error_rate"].iloc[1]) and pd.isna(out["p95"].iloc[1])
    assert out["p95"].iloc[0] == 100.0  # only the successful call has a service latency
    by_region = hourly_series(frame, by="region", fill=False)
    assert by_region["n"].tolist() == [2, 1]
    assert by_region.attrs["by"] == ["region"]


def test_hourly_series_takes_one_quantile() -> None:
    frame = draw_log(Profile.default(), 6, 20)
    out = hourly_series(frame, quantile=0.5)
    assert {"p50", "p50_lo", "p50_hi"} <= set(out.columns)
    assert "p95" not in out.columns
    with pytest.raises(ValueError):
        hourly_series(frame, quantile=1.5)
