"""SLO verdicts decided by intervals, the verdict matrix and the top findings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from faceid_tools.analysis import SLO, slo_verdicts, top_findings, verdict_matrix
from faceid_tools.analysis.review import verdict
from faceid_tools.emulator.profile import Profile

from ._logs import draw_log


@pytest.mark.parametrize(
    ("lo", "hi", "higher", "expected"),
    [
        (100, 700, False, "pass"),  # wholly at or below 800
        (100, 800, False, "pass"),
        (700, 900, False, "not enough data"),
        (801, 950, False, "fail"),
        (801, math.nan, False, "fail"),  # unbounded above, but already too slow
        (100, math.nan, False, "not enough data"),
        (math.nan, math.nan, False, "not enough data"),
        (0.996, 0.999, True, "pass"),  # integrity at least 0.995
        (0.990, 0.999, True, "not enough data"),
        (0.980, 0.994, True, "fail"),
    ],
)
def test_the_interval_decides(lo: float, hi: float, higher: bool, expected: str) -> None:
    threshold = 0.995 if higher else 800.0
    assert verdict(lo, hi, threshold, higher) == expected


def review_profile() -> Profile:
    data = Profile.default().as_dict()
    data["regions"]["ap-bangkok"].update(median_ms=1500, p99_ms=6000)  # far too slow
    data["regions"]["ap-bangkok"]["faults"]["InternalError"] = 0.08  # and flaky
    data["regions"]["ap-singapore"]["faults"] = {
        k: 0.0 for k in data["regions"]["ap-singapore"]["faults"]
    }
    data["download"]["timeout_ms"] = 100_000  # no download timeouts anywhere
    data["sequences"].update(corrupt_rate=0.0, duplicate_rate=0.0)
    return Profile.from_dict(data, name="review")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    cells = {(r, "1"): 3000 for r in ("ap-bangkok", "ap-singapore")} | {("ap-hongkong", "1"): 15}
    return draw_log(review_profile(), 21, cells, downloads=0.5)


def test_verdicts_per_cell(frame: pd.DataFrame) -> None:
    slo = SLO(p95_latency_ms=800, error_rate=0.01, integrity_rate=0.99)
    out = slo_verdicts(frame, slo)
    assert len(out) == 3 * 4 * 3  # every region × level × objective, with or without data
    cell = out.set_index(["region", "security_level", "metric"])
    assert cell.loc[("ap-singapore", "1", "p95_latency_ms"), "verdict"] == "pass"
    assert cell.loc[("ap-singapore", "1", "error_rate"), "verdict"] == "pass"
    assert cell.loc[("ap-singapore", "1", "integrity_rate"), "verdict"] == "pass"
    assert cell.loc[("ap-bangkok", "1", "p95_latency_ms"), "verdict"] == "fail"
    assert cell.loc[("ap-bangkok", "1", "error_rate"), "verdict"] == "fail"
    assert cell.loc[("ap-hongkong", "1", "p95_latency_ms"), "verdict"] == "not enough data"
    empty = cell.loc[("ap-singapore", "3", "error_rate")]
    assert empty["verdict"] == "not enough data" and empty["n"] == 0
    assert cell.loc[("ap-bangkok", "1", "p95_latency_ms"), "lo"] > 800
    assert set(out["objective"]) == {"≤", "≥"}
    assert out.attrs["slo"]["p95_latency_ms"] == 800


def test_matrix_shows_the_worst_verdict_per_cell(frame: pd.DataFrame) -> None:
    out = slo_verdicts(frame, SLO(p95_latency_ms=800, error_rate=0.01, integrity_rate=0.99))
    matrix = verdict_matrix(out)
    assert matrix.shape == (3, 4)
    assert matrix.loc["ap-bangkok", "1"] == "fail"
    assert matrix.loc["ap-singapore", "1"] == "pass"
    assert matrix.loc["ap-singapore", "2"] == "not enough data"
    assert verdict_matrix(out, "error_rate").loc["ap-hongkong", "1"] == "not enough data"
    with pytest.raises(ValueError):
        verdict_matrix(out, "throughput")


def test_top_findings_lead_with_the_failures(frame: pd.DataFrame) -> None:
    findings = top_findings(frame, SLO(p95_latency_ms=800, error_rate=0.01), limit=3)
    assert len(findings) == 3
    assert all(isinstance(f, str) and f.endswith(".") for f in findings)
    assert "fails its SLO" in findings[0] and "ap-bangkok level 1" in findings[0]
    assert "fails its SLO" in findings[1]
    assert "95% CI" in findings[0]
    everything = top_findings(frame, limit=20)
    assert any("Median latency" in f and "ap-bangkok" in f for f in everything)
    assert any("lack the data" in f for f in everything)
