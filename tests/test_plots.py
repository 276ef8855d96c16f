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
        "Region",
        "calls",
    ),
    ("heatmap", lambda d: analysis.summary_table(d), plots.heatmap, "level", "Region"),
    ("hourly", lambda d: analysis.hourly_series(d, by="region"), plots.hourly_series, "UTC", "ms"),
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
