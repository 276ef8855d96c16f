"""The baseline section's figures: drawn on the given Axes, one colour per region, both sides."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from faceid_tools import analysis
from faceid_tools.plots import REGION_COLOURS, latency_vs_baseline
from faceid_tools.report import present
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
    assert colours == {r: REGION_COLOURS[r] for r in REGION_COLOURS}  # the region's own colour
    styles = {ln.get_label().split()[1]: ln.get_linestyle() for ln in lines}
    assert styles == {"baseline": "--", "current": "-"}
    assert ax.get_xscale() == "log" and "ms" in ax.get_xlabel()
    plt.close(fig)
    assert latency_vs_baseline(now, then).figure is not fig  # a new figure without ax
    plt.close("all")


def test_the_change_matrix_is_coloured_by_verdict_with_the_word(log: Path) -> None:
    now, then = analysis.window(log, campaign="b"), analysis.window(log, campaign="a")
    changes = analysis.compare_to_baseline(now, then)
    worst = analysis.change_matrix(changes)
    html = str(present.change_matrix_html(changes))
    assert present.change_matrix is present.change_matrix_html  # the former name still works
    assert html.count('<td class="change change-') == worst.size
    for verdict in set(worst.to_numpy().ravel()):
        background, _ = present.CHANGE_COLOURS[verdict]
        assert background in html and verdict.upper() in html
