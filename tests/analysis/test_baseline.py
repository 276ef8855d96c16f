"""Issue 12: compare_to_baseline and window on real logs (simulate → SQLite → Parquet export)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from faceid_tools import analysis
from faceid_tools.analysis.baseline import METRICS, newcombe_pvalue, quantile_difference
from faceid_tools.analysis.intervals import newcombe_interval, z_value
from faceid_tools.calllog.export import export
from faceid_tools.calllog.load import load_calls
from faceid_tools.emulator.profile import Profile
from faceid_tools.report import present
from faceid_tools.simulate import simulate

WEEK1, WEEK2 = "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"
COLUMNS = [
    "region",
    "security_level",
    "metric",
    "baseline",
    "current",
    "change",
    "change_lo",
    "change_hi",
    "n_baseline",
    "n_current",
    "p_holm",
    "verdict",
]


def slower_and_more_corrupt() -> Profile:
    data = Profile.default().as_dict()
    data["regions"]["ap-bangkok"]["median_ms"] = 330
    data["regions"]["ap-bangkok"]["p99_ms"] = 1500
    data["sequences"]["corrupt_rate"] = 0.03
    return Profile.from_dict(data, name="week 2")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One growing log: week 1 from the default profile, week 2 slower in Bangkok, with retries;
    and its Parquet export."""
    root = tmp_path_factory.mktemp("baseline")
    path = root / "calls.sqlite"
    simulate(3600, path, seed=1, start=WEEK1, retries=2, campaign_id="week-1")
    simulate(3600, path, profile=slower_and_more_corrupt(), seed=2, start=WEEK2, retries=2,
             campaign_id="week-2")  # fmt: skip
    export(path, root / "parquet", workers=1)
    return path, root / "parquet"


def test_one_log_compared_with_itself_by_period_and_by_campaign(log: tuple[Path, Path]) -> None:
    path, _ = log
    frame = load_calls(path)
    by_time = analysis.compare_to_baseline(
        analysis.window(frame, start=WEEK2), analysis.window(frame, end=WEEK2)
    )
    by_campaign = analysis.compare_to_baseline(
        analysis.window(path, campaign="week-2"), analysis.window(path, campaign=["week-1"])
    )
    assert list(by_time.columns) == COLUMNS
    assert len(by_time) == 12 * len(METRICS)
    pd.testing.assert_frame_equal(by_time, by_campaign)
    assert by_time.attrs["analysis"] == "compare_to_baseline"
    p50 = by_time[(by_time.metric == "p50_latency_ms") & (by_time.region == "ap-bangkok")]
    assert (p50.verdict == "regressed").all()
    assert ((p50.change_lo > 60) & (p50.change_hi < 200)).all()  # truth: +120 ms
    others = by_time[(by_time.region != "ap-bangkok") & by_time.metric.str.contains("latency")]
    assert not others.verdict.isin(["regressed", "improved"]).any()
    # integrity: lower is worse, so a drop from 99.7% to 97% regressed (pooled over every group)
    pooled = analysis.compare_to_baseline(
        analysis.window(frame, start=WEEK2), analysis.window(frame, end=WEEK2), by=None
    )
    integrity = pooled.set_index("metric").loc["integrity_rate"]
    assert integrity.change < 0 and integrity.change_hi < 0
    assert integrity.verdict == "regressed"


def test_parquet_dataset_gives_the_same_table_as_the_log(log: tuple[Path, Path]) -> None:
    path, parquet = log
    mid = "2026-03-09T00:06:00Z"  # inside week 2: some calls retry across this instant
    for cut in (dict(start=WEEK2), dict(campaign="week-2"), dict(start=WEEK2, end=mid)):
        frame_side = analysis.window(path, **cut)  # type: ignore[arg-type]
        duck_side = analysis.window(parquet, **cut)  # type: ignore[arg-type]
        base = analysis.window(parquet, end=WEEK2)
        a = analysis.compare_to_baseline(frame_side, analysis.window(path, end=WEEK2))
        b = analysis.compare_to_baseline(duck_side, base)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    # a window of a window narrows further, on both paths
    nested = [analysis.window(analysis.window(p, campaign="week-2"), end=mid) for p in log]
    counts = [analysis.error_rates(n, None, per="attempt")["n"].iloc[0] for n in nested]
    assert counts[0] == counts[1] > 0


