"""SLO verdicts decided by intervals, the verdict matrix and the top findings."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from faceid_tools.analysis import SLO, Finding, slo_verdicts, verdict_matrix
from faceid_tools.analysis import top_findings as finding_records
from faceid_tools.analysis.decisions import cell_decisions, key_rows, probe_plan
from faceid_tools.analysis.review import calls_needed, verdict
from faceid_tools.emulator.profile import Profile
from faceid_tools.report.present import finding_text, top_findings

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
    everything = slo_verdicts(frame, slo)
    # every region × level × objective, with or without data; per region, per level, all calls
    assert len(everything) == (3 * 4 + 3 + 4 + 1) * 3
    assert list(dict.fromkeys(everything["grain"])) == [
        "region × security_level",
        "region",
        "security_level",
        "all calls",
    ]
    level = everything[everything["grain"] == "security_level"]
    assert level["region"].isna().all() and level["security_level"].notna().all()
    out = everything[everything["grain"] == "region × security_level"]
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
    assert "90% CI" in top_findings(frame, limit=1, confidence=0.9)[0]
    everything = top_findings(frame, limit=20)
    assert any("Median latency" in f and "ap-bangkok" in f for f in everything)
    assert any("lack the data" in f for f in everything)


def test_findings_are_numbers_and_the_page_writes_them(frame: pd.DataFrame) -> None:
    """analysis returns records with the figures; the sentences are the page's, one per record."""
    slo = SLO(p95_latency_ms=800, error_rate=0.01)
    records = finding_records(frame, slo, limit=20)
    assert records and all(isinstance(f, Finding) for f in records)
    assert not any(isinstance(v, str) and " " in v for f in records for v in f.values.values())
    assert [f.weight for f in records] == sorted((f.weight for f in records), reverse=True)
    first = records[0]
    assert first.kind == "slo" and first["lo"] <= first["estimate"] <= first["hi"]
    assert [finding_text(f) for f in records] == top_findings(frame, slo, limit=20)


def test_pooled_rows_leave_the_pooled_keys_empty(frame: pd.DataFrame) -> None:
    out = slo_verdicts(frame, SLO(p95_latency_ms=800, error_rate=0.01, integrity_rate=0.99))
    region = out[out["grain"] == "region"]
    assert region["region"].notna().all() and region["security_level"].isna().all()
    overall = out[out["grain"] == "all calls"]
    assert overall[["region", "security_level"]].isna().all().all()
    assert set(overall["metric"]) == {"p95_latency_ms", "error_rate", "integrity_rate"}
    # a region's pooled calls are the sum of its cells'
    cells = out[out["grain"] == "region × security_level"]
    for metric in ("error_rate",):
        pooled = region[region["metric"] == metric].set_index("region")["n"]
        summed = cells[cells["metric"] == metric].groupby("region", observed=True)["n"].sum()
        assert (pooled.sort_index() == summed.sort_index()).all()
    assert int(overall[overall["metric"] == "error_rate"]["n"].iloc[0]) == int(
        cells[cells["metric"] == "error_rate"]["n"].sum()
    )
    assert slo_verdicts(frame, pooled=False)["grain"].nunique() == 1


def test_calls_needed_is_zero_when_decided_and_missing_when_hopeless(frame: pd.DataFrame) -> None:
    out = slo_verdicts(frame, SLO(p95_latency_ms=800, error_rate=0.01, integrity_rate=0.99))
    decided = out[out["verdict"].astype(str) != "not enough data"]
    assert (decided["calls_needed"] == 0).all()
    empty = out[(out["n"] == 0)]
    assert len(empty) and empty["calls_needed"].isna().all()
    assert (
        calls_needed("error_rate", 0.01, 0.001, 0.05, 0.01, False, 100, 100, "not enough data")
        is None
    )


