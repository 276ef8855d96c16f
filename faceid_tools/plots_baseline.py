"""Figures for the "Since the baseline" section (to be folded into :mod:`faceid_tools.plots`).

Like every plot function: takes ``ax=None`` (a new figure then), labels axes with units and
returns the Axes; pyplot is imported only to make a figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from . import analysis
from .analysis.baseline import IMPROVED, NO_CHANGE, REGRESSED, UNDECIDED

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from pandas.io.formats.style import Styler

__all__ = ["VERDICT_COLOURS", "latency_vs_baseline", "style_change_matrix"]

#: Background colour of each verdict in the change matrix.
VERDICT_COLOURS: Mapping[str, str] = {
    REGRESSED: "#f4a3a3",
    IMPROVED: "#a8dcab",
    NO_CHANGE: "#eeeeee",
    UNDECIDED: "#fff1b8",
}


def latency_vs_baseline(
    data: Any,
    baseline: Any,
    *,
    by: str = "region",
    points: int = 400,
    log_scale: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Current (solid) vs baseline (dashed) empirical CDF of successful-call latency, one colour
    per ``by`` value (region by default); the legend gives each side's number of calls."""
    now = analysis.latency_ecdf(data, by, points=points)
    then = analysis.latency_ecdf(baseline, by, points=points)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
    groups = sorted(
        {str(v) for v in pd.concat([now[by].astype(object), then[by].astype(object)]).dropna()}
    )
    for i, group in enumerate(groups):
        colour = f"C{i % 10}"
        for frame, style, side in ((then, "--", "baseline"), (now, "-", "current")):
            block = frame[frame[by].astype(object) == group]
            if block.empty:
                continue
            n = int(block["n"].iloc[0])
            ax.step(block["value"], block["cum_prob"], where="post", color=colour,
                    linestyle=style, label=f"{group} {side} (n={n:,})")  # fmt: skip
    if log_scale:
        ax.set_xscale("log")
    ax.set_xlabel("Latency (ms, log scale)" if log_scale else "Latency (ms)")
    ax.set_ylabel("Share of successful calls at or below (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], color="grey", linestyle="-"),
        Line2D([], [], color="grey", linestyle="--"),
    ]
    labels += ["current", "baseline"]
    ax.legend(handles, labels, fontsize="small", ncols=2)
    ax.set_title(f"Latency per {by.replace('_', ' ')}: current vs baseline")
    return ax


def style_change_matrix(matrix: pd.DataFrame) -> Styler:
    """``analysis.change_matrix`` coloured by verdict (regressed red, improved green, no evidence
    grey, not enough data yellow), for a notebook or an HTML report."""

    def colour(value: Any) -> str:
        return f"background-color: {VERDICT_COLOURS[value]}" if value in VERDICT_COLOURS else ""

    return matrix.style.map(colour)