def test_a_window_keeps_whole_calls(log: tuple[Path, Path]) -> None:
    path, parquet = log
    frame = load_calls(path)
    mid = pd.Timestamp("2026-03-09T00:06:00Z")
    first = frame.groupby("call_id")["started_at"].transform("min")
    straddling = frame[(first < mid) & (frame["started_at"] >= mid)]["call_id"].unique()
    assert len(straddling) > 0  # retries and downloads after the cut
    inside = analysis.window(frame, start=WEEK2, end=mid)
    kept = inside.frame  # type: ignore[union-attr]
    assert set(straddling) <= set(kept["call_id"])
    rows = kept.groupby("call_id").size()
    assert (rows == frame[frame.call_id.isin(rows.index)].groupby("call_id").size()).all()
    # the two windows partition the rows; the Parquet path counts the same
    after = analysis.window(frame, start=mid)
    assert len(kept) + len(after.frame) == (frame["started_at"] >= WEEK2).sum()  # type: ignore[union-attr]
    for part, cut in ((kept, dict(start=WEEK2, end=mid)), (after.frame, dict(start=mid))):  # type: ignore[union-attr]
        n = analysis.error_rates(analysis.window(parquet, **cut), None, per="attempt")["n"]  # type: ignore[arg-type]
        assert int(n.iloc[0]) == int((part["action"] == "GenerateReflectSequence").sum())


def test_holm_runs_over_the_whole_table_and_min_change_raises_the_bar(
    log: tuple[Path, Path],
) -> None:
    path, _ = log
    now, then = analysis.window(path, campaign="week-2"), analysis.window(path, campaign="week-1")
    table = analysis.compare_to_baseline(now, then)
    assert (table.p_holm.dropna() >= 0).all() and (table.p_holm.dropna() <= 1).all()
    decided = table[table.verdict.isin(["regressed", "improved"])]
    assert (decided.p_holm < 0.05).all()
    assert ((decided.change_lo > 0) | (decided.change_hi < 0)).all()
    strict = analysis.compare_to_baseline(now, then, min_change={"p50_latency_ms": 500.0})
    p50 = strict[strict.metric == "p50_latency_ms"]
    assert not (p50.verdict == "regressed").any()
    assert strict.attrs["min_change"]["p50_latency_ms"] == 500.0