@pytest.mark.parametrize("rate", [0.0, 0.004, 0.02])
def test_calls_needed_for_a_rate_decides_at_exactly_that_size(rate: float) -> None:
    """Wilson at n + calls_needed decides; one call fewer does not (calls = sequences here)."""
    from faceid_tools.analysis.intervals import wilson_interval

    n = 200
    lo, hi = wilson_interval(rate * n, n)
    more = calls_needed(
        "error_rate", rate, float(lo), float(hi), 0.01, False, n, n, "not enough data"
    )
    assert more is not None and more > 0

    def decides(size: int) -> bool:
        a, b = wilson_interval(rate * size, size)
        return verdict(float(a), float(b), 0.01) != "not enough data"

    assert decides(n + more) and not decides(n + more - 1)


def test_calls_needed_for_the_p95_scales_the_interval() -> None:
    # estimate 700, upper bound 900 (200 above), threshold 800 (100 above): 4x the successes
    more = calls_needed(
        "p95_latency_ms", 700.0, 600.0, 900.0, 800.0, False, 100, 125, "not enough data"
    )
    assert more == math.ceil((401 - 100) * 125 / 100)
    # an unbounded side gives no number
    assert (
        calls_needed(
            "p95_latency_ms", 700.0, 600.0, math.nan, 800.0, False, 30, 30, "not enough data"
        )
        is None
    )


def test_calls_needed_predicts_a_decision_on_more_data() -> None:
    """Draw a log, compute calls_needed for an undecided cell, draw that many more: it decides
    in most seeds (the estimate moves, so not always)."""
    profile = Profile.default()
    decided = 0
    tried = 0
    for seed in range(6):
        small = draw_log(
            profile,
            100 + seed,
            {("ap-singapore", "1"): 150},
            regions=["ap-singapore"],
            levels=["1"],
        )
        v = slo_verdicts(small, SLO(p95_latency_ms=420.0), by="region", pooled=False)
        row = v[(v["metric"] == "p95_latency_ms") & (v["region"] == "ap-singapore")].iloc[0]
        if str(row["verdict"]) != "not enough data" or pd.isna(row["calls_needed"]):
            continue
        tried += 1
        total = 150 + int(row["calls_needed"])
        big = draw_log(
            profile,
            100 + seed,
            {("ap-singapore", "1"): total},
            regions=["ap-singapore"],
            levels=["1"],
        )
        again = slo_verdicts(big, SLO(p95_latency_ms=420.0), by="region", pooled=False)
        mine = again[(again["metric"] == "p95_latency_ms") & (again["region"] == "ap-singapore")]
        decided += str(mine["verdict"].iloc[0]) != "not enough data"
    assert tried >= 3
    assert decided >= tried // 2


def test_a_cell_verdict_rests_on_the_cells_own_data(frame: pd.DataFrame) -> None:
    out = slo_verdicts(frame, SLO(p95_latency_ms=800, error_rate=0.01, integrity_rate=0.99))
    decisions = cell_decisions(out)
    cells = decisions[decisions["grain"] == "region × security_level"]
    cells = cells.set_index(["region", "security_level"])
    assert len(cells) == 12
    bangkok = cells.loc[("ap-bangkok", "1")]
    assert bangkok["verdict"] == "fail"
    assert {"p95_latency_ms", "error_rate"} <= set(bangkok["fails"])
    assert cells.loc[("ap-singapore", "1"), "verdict"] == "pass"
    # ap-bangkok fails as a whole, but its cells without calls are open, not failing
    region = decisions[decisions["grain"] == "region"].set_index("region")
    assert region.loc["ap-bangkok", "verdict"] == "fail"
    empty = cells.loc[("ap-bangkok", "3")]
    assert empty["verdict"] == "not enough data" and empty["calls"] == 0
    assert set(empty["open"]) == {"p95_latency_ms", "error_rate", "integrity_rate"}
    assert pd.isna(empty["calls_needed"])  # no calls: no estimate to extrapolate from
    # each cell's verdict is the worst of its own three rows, never another grain's
    own = out[out["grain"] == "region × security_level"]
    rank = {"pass": 0, "not enough data": 1, "fail": 2}
    for (r, lv), block in own.groupby(["region", "security_level"], observed=True):
        worst = max(block["verdict"].astype(str), key=rank.__getitem__)
        assert cells.loc[(r, lv), "verdict"] == worst
    assert len(own) == 36
    # margins: one per region, per level, and the corner, each with its own verdict
    assert (decisions["grain"] == "security_level").sum() == 4
    corner = decisions[decisions["grain"] == "all calls"]
    assert len(corner) == 1 and corner[["region", "security_level"]].isna().all().all()
    rows = key_rows(out)
    assert set(rows["verdict"].astype(str)) <= {"fail", "not enough data"}
    assert len(rows) == int((out["verdict"].astype(str) != "pass").sum())


