"""Error-rate figures: bars with whiskers, region × level heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from .. import analysis
from ..analysis._data import sort_values_of
from ..errors import InputError
from ._common import (
    _LEVEL_NAMES,
    _axes,
    _ci,
    _groups,
    _label,
    _result,
    region_colour,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def error_rate_bars(
    data_or_result: Any,
    *,
    by: str | Sequence[str] = "region",
    ax: Axes | None = None,
) -> Axes:
    """Error rate per group as bars with Wilson-interval whiskers and a dot at the estimate.

    Bars take their region's colour; with a second key, the x-axis holds that key (e.g. the
    security level) and each region has one bar in it.  A zero rate still shows: its dot sits on
    the axis with the whisker of its upper bound above it.
    """
    res = _result(data_or_result, "error_rates", lambda d: analysis.error_rates(d, by))
    keys = list(res.attrs.get("by", [by] if isinstance(by, str) else by))
    ax = _axes(ax)
    if "region" in keys and len(keys) > 1:
        colour_key = "region"
        axis_key: str | None = next(k for k in keys if k != "region")
    else:
        colour_key = keys[1] if len(keys) > 1 else ""
        axis_key = keys[0] if keys else None
    if axis_key is None:
        cats = ["all"]
        inner: list[tuple[str, pd.DataFrame]] = [("", res)]
    else:
        values = sort_values_of(axis_key, res[axis_key].astype(object), missing=True)
        cats = [str(v) for v in values]
        inner = _groups(res, [colour_key]) if colour_key else [("", res)]
    x = np.arange(len(cats))
    width = 0.8 / max(len(inner), 1)  # no group at all (a log without calls): an empty axes
    top = 0.0
    for i, (name, block) in enumerate(inner):
        if axis_key is not None:
            block = block.set_index(block[axis_key].astype(str)).reindex(cats)
        rate = block["rate"].to_numpy(dtype=float)
        lo = np.nan_to_num(np.clip(rate - block["rate_lo"].to_numpy(dtype=float), 0, None))
        hi = np.nan_to_num(np.clip(block["rate_hi"].to_numpy(dtype=float) - rate, 0, None))
        top = max(top, float(np.nanmax(np.append(rate + hi, 0))))
        if colour_key == "region" or (axis_key == "region" and not colour_key):
            colours = (
                [region_colour(block["region"].iloc[0])]
                if colour_key
                else [region_colour(c) for c in cats]
            )
        else:
            colours = [f"C{i % 10}"]
        pos = x + (i - (len(inner) - 1) / 2) * width
        ax.bar(pos, rate, width * 0.9, color=colours, alpha=0.75, label=name or None)
        ax.errorbar(pos, rate, yerr=[lo, hi], fmt="o", color="black", markersize=4,
                    capsize=3, linewidth=1, clip_on=False)  # fmt: skip
    ax.set_ylim(-0.03 * max(top, 0.01), max(top, 0.01) * 1.08)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, [_label(axis_key, c) if axis_key else c for c in cats])
    per = res.attrs.get("per", "attempt")
    ax.set_ylabel(f"Error rate (% of {per}s)")
    ax.set_xlabel(axis_key.replace("_", " ").capitalize() if axis_key else "")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.grid(True, axis="y", alpha=0.3)
    if len(inner) > 1:
        ax.legend(fontsize="small")
    ax.set_title(f"Error rate per {per} ({_ci(res)}, Wilson; dot = estimate)")
    return ax


def heatmap(
    data_or_result: Any,
    metric: str = "p95",
    *,
    ax: Axes | None = None,
) -> Axes:
    """Region × security level grid of one metric (``p95``, ``p50``, ``error_rate``, ...) with CIs."""
    res = _result(
        data_or_result,
        ("summary_table", "latency_summary", "error_rates"),
        lambda d: analysis.summary_table(d, ("region", "security_level")),
    )
    if metric not in res.columns:
        raise InputError(f"the result has no {metric!r} column")
    if not {"region", "security_level"} <= set(res.columns):
        raise InputError("heatmap needs a result grouped by region and security_level")
    lo_col, hi_col = (f"{metric}_lo", f"{metric}_hi")
    if metric == "rate":
        lo_col, hi_col = "rate_lo", "rate_hi"
    regions = [str(v) for v in res["region"].cat.categories]
    levels = [str(v) for v in res["security_level"].cat.categories]
    grid = np.full((len(regions), len(levels)), np.nan)
    text = [["" for _ in levels] for _ in regions]
    is_rate = "rate" in metric
    for rec in res.to_dict("records"):
        if pd.isna(rec["region"]) or pd.isna(rec["security_level"]):
            continue
        i, j = regions.index(str(rec["region"])), levels.index(str(rec["security_level"]))
        est, lo, hi = rec[metric], rec.get(lo_col, np.nan), rec.get(hi_col, np.nan)
        grid[i, j] = est
        fmt = (lambda v: f"{100 * v:.2f}%") if is_rate else (lambda v: f"{v:,.0f}")
        if pd.isna(lo) and pd.isna(hi):
            bounds = "unbounded"
        elif pd.isna(hi):
            bounds = f"≥ {fmt(lo)}"
        elif pd.isna(lo):
            bounds = f"≤ {fmt(hi)}"
        else:
            bounds = f"{fmt(lo)}–{fmt(hi)}"
        text[i][j] = "" if pd.isna(est) else f"{fmt(est)}\n[{bounds}]"
    ax = _axes(ax)
    image = ax.imshow(grid, cmap="magma_r" if not is_rate else "Reds", aspect="auto")
    for i in range(len(regions)):
        for j in range(len(levels)):
            value = grid[i, j]
            dark = not np.isnan(value) and value > np.nanmean(grid)
            ax.text(j, i, text[i][j] or "no data", ha="center", va="center", fontsize="small",
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(levels)), [_LEVEL_NAMES.get(v, v) for v in levels])
    ax.set_yticks(range(len(regions)), regions)
    ax.set_xlabel("Security level")
    ax.set_ylabel("Region")
    per = res.attrs.get("per", "attempt")
    unit = f"% of {per}s" if is_rate else "ms"
    name = "Error rate" if metric == "error_rate" else f"{metric} latency"
    cbar = ax.figure.colorbar(image, ax=ax)
    cbar.set_label(f"{name} ({unit})")
    if is_rate:
        cbar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.set_title(f"{name} by region and level ({_ci(res)} in brackets)")
    return ax
