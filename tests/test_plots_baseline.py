"""The baseline section's figures: drawn on the given Axes, one colour per region, both sides."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from faceid_tools import analysis
from faceid_tools.plots_baseline import VERDICT_COLOURS, latency_vs_baseline, style_change_matrix
from faceid_tools.simulate import simulate


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plots") / "calls.sqlite"
    simulate(1200, path, seed=5, start="2026-03-02", campaign_id="a")
    simulate(1200, path, seed=6, start="2026-03-09", campaign_id="b")
    return path


def test_latency_vs_baseline_draws_both_sides_per_region(log: Path) -> None:
    now, then = analysis.window(log, campaign="b"), analysis.window(log, campaign="a")
    fig, ax = plt.subplots()
    assert latency_vs_baseline(now, then, ax=ax) is ax
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 0]
    assert len(lines) == 6  # 3 regions × (baseline, current)
    colours = {ln.get_label().split()[0]: ln.get_color() for ln in lines}
    assert len(set(colours.values())) == 3
    styles = {ln.get_label().split()[1]: ln.get_linestyle() for ln in lines}
    assert styles == {"baseline": "--", "current": "-"}
    assert ax.get_xscale() == "log" and "ms" in ax.get_xlabel()
    plt.close(fig)
    assert latency_vs_baseline(now, then).figure is not fig  # a new figure without ax
    plt.close("all")


def test_the_change_matrix_is_coloured_by_verdict(log: Path) -> None:
    now, then = analysis.window(log, campaign="b"), analysis.window(log, campaign="a")
    matrix = analysis.change_matrix(analysis.compare_to_baseline(now, then))
    html = style_change_matrix(matrix).to_html()
    for verdict in set(matrix.to_numpy().ravel()):
        assert VERDICT_COLOURS[verdict] in html