def test_group_findings_never_say_an_open_cell_fails() -> None:
    data = Profile.default().as_dict()
    data["regions"]["ap-bangkok"]["faults"]["InternalError"] = 0.03
    frame = draw_log(Profile.from_dict(data, name="flaky"), 5, 120, downloads=1.0)
    out = slo_verdicts(frame)
    region = out[(out["grain"] == "region") & (out["metric"] == "error_rate")]
    assert region.set_index("region").loc["ap-bangkok", "verdict"] == "fail"
    findings = top_findings(frame, limit=20)
    whole = [f for f in findings if f.startswith("ap-bangkok as a whole fails the error rate")]
    assert len(whole) == 1, findings
    cells = out[(out["grain"] == "region × security_level") & (out["metric"] == "error_rate")]
    bangkok = cells[cells["region"] == "ap-bangkok"].set_index("security_level")["verdict"]
    open_ = [str(lv) for lv, v in bangkok.items() if v == "not enough data"]
    assert open_, "the fixture needs open ap-bangkok cells"
    listed = " and ".join([", ".join(open_[:-1]), open_[-1]]) if len(open_) > 1 else open_[0]
    noun = "levels" if len(open_) > 1 else "level"
    assert f"its {noun} {listed} {'are' if len(open_) > 1 else 'is'} not yet decided" in whole[0]


def test_probe_plan_sums_what_each_open_cell_needs(frame: pd.DataFrame) -> None:
    out = slo_verdicts(frame, SLO(p95_latency_ms=800, error_rate=0.01, integrity_rate=0.99))
    plan = probe_plan(out)
    assert plan is not None
    decisions = cell_decisions(out)
    cells = decisions[decisions["grain"] == "region × security_level"]
    open_ = cells[cells["open"].map(len) > 0]
    assert plan.cells == len(open_)
    known = open_["calls_needed"].dropna().astype(int)
    assert plan.calls == int(known.sum()) and plan.per_cell == int(known.max())
    assert plan.unreachable == len(open_) - len(known)
    assert set(plan.regions) == {str(v) for v in open_["region"]}  # cells without calls too
    assert plan.minutes(5.0) == pytest.approx(plan.calls / 300)
    from tests.fixtures.worktree import SAMPLE  # the shipped sample, named: never make demo's log

    sample = probe_plan(slo_verdicts(SAMPLE / "calls.sqlite"))
    assert sample is not None and sample.cells > 1
    assert sample.calls < sample.per_cell * sample.cells  # summed, not the largest × cells


def test_the_shipped_sample_decides_every_objective_somewhere() -> None:
    """The sample the repository ships (and a wheel carries), named: never data/calls.sqlite,
    which ``make demo`` or ``faceid-tools probe`` may have left in the checkout."""
    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "calls.sqlite"
    out = slo_verdicts(sample)  # the default objectives, untouched
    decided = out[out["verdict"].astype(str) != "not enough data"]
    assert set(decided["metric"]) == {"p95_latency_ms", "error_rate", "integrity_rate"}
    cells = decided[decided["grain"] == "region × security_level"]
    assert (cells["metric"] == "p95_latency_ms").sum() >= 9
