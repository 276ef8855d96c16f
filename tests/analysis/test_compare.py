"""Pairwise comparisons: pairs, tests against scipy, effect sizes, Holm, and coherent verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from faceid_tools.analysis import compare_error_rates, compare_latency
from faceid_tools.analysis.intervals import holm, newcombe_interval

from ._logs import schema_frame


def two_regions(shift_ms: float, n: int = 300, seeds: range = range(3, 4)) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for region, extra in (("ap-hongkong", shift_ms), ("ap-singapore", 0.0)):
            for i, x in enumerate(rng.lognormal(5, 0.5, n) + extra):
                rows.append(
                    {
                        "campaign_id": f"seed-{seed}",
                        "call_id": f"{seed}-{region}-{i}",
                        "attempt": 1,
                        "action": "GenerateReflectSequence",
                        "region": region,
                        "security_level": str(1 + i % 4),
                        "outcome": "ok" if i % 25 else "api_error",
                        "error_code": None if i % 25 else "InternalError",
                        "latency_ms": float(x),
                        "started_at": "2026-03-01T00:00:00Z",
                    }
                )
    return schema_frame(pd.DataFrame(rows))


def test_latency_comparison_matches_scipy_and_reports_the_median_difference() -> None:
    frame = two_regions(40.0)
    out = compare_latency(frame)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["a"], row["b"]) == ("ap-hongkong", "ap-singapore")
    ok = frame[frame["outcome"] == "ok"]
    xa = ok.loc[ok["region"] == "ap-hongkong", "latency_ms"].to_numpy()
    xb = ok.loc[ok["region"] == "ap-singapore", "latency_ms"].to_numpy()
    ref = stats.mannwhitneyu(xa, xb, method="asymptotic")
    assert row["u_statistic"] == ref.statistic
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert row["median_a"] == np.sort(xa)[int(np.ceil(len(xa) / 2)) - 1]
    assert row["diff"] == pytest.approx(row["median_a"] - row["median_b"])
    assert row["diff_lo"] < row["diff"] < row["diff_hi"]
    assert row["significant"]
    assert row["diff_lo"] > 0  # the shift is 40 ms; the interval is wholly positive


def test_no_shift_is_not_significant() -> None:
    out = compare_latency(two_regions(0.0))
    assert not out["significant"].iloc[0]
    assert out["diff_lo"].iloc[0] < 0 < out["diff_hi"].iloc[0]


def test_levels_within_regions_and_holm_families() -> None:
    frame = two_regions(10.0)
    every = compare_latency(frame, "security_level", within="region")
    assert len(every) == 2 * 6  # six level pairs in each region
    assert list(every.columns[:3]) == ["region", "a", "b"]
    assert every["p_holm"].to_numpy() == pytest.approx(holm(every["p_value"].to_numpy()))
    per_region = compare_latency(frame, "security_level", within="region", family="within")
    for _, block in per_region.groupby("region", observed=True):
        assert block["p_holm"].to_numpy() == pytest.approx(holm(block["p_value"].to_numpy()))
    assert (per_region["p_holm"] <= every["p_holm"] + 1e-15).all()
    with pytest.raises(ValueError, match="family"):
        compare_latency(frame, family="some")  # type: ignore[arg-type]


def test_significance_needs_the_test_and_the_interval_to_agree() -> None:
    frame = two_regions(15.0, n=150, seeds=range(40))
    out = compare_latency(frame, within="campaign_id", family="within")
    assert len(out) == 40
    excludes_zero = (out["diff_lo"] > 0) | (out["diff_hi"] < 0)
    # the marker and the interval say the same thing: significant exactly when clear of zero
    assert out["significant"].tolist() == excludes_zero.tolist()
    assert (out.loc[out["significant"], "p_holm"] < 0.05).all()
    # Both kinds of disagreement occur here, so the rule is exercised, not just satisfied: a
    # rejected test whose interval includes 0 is not significant; an interval clear of 0 whose
    # test does not reject is widened to 0.
    assert ((out["p_holm"] < 0.05) & ~excludes_zero).any()


def test_an_interval_the_test_does_not_confirm_is_widened_to_zero() -> None:
    """Medians far apart, ranks balanced: A is 70% near 100 ms and 30% near 1,000 ms, B 29% near
    50 ms and 71% near 500 ms, so P(A > B) ≈ 0.5 (Mann–Whitney sees nothing) while the median
    difference (≈ −400 ms) has a narrow interval.  Shown as it is, an open marker would sit on an
    interval clear of zero; stretched to reach zero, the interval still covers."""
    rng = np.random.default_rng(7)
    frame = two_regions(0.0, n=400)
    ok = frame["outcome"] == "ok"
    for region, share, low, high in (
        ("ap-hongkong", 0.7, 100, 1000),
        ("ap-singapore", 0.29, 50, 500),
    ):
        rows = ok & (frame["region"] == region)
        low_mode = rng.random(int(rows.sum())) < share
        frame.loc[rows, "latency_ms"] = np.where(low_mode, low, high) + rng.normal(
            0, 3, int(rows.sum())
        )
    out = compare_latency(frame)
    row = out.iloc[0]
    assert row["p_holm"] > 0.05
    assert row["widened"] and not row["significant"]
    assert row["diff"] < -300 and row["diff_lo"] < row["diff"] and row["diff_hi"] == 0.0


def test_intervals_are_simultaneous_over_the_holm_family() -> None:
    frame = two_regions(0.0)
    frame.loc[frame.index[:30], ["outcome", "error_code"]] = ["api_error", "InternalError"]
    levels = compare_error_rates(frame, "security_level")  # one family of 6 pairs
    assert len(levels) == 6 and levels.attrs["intervals"] == "simultaneous"
    for row in levels.to_dict("records"):
        args = (row["errors_a"], row["n_a"], row["errors_b"], row["n_b"])
        _, lo, hi = newcombe_interval(*args, 1 - 0.05 / 6)
        if not row["widened"]:
            assert (row["diff_lo"], row["diff_hi"]) == pytest.approx((lo, hi))
    within = compare_error_rates(frame, "security_level", within="region", family="within")
    row = within.iloc[0]  # six pairs per region: the family is the region's
    args = (row["errors_a"], row["n_a"], row["errors_b"], row["n_b"])
    assert row["diff_lo"] == pytest.approx(newcombe_interval(*args, 1 - 0.05 / 6)[1])
    # at another confidence, the test's alpha follows it
    assert compare_latency(frame, confidence=0.9).attrs["alpha"] == pytest.approx(0.1)


def _agree(result: pd.DataFrame) -> None:
    excludes_zero = (result["diff_lo"] > 0) | (result["diff_hi"] < 0)
    assert result["significant"].tolist() == excludes_zero.tolist(), result.attrs
    assert (result.loc[result["significant"], "p_holm"] < result.attrs["alpha"]).all()


def _every_comparison(data: object, confidence: float = 0.95) -> list[pd.DataFrame]:
    out = []
    for kw in ({"between": "region"}, {"between": "security_level"},
               {"between": "security_level", "within": "region"}):  # fmt: skip
        out.append(compare_latency(data, confidence=confidence, **kw))  # type: ignore[arg-type]
        out.append(compare_error_rates(data, per="call", confidence=confidence, **kw))  # type: ignore[arg-type]
    return out


def test_markers_and_intervals_agree_on_the_sample() -> None:
    from tests.fixtures.worktree import SAMPLE  # the shipped sample, named: never make demo's log

    results = _every_comparison(SAMPLE / "calls.sqlite")
    for result in results:
        _agree(result)
    assert sum(int(r["significant"].sum()) for r in results) > 0  # filled markers exist too
    assert sum(int((~r["significant"]).sum()) for r in results) > 0


@pytest.mark.parametrize(("profile", "seed"), [("default", 1), ("default", 2), ("high-latency", 3)])
def test_markers_and_intervals_agree_on_simulated_logs(
    tmp_path: Path, profile: str, seed: int
) -> None:
    from faceid_tools.simulate import simulate

    log = tmp_path / "calls.sqlite"
    simulate(1200, log, profile=profile, seed=seed, retries=1)
    for confidence in (0.95, 0.9):
        for result in _every_comparison(log, confidence):
            _agree(result)


def test_error_rate_comparison_uses_fisher_and_newcombe() -> None:
    frame = two_regions(0.0)
    frame.loc[frame.index[:30], ["outcome", "error_code"]] = ["api_error", "InternalError"]
    out = compare_error_rates(frame)
    row = out.iloc[0]
    ea, na, eb, nb = (int(row[c]) for c in ("errors_a", "n_a", "errors_b", "n_b"))
    assert (na, nb) == (300, 300)
    assert row["p_value"] == pytest.approx(
        stats.fisher_exact([[ea, na - ea], [eb, nb - eb]]).pvalue
    )
    diff, lo, hi = newcombe_interval(ea, na, eb, nb)
    assert (row["diff"], row["diff_lo"], row["diff_hi"]) == pytest.approx((diff, lo, hi))
    assert row["rate_a"] == ea / na


def test_a_group_missing_from_the_data_makes_no_pair() -> None:
    frame = two_regions(0.0)
    only_one = frame[frame["region"] == "ap-singapore"]
    assert compare_latency(only_one).empty
    assert compare_error_rates(only_one).empty
