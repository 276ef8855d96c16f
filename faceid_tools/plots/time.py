"""Figures over time: one metric per minute, hour or day with its interval band."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from .. import analysis
from ..analysis._data import TIME_KEYS
from ..errors import InputError
from ._common import (
    _axes,
    _ci,
    _colour,
    _groups,
    _result,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def time_series(
    data_or_result: Any,
    metric: str = "p95",
    *,
    ax: Axes | None = None,
) -> Axes:
    """A :func:`~faceid_tools.analysis.time_series` result over time: ``p95`` latency (or
    ``error_rate``) per bucket, the interval as a band (whiskers too, so a lone bucket shows it),
    one colour per region; the x-axis spans the data, half a bucket of margin either side."""
    res = _result(
        data_or_result, ("time_series", "hourly_series"), lambda d: analysis.time_series(d)
    )
    if metric not in res.columns and metric.startswith("p"):
        options = [c for c in res.columns if c.startswith("p") and not c.endswith(("_lo", "_hi"))]
        raise InputError(f"the series has no {metric!r}; it has {options}")
    bucket = str(res.attrs.get("bucket", "hour"))
    per = str(res.attrs.get("per", "attempt"))
    ax = _axes(ax, (9.0, 4.0))
    keys = list(res.attrs.get("by", []))
    for i, (name, block) in enumerate(_groups(res, keys)):
        block = block.sort_values(bucket)
        colour = _colour(keys, block, i)
        t = block[bucket].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        est = block[metric].to_numpy(dtype=float)
        lo = block[f"{metric}_lo"].to_numpy(dtype=float)
        hi = block[f"{metric}_hi"].to_numpy(dtype=float)
        ax.plot(t, est, marker="o", markersize=3, color=colour, label=name)
        ax.fill_between(t, lo, hi, alpha=0.2, color=colour, linewidth=0)
        if len(block) < 3:  # a band needs neighbours: whiskers show a lone bucket's interval
            ax.errorbar(t, est, yerr=[np.nan_to_num(np.clip(est - lo, 0, None)),
                                      np.nan_to_num(np.clip(hi - est, 0, None))],
                        fmt="none", ecolor=colour, capsize=3)  # fmt: skip
    ax.set_xlabel(f"Time (UTC), one point per {bucket}")
    stamps = res[bucket].dropna()
    if len(stamps):
        _time_axis(ax, stamps, bucket)
    if "rate" in metric:
        ax.set_ylabel(f"Error rate (% of {per}s)")
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
        ax.set_ylim(bottom=0)
    else:
        ax.set_ylabel(f"{metric} latency of successful {per}s (ms)")
    ax.grid(True, alpha=0.3)
    if keys:
        ax.legend(fontsize="small")
    what = "Error rate" if "rate" in metric else f"{metric} latency"
    ax.set_title(f"{what} per {bucket} per {per}, with its {_ci(res)} band")
    return ax


def _time_axis(ax: Axes, stamps: pd.Series, bucket: str) -> None:
    """An x-axis spanning the buckets (half a bucket either side), ticks on whole buckets."""
    import matplotlib.dates as mdates

    width = pd.Timedelta(seconds=TIME_KEYS[bucket])
    first = stamps.min().tz_convert("UTC").tz_localize(None)
    last = stamps.max().tz_convert("UTC").tz_localize(None)
    ax.set_xlim(first - width / 2, last + width / 2)
    count = int((last - first) / width) + 1
    step = max(1, -(-count // 8))  # at most ~8 ticks, each on a whole bucket
    locator: mdates.DateLocator
    if bucket == "minute":
        locator, fmt = mdates.MinuteLocator(interval=step), "%H:%M"
    elif bucket == "hour":
        locator, fmt = mdates.HourLocator(interval=step), "%d %b %H:%M"
    else:
        locator, fmt = mdates.DayLocator(interval=step), "%Y-%m-%d"
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))
    if bucket == "minute":
        day = f"{first:%Y-%m-%d}" + ("" if first.date() == last.date() else f" – {last:%Y-%m-%d}")
        ax.set_xlabel(f"Time (UTC) on {day}, one point per minute")


def hourly_series(data_or_result: Any, metric: str = "p95", *, ax: Axes | None = None) -> Axes:
    """:func:`time_series` of an hourly series (call-log data: per hour)."""
    res = _result(
        data_or_result, ("hourly_series", "time_series"), lambda d: analysis.hourly_series(d)
    )
    return time_series(res, metric, ax=ax)
