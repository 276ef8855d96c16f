"""Issue 12, point 2: ``compare_to_baseline`` against the truth of the emulator's profiles.

Logs are drawn with :func:`faceid_tools.simulate.draw` (the emulator's behaviour model on a virtual
clock, no HTTP) and turned into call-log rows by the simulator's own row builder.  The profiles'
parameters give the true change of every metric: ``Profile.latency_quantile`` (a mixture over the
levels when the groups are regions), ``Profile.error_rate``; integrity and duplicate rates are
the same on both sides, so their true change is 0.  Over 50 seeds:

* identical profiles (two independent logs of one profile): a ``regressed``/``improved`` verdict
  anywhere in a seed's table in at most 5% of seeds, and intervals covering 0 in 90–99% of rows;
* planted regressions (ap-bangkok's median +80 ms; ap-singapore's error rate 0.5% → 2.5%): found
  in at least 90% of seeds (the latency one per region × level cell, the error one per region,
  where its calls are), intervals covering the true change in 90–99% of rows, and no verdict on
  the rows the profiles leave unchanged in more than 5% of seeds.

Run with ``-s`` to see the figures; ``-m slow`` runs a 200-seed version with larger logs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from faceid_tools.analysis import compare_to_baseline
from faceid_tools.calllog.load import apply_types
from faceid_tools.client.regions import REGIONS, SECURITY_LEVELS
from faceid_tools.emulator.profile import TIMEOUT_CODE, Profile
from faceid_tools.simulate import SequencePool, draw, iter_row_batches, to_epoch_us

DEFAULT = Profile.default()
SLOW, FAST_ERRORS, LATENCY_SHIFT_MS = "ap-bangkok", "ap-singapore", 80.0
VERDICT = ("regressed", "improved")


def _faults_for(total: float) -> dict[str, float]:
    """Fault rates that make one attempt fail with probability ``total`` (timeouts included)."""
    p_timeout = DEFAULT.timeout_rate()
    faults = (total - p_timeout) / (1 - p_timeout)
    return {
        "InternalError": faults - 0.002,
        "ServiceUnavailable": 0.001,
        "FailedOperation.DownLoadError": 0.001,
    }


def profile(changed: bool) -> Profile:
    """The baseline profile (ap-singapore fails 0.5% of calls) or the one with both regressions."""
    data = DEFAULT.as_dict()
    data["regions"][FAST_ERRORS]["faults"] = _faults_for(0.025 if changed else 0.005)
    if changed:  # the whole lognormal moves up by 80 ms at the median, its shape kept
        slow = data["regions"][SLOW]
        scale = (slow["median_ms"] + LATENCY_SHIFT_MS) / slow["median_ms"]
        slow["median_ms"] *= scale
        slow["p99_ms"] *= scale
    return Profile.from_dict(data, name="changed" if changed else "baseline")


BASE, CHANGED = profile(False), profile(True)


@cache
def _pool() -> SequencePool:
    return SequencePool.build(np.random.default_rng(7))


def simulated_log(prof: Profile, seed: int, per_cell: int) -> pd.DataFrame:
    """A call log of ``per_cell`` calls per region × level, as ``load_calls`` would return it."""
    n = per_cell * len(REGIONS) * len(SECURITY_LEVELS)
    draws = draw(n, prof, seed=seed, start_us=to_epoch_us(None), rate=5.0, pool=_pool())
    frame = pd.concat(
        [pd.DataFrame(b) for b in iter_row_batches(draws, f"seed-{seed}", n)], ignore_index=True
    )
    return apply_types(frame)


def true_quantile(prof: Profile, region: str, level: str | None, q: float) -> float:
    """The q-quantile of successful calls' latency in a cell, or over a region's (equal) levels."""
    if level is not None:
        return prof.latency_quantile(region, level, q)
    ln = prof.latency[region]
    extras = [prof.level_extra_ms[lv] for lv in SECURITY_LEVELS]

    def cdf(x: float) -> float:
        return float(np.mean([norm.cdf((math.log(x - e) - ln.mu) / ln.sigma) if x > e else 0.0
                              for e in extras]))  # fmt: skip

    return float(brentq(lambda x: cdf(x) - q, max(extras) + 1e-9, 1e6))


def true_change(metric: str, region: str, level: str | None) -> float:
    if metric in ("p50_latency_ms", "p95_latency_ms"):
        q = 0.5 if metric == "p50_latency_ms" else 0.95
        return true_quantile(CHANGED, region, level, q) - true_quantile(BASE, region, level, q)
    if metric == "error_rate":
        return CHANGED.error_rate(region) - BASE.error_rate(region)
    return 0.0  # integrity and duplicate rates: the same profile parameters on both sides


class Tally:
    def __init__(self) -> None:
        self.hits: dict[str, list[bool]] = defaultdict(list)

    def add(self, name: str, values: object) -> None:
        self.hits[name] += [bool(v) for v in np.atleast_1d(np.asarray(values))]

    def rate(self, name: str) -> float:
        return float(np.mean(self.hits[name]))

    def show(self, title: str) -> None:
        print(f"\n{title}")
        for name, values in self.hits.items():
            print(f"  {name:58s} {np.mean(values):6.1%}  (of {len(values)})")


def covered(table: pd.DataFrame, truth: np.ndarray) -> np.ndarray:
    ok = table["change_lo"].notna().to_numpy()
    lo, hi = table["change_lo"].to_numpy(float), table["change_hi"].to_numpy(float)
    # a rate whose both sides hold no event has the exact interval [-x, +x] around 0
    return ((lo <= truth + 1e-12) & (truth - 1e-12 <= hi))[ok]


def identical_profiles(seeds: range, per_cell: int) -> Tally:
    t = Tally()
    for seed in seeds:
        base = simulated_log(BASE, 10_000 + 2 * seed, per_cell)
        now = simulated_log(BASE, 10_001 + 2 * seed, per_cell)
        table = compare_to_baseline(now, base)
        t.add("seeds with any regressed/improved verdict", table["verdict"].isin(VERDICT).any())
        for metric, block in table.groupby("metric", sort=False):
            t.add(f"coverage of 0: {metric}", covered(block, np.zeros(len(block))))
        t.add("coverage of 0: all rows", covered(table, np.zeros(len(table))))
        t.add("rows without enough data", table["verdict"] == "not enough data")
    return t


def planted_regressions(seeds: range, per_cell: int) -> Tally:
    t = Tally()
    for seed in seeds:
        base = simulated_log(BASE, 20_000 + seed, per_cell)
        now = simulated_log(CHANGED, 30_000 + seed, per_cell)
        cells = compare_to_baseline(now, base)
        regions = compare_to_baseline(now, base, by="region")
        for table, level_of in ((cells, lambda r: str(r)), (regions, lambda r: None)):
            truth = np.array(
                [true_change(m, r, level_of(lv) if "security_level" in table else None)
                 for m, r, lv in zip(table["metric"], table["region"],
                                     table.get("security_level", table["region"]), strict=True)]
            )  # fmt: skip
            kind = "cell" if "security_level" in table else "region"
            t.add(f"coverage of the true change, per {kind}", covered(table, truth))
            for metric in ("p50_latency_ms", "p95_latency_ms", "error_rate"):
                at = (table["metric"] == metric).to_numpy()
                t.add(f"  coverage, per {kind}: {metric}", covered(table[at], truth[at]))
            changed = np.abs(truth) > 1e-9
            t.add(
                f"seeds with a verdict on an unchanged row, per {kind}",
                table["verdict"][~changed].isin(VERDICT).any(),
            )
        p50 = cells[(cells["region"] == SLOW) & (cells["metric"] == "p50_latency_ms")]
        t.add(f"{SLOW} p50 +80 ms found, per cell", (p50["verdict"] == "regressed").to_numpy())
        row = regions[(regions["region"] == SLOW) & (regions["metric"] == "p50_latency_ms")]
        t.add(f"{SLOW} p50 +80 ms found, per region", row["verdict"].iloc[0] == "regressed")
        row = regions[(regions["region"] == FAST_ERRORS) & (regions["metric"] == "error_rate")]
        t.add(f"{FAST_ERRORS} errors 0.5% → 2.5% found", row["verdict"].iloc[0] == "regressed")
    return t


def test_the_profiles_plant_what_they_say() -> None:
    assert BASE.error_rate(FAST_ERRORS) == pytest.approx(0.005)
    assert CHANGED.error_rate(FAST_ERRORS) == pytest.approx(0.025)
    assert true_change("p50_latency_ms", SLOW, "1") == pytest.approx(LATENCY_SHIFT_MS)
    assert true_change("p50_latency_ms", "ap-hongkong", "3") == 0
    assert TIMEOUT_CODE in BASE.error_rates(SLOW)
    # the mixture quantile of a region is between its levels' quantiles
    mix = true_quantile(BASE, SLOW, None, 0.5)
    assert BASE.latency_quantile(SLOW, "1", 0.5) < mix < BASE.latency_quantile(SLOW, "4", 0.5)


def check_identical(t: Tally) -> None:
    assert t.rate("seeds with any regressed/improved verdict") <= 0.05
    for name in ("p50_latency_ms", "p95_latency_ms"):
        assert 0.90 <= t.rate(f"coverage of 0: {name}") <= 0.99, name
    # rare events (0.3–1% of calls in groups of 150): Newcombe's interval is conservative
    for name in ("error_rate", "integrity_rate", "duplicate_rate"):
        assert t.rate(f"coverage of 0: {name}") >= 0.90, name
    assert 0.90 <= t.rate("coverage of 0: all rows") <= 0.99


def check_planted(t: Tally) -> None:
    for kind in ("cell", "region"):
        assert 0.90 <= t.rate(f"coverage of the true change, per {kind}") <= 0.99
        assert t.rate(f"seeds with a verdict on an unchanged row, per {kind}") <= 0.05
    assert t.rate(f"{SLOW} p50 +80 ms found, per cell") >= 0.90
    assert t.rate(f"{SLOW} p50 +80 ms found, per region") >= 0.90
    assert t.rate(f"{FAST_ERRORS} errors 0.5% → 2.5% found") >= 0.90


def test_identical_profiles_50_seeds() -> None:
    t = identical_profiles(range(50), per_cell=150)
    t.show("identical profiles, 50 seeds × 2 logs of 1,800 calls")
    check_identical(t)


def test_planted_regressions_50_seeds() -> None:
    t = planted_regressions(range(50), per_cell=450)
    t.show("planted regressions, 50 seeds × 2 logs of 5,400 calls")
    check_planted(t)


@pytest.mark.slow
def test_identical_profiles_200_seeds() -> None:
    t = identical_profiles(range(100, 300), per_cell=600)
    t.show("identical profiles, 200 seeds × 2 logs of 7,200 calls")
    check_identical(t)


@pytest.mark.slow
def test_planted_regressions_200_seeds() -> None:
    t = planted_regressions(range(100, 300), per_cell=600)
    t.show("planted regressions, 200 seeds × 2 logs of 7,200 calls")
    check_planted(t)