def test_a_group_missing_from_the_baseline_says_not_enough_data(log: tuple[Path, Path]) -> None:
    path, _ = log
    frame = load_calls(path)
    base = frame[(frame.started_at < WEEK2) & (frame.region != "ap-hongkong")]
    now = frame[frame.started_at >= WEEK2]
    table = analysis.compare_to_baseline(now, base)
    hk = table[table.region == "ap-hongkong"]
    assert len(hk) == 4 * len(METRICS)
    assert (hk.verdict == "not enough data").all()
    assert (hk.n_baseline == 0).all() and hk.change.isna().all()
    assert hk.current.notna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(min_change={"p99": 1.0}), "min_change: unknown metric 'p99'"),
        (dict(min_change={"error_rate": -0.01}), r"min_change\['error_rate'\]: must be"),
        (dict(by=("region", "nope")), "unknown group key 'nope'"),
        (dict(by="campaign_id"), "by: no campaign_id in common"),
        (dict(confidence=1.5), "confidence must be in"),
        (dict(per="session"), "per must be"),
    ],
)
def test_bad_arguments_get_one_line_naming_them(
    log: tuple[Path, Path], kwargs: dict[str, object], message: str
) -> None:
    path, _ = log
    now, then = analysis.window(path, campaign="week-2"), analysis.window(path, campaign="week-1")
    with pytest.raises(ValueError, match=message) as err:
        analysis.compare_to_baseline(now, then, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_disjoint_regions_and_empty_sides_are_refused(log: tuple[Path, Path]) -> None:
    path, _ = log
    frame = load_calls(path)
    with pytest.raises(ValueError, match=r"by: no region in common .*ap-bangkok.*ap-singapore"):
        analysis.compare_to_baseline(
            frame[frame.region == "ap-bangkok"], frame[frame.region == "ap-singapore"]
        )
    with pytest.raises(ValueError, match="baseline: no GenerateReflectSequence calls"):
        analysis.compare_to_baseline(frame, frame[frame.action == "DownloadSequence"])
    with pytest.raises(ValueError, match="end must be after start"):
        analysis.window(frame, start=WEEK2, end=WEEK1)
    with pytest.raises(ValueError, match="start: not an ISO-8601"):
        analysis.window(frame, start="last tuesday")
    with pytest.raises(ValueError, match="campaign must be"):
        analysis.window(frame, campaign=[])


def test_the_same_data_as_baseline_warns(log: tuple[Path, Path]) -> None:
    path, parquet = log
    for a, b in ((path, path), (analysis.source(parquet), analysis.source(path))):
        with pytest.warns(UserWarning, match="baseline: the same data as the current one"):
            table = analysis.compare_to_baseline(a, b)
        assert (table.change.dropna() == 0).all()
        assert not table.verdict.isin(["regressed", "improved"]).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analysis.compare_to_baseline(
            analysis.window(path, campaign="week-2"), analysis.window(path, campaign="week-1")
        )


def test_the_rate_test_is_the_inverted_interval() -> None:
    rng = np.random.default_rng(3)
    n1, n2 = rng.integers(1, 3000, 400), rng.integers(1, 3000, 400)
    k1 = rng.binomial(n1, rng.uniform(0, 0.05, 400))
    k2 = rng.binomial(n2, rng.uniform(0, 0.05, 400))
    p = newcombe_pvalue(k1, n1, k2, n2)
    for confidence in (0.9, 0.95, 0.99):
        _, lo, hi = newcombe_interval(k1, n1, k2, n2, confidence)
        excludes = (lo > 0) | (hi < 0)
        clear = np.abs(p - (1 - confidence)) > 1e-6  # not on the boundary itself
        assert (excludes[clear] == (p[clear] < 1 - confidence)).all()
    assert newcombe_pvalue(0, 100, 0, 100) == 1.0
    assert np.isnan(newcombe_pvalue(1, 0, 1, 10))


def test_the_quantile_interval_and_test_agree() -> None:
    # the same n, estimates and order-statistic bounds on both sides: change 0, p = 1
    diff, lo, hi, p = quantile_difference((100.0, 90.0, 112.0, 400), (100.0, 90.0, 112.0, 400),
                                          0.5, z_value(0.95))  # fmt: skip
    assert diff == 0 and lo < 0 < hi and p == 1
    diff, lo, hi, p = quantile_difference((100.0, 90.0, 112.0, 400), (160.0, 150.0, 175.0, 400),
                                          0.5, z_value(0.95))  # fmt: skip
    assert diff == 60 and 0 < lo < 60 < hi and p < 1e-6
    # too few values for a p95 bound: no interval, no test
    _, lo, hi, p = quantile_difference((100.0, np.nan, np.nan, 20), (160.0, 150.0, 175.0, 400),
                                       0.95, z_value(0.95))  # fmt: skip
    assert np.isnan(lo) and np.isnan(hi) and np.isnan(p)


def test_the_review_section_from_one_log(log: tuple[Path, Path]) -> None:
    _path, parquet = log
    now, then = analysis.window(parquet, start=WEEK2), analysis.window(parquet, end=WEEK2)
    assert present.describe_data(then) == "3,600 calls, 1 campaign (week-1), 2026-03-02 (UTC)"
    span = analysis.describe_data(then)  # the figures; the page writes the line
    assert (span.calls, span.campaigns, span.unlabelled) == (3600, ["week-1"], False)
    changes = analysis.compare_to_baseline(now, then)
    matrix = analysis.change_matrix(changes)
    assert list(matrix.index) == ["ap-bangkok", "ap-hongkong", "ap-singapore"]
    assert list(matrix.columns) == ["1", "2", "3", "4"]
    assert (matrix.loc["ap-bangkok"] == "regressed").all()
    p95 = analysis.change_matrix(changes, "p95_latency_ms")
    assert set(p95.to_numpy().ravel()) <= {
        "regressed", "improved", "no evidence of change", "not enough data"
    }  # fmt: skip
    named = analysis.change_findings(changes, limit=3)
    assert list(named.named["verdict"]).count("regressed") == 3 and named.more["regressed"] > 0
    regressed = named.named[named.named["verdict"] == "regressed"]
    assert regressed["p_holm"].is_monotonic_increasing  # the strongest evidence first
    findings = present.change_findings(changes, limit=3)
    regressions = [f for f in findings if f.startswith("Regression:")]
    assert findings[: len(regressions)] == regressions and len(regressions) == 3
    assert all("95% CI" in f and "Holm-adjusted" in f for f in regressions)
    assert "more regressed rows" in findings[3]
    assert findings[-1].startswith("No evidence of change in ")
    with pytest.raises(ValueError, match="changes: expected the result"):
        analysis.change_matrix(matrix)
    with pytest.raises(ValueError, match="metric: no rows for 'p99'"):
        analysis.change_matrix(changes, "p99")


def test_nothing_changed_says_so(log: tuple[Path, Path]) -> None:
    path, _ = log
    frame = load_calls(path)
    week1 = frame[frame.started_at < WEEK2]
    half = week1.call_id.isin(week1.call_id.drop_duplicates().iloc[::2])
    changes = analysis.compare_to_baseline(week1[half], week1[~half], by="region")
    assert not analysis.change_findings(changes).any_change
    findings = present.change_findings(changes)
    assert findings[0] == "Nothing regressed or improved beyond chance since the baseline."
