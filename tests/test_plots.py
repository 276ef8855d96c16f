"""Plots render on an Agg figure, return their Axes, label the axes with units, never show()."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from faceid_tools import analysis, plots
from faceid_tools.emulator.profile import Profile
from tests.analysis._logs import draw_log


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return draw_log(Profile.default(), 31, 60, retries=1, downloads=1.0, rate=0.05)


CASES: list[tuple[str, Callable[[pd.DataFrame], Any], Callable[..., Axes], str, str]] = [
    ("ecdf", lambda d: analysis.latency_ecdf(d), plots.latency_ecdf, "ms", "%"),
    (
        "levels",
        lambda d: analysis.latency_summary(d, ("region", "security_level")),
        plots.latency_by_level,
        "level",
        "ms",
    ),
    ("errors", lambda d: analysis.error_rates(d, "region"), plots.error_rate_bars, "Region", "%"),
    (
        "errors by cell",
        lambda d: analysis.error_rates(d, ("region", "security_level"), per="call"),
        plots.error_rate_bars,
        "Security level",
        "calls",
    ),
    ("heatmap", lambda d: analysis.summary_table(d), plots.heatmap, "level", "Region"),
    ("hourly", lambda d: analysis.hourly_series(d, by="region"), plots.hourly_series, "UTC", "ms"),
    (
        "time series",
        lambda d: analysis.time_series(d, by="region", per="call"),
        plots.time_series,
        "UTC",
        "calls",
    ),
    (
        "entropy",
        lambda d: analysis.property_histogram(d, "seq_entropy"),
        plots.sequence_property,
        "bits/byte",
        "count",
    ),
    (
        "forest",
        lambda d: analysis.compare_latency(d, "security_level", within="region"),
        plots.comparison_forest,
        "ms",
        "Pair",
    ),
]


@pytest.mark.parametrize(
    ("name", "compute", "draw", "x_unit", "y_unit"), CASES, ids=[c[0] for c in CASES]
)
def test_plot_draws_on_the_given_axes_with_labelled_units(
    frame: pd.DataFrame,
    name: str,
    compute: Callable[[pd.DataFrame], Any],
    draw: Callable[..., Axes],
    x_unit: str,
    y_unit: str,
) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    returned = draw(compute(frame), ax=ax)
    assert returned is ax
    assert x_unit in ax.get_xlabel(), ax.get_xlabel()
    assert y_unit in ax.get_ylabel(), ax.get_ylabel()
    assert ax.get_title()
    assert ax.has_data() or ax.images
    fig.canvas.draw()  # renders without error on Agg


@pytest.mark.parametrize(
    "draw",
    [plots.latency_ecdf, plots.latency_by_level, plots.error_rate_bars, plots.heatmap,
     plots.hourly_series, plots.sequence_property],
)  # fmt: skip
def test_plot_computes_from_call_log_data_and_makes_its_own_figure(
    frame: pd.DataFrame, draw: Callable[..., Axes], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[bool] = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    before = set(plt.get_fignums())
    ax = draw(frame)
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() and ax.get_ylabel()
    assert set(plt.get_fignums()) - before  # a new figure, not someone else's axes
    assert not shown
    plt.close(ax.figure)


def test_the_ecdf_uses_a_log_latency_axis(frame: pd.DataFrame) -> None:
    ax = plots.latency_ecdf(frame, ax=Figure().add_subplot())
    assert ax.get_xscale() == "log"
    assert len(ax.get_lines()) == 3  # one line per region
    assert "log" in ax.get_xlabel()


def test_heatmap_of_error_rates_and_wrong_inputs(frame: pd.DataFrame) -> None:
    ax = plots.heatmap(analysis.summary_table(frame), "error_rate", ax=Figure().add_subplot())
    assert "%" in ax.figure.axes[-1].get_ylabel() or "share" in ax.figure.axes[-1].get_ylabel()
    with pytest.raises(ValueError, match="no 'p77'"):
        plots.heatmap(analysis.summary_table(frame), "p77", ax=Figure().add_subplot())
    with pytest.raises(ValueError, match="expected a result of"):
        plots.latency_ecdf(analysis.error_rates(frame), ax=Figure().add_subplot())
    with pytest.raises(ValueError, match="compare_latency"):
        plots.comparison_forest(analysis.error_rates(frame))


def _colours(ax: Axes) -> set[str]:
    from matplotlib.colors import to_hex

    found = {to_hex(line.get_color()) for line in ax.get_lines() if line.get_label()[:1] != "_"}
    found |= {to_hex(p.get_facecolor()) for p in ax.patches}
    return found


def test_one_colour_per_region_on_every_figure(frame: pd.DataFrame) -> None:
    """The same region has the same colour everywhere; p50 and p95 differ by marker, not colour."""
    expected = {
        plots.region_colour(r).lower() for r in ("ap-bangkok", "ap-hongkong", "ap-singapore")
    }
    assert len(expected) == 3
    ecdf = plots.latency_ecdf(frame, ax=Figure().add_subplot())
    assert _colours(ecdf) == expected
    levels = plots.latency_by_level(
        analysis.latency_summary(frame, ("region", "security_level")), ax=Figure().add_subplot()
    )
    by_label = {c.get_label(): c.lines[0] for c in levels.containers}
    lines = list(by_label.values())
    assert {str(line.get_color()).lower() for line in lines} == expected  # 6 series, 3 colours
    p50, p95 = by_label["ap-bangkok p50"], by_label["ap-bangkok p95"]
    assert p50.get_color() == p95.get_color() == plots.region_colour("ap-bangkok")
    assert p50.get_markerfacecolor() != p95.get_markerfacecolor()  # filled vs open
    assert p50.get_marker() != p95.get_marker() and p50.get_linestyle() != p95.get_linestyle()
    bars = plots.error_rate_bars(
        analysis.error_rates(frame, ("region", "security_level"), per="call"),
        ax=Figure().add_subplot(),
    )
    assert {p.get_facecolor()[:3] for p in bars.patches} == {
        tuple(int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)) for c in expected
    }
    series = plots.time_series(analysis.time_series(frame, by="region"), ax=Figure().add_subplot())
    assert _colours(series) >= expected


def test_a_zero_rate_is_a_visible_mark(frame: pd.DataFrame) -> None:
    rates = analysis.error_rates(frame, "region", per="call")
    rates.loc[:, ["rate", "rate_lo"]] = 0.0
    ax = plots.error_rate_bars(rates, ax=Figure().add_subplot())
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    ys = [y for line in dots for y in line.get_ydata()]
    assert ys and all(y == 0 for y in ys)  # a dot at zero for every region
    assert ax.get_ylim()[0] < 0  # and the axis leaves room below it, so the dot is whole


def test_the_time_axis_covers_the_data_not_years() -> None:
    """A one-minute campaign is drawn per minute on an axis of minutes."""
    short = draw_log(Profile.default(), 33, 5, rate=5.0)  # 60 calls in ~12 s
    series = analysis.time_series(short, per="call")
    assert series.attrs["bucket"] == "minute"
    ax = plots.time_series(series, "error_rate", ax=Figure().add_subplot())
    lo, hi = ax.get_xlim()
    assert (hi - lo) * 24 * 60 <= 3  # matplotlib dates are days: at most a few minutes wide
    assert "% of calls" in ax.get_ylabel() and "minute" in ax.get_xlabel()
    latency = plots.time_series(analysis.time_series(short), ax=Figure().add_subplot())
    assert "attempts" in latency.get_ylabel() and "ms" in latency.get_ylabel()
