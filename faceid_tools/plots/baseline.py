"""The "Since the baseline" figure: current vs baseline latency distributions, one colour per region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from .. import analysis
from ._common import _axes, region_colour

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["latency_vs_baseline"]


def latency_vs_baseline(
    data: Any,
    baseline: Any,
    *,
    by: str = "region",
    points: int = 400,
    log_scale: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Current (solid) vs baseline (dashed) empirical CDF of successful-call latency per ``by``
    value (region by default, in the region's colour); the legend gives each side's calls."""
    now = analysis.latency_ecdf(data, by, points=points)
    then = analysis.latency_ecdf(baseline, by, points=points)
    ax = _axes(ax, (9.0, 4.2))
    both = pd.concat([now[by].astype(object), then[by].astype(object)]).dropna()
    for i, group in enumerate(sorted({str(v) for v in both})):
        colour = region_colour(group) if by == "region" else f"C{i % 10}"
        for frame, style, side in ((then, "--", "baseline"), (now, "-", "current")):
            block = frame[frame[by].astype(object).astype(str) == group]
            if block.empty:
                continue
            n = int(block["n"].iloc[0])
            ax.step(block["value"], block["cum_prob"], where="post", color=colour,
                    linestyle=style, label=f"{group} {side} (n={n:,})")  # fmt: skip
    if log_scale:
        ax.set_xscale("log")
    ax.set_xlabel("Latency per successful call (ms, log scale)" if log_scale else "Latency (ms)")
    ax.set_ylabel("Share of successful calls at or below (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="grey", linestyle=s) for s in ("-", "--")]
    labels += ["current", "baseline"]
    ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Latency per {by.replace('_', ' ')}: current vs baseline")
    return ax
