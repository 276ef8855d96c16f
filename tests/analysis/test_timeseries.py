"""Hourly series, the combined summary table and the daily summary."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize(("rate", "expected"), [(5.0, "minute"), (0.01, "hour"), (0.0002, "day")])
def test_the_bucket_follows_the_span_of_the_data(rate: float, expected: str) -> None:
    from faceid_tools.analysis import time_bucket, time_series

    frame = draw_log(Profile.default(), 8, 20, rate=rate)  # 240 calls: ~1 min, ~7 h, ~14 d
    assert time_bucket(frame) == expected
    series = time_series(frame, by="region", per="call")
    assert series.attrs["bucket"] == expected and expected in series.columns
    stamps = series[expected]
    assert (stamps == stamps.dt.floor({"minute": "min", "hour": "h", "day": "D"}[expected])).all()
    assert series["n"].sum() == frame["call_id"].nunique()
    assert stamps.min() <= frame["started_at"].min() and stamps.max() <= frame["started_at"].max()


def test_minute_series_agree_on_both_paths(tmp_path: Path) -> None:
    from faceid_tools.analysis import time_series

    from ._logs import write_parquet

    frame = draw_log(Profile.default(), 9, 30, retries=1, rate=2.0)
    folder = write_parquet(frame, tmp_path / "ds")
    a = time_series(frame, by="region", bucket="minute")
    b = time_series(folder, by="region", bucket="minute")
    pd.testing.assert_frame_equal(a, b)
