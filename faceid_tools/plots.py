"""Figures for the notebooks and reports, drawn from :mod:`faceid_tools.analysis` results.

Each function takes either the result of the matching analysis function or call-log ``data``
(anything the analysis functions accept; the analysis is then run with its defaults), draws on
``ax`` (a new figure when None), labels its axes with units and returns the Axes.  Nothing here
calls ``plt.show()`` or picks a backend: pyplot is imported only to make a figure when ``ax`` is
None, so Jupyter's inline backend, a headless Agg run and an embedding application all work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from . import analysis
from .analysis._data import TIME_KEYS, sort_values_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "comparison_forest",
    "error_rate_bars",
    "heatmap",
    "hourly_series",
    "latency_by_level",
    "latency_ecdf",
    "region_colour",
    "sequence_property",
    "time_series",
]

_LEVEL_NAMES = {"1": "1 silent", "2": "2 blink", "3": "3 light", "4": "4 blink+light"}
#: One colour per region on every figure (Okabe–Ito, safe for colour-vision deficiencies).
REGION_COLOURS: dict[str, str] = {
    "ap-bangkok": "#E69F00",  # orange
    "ap-hongkong": "#56B4E9",  # sky blue
    "ap-singapore": "#009E73",  # bluish green
}
_OTHER_COLOURS = ("#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#000000")
#: Percentiles told apart by marker and line style, never by colour.
_QUANTILE_STYLE = {"p50": ("o", "-"), "p90": ("^", "-."), "p95": ("s", "--"), "p99": ("D", ":")}


def region_colour(region: Any) -> str:
    """The colour of a region on every figure (others get a stable colour of their own)."""
    name = str(region)
    if name in REGION_COLOURS:
        return REGION_COLOURS[name]
    return _OTHER_COLOURS[sum(map(ord, name)) % len(_OTHER_COLOURS)]


def _colour(keys: Sequence[str], block: pd.DataFrame, i: int) -> str:
    """A group's colour: its region's when grouped by region, else the i-th of the cycle."""
    if "region" in keys and len(block):
        return region_colour(block["region"].iloc[0])
    return f"C{i % 10}"


_PROPERTY_NAMES = {
    "seq_size": "Sequence size",
    "seq_entropy": "Byte entropy",
    "seq_frames": "Colour frames",
    "seq_colours": "Distinct colours",
    "seq_duration_ms": "Duration",
    "seq_blinks": "Blink cues",
}


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _result(obj: Any, kind: str | Sequence[str], compute: Any) -> pd.DataFrame:
    """``obj`` if it is a result of ``kind``, else ``compute(obj)`` (obj is call-log data)."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    if isinstance(obj, pd.DataFrame):
        made_by = obj.attrs.get("analysis")
        if made_by in kinds:
            return obj
        if made_by is not None:
            raise ValueError(f"expected a result of {' or '.join(kinds)}, got one of {made_by}")
        if not {"action", "outcome"} <= set(obj.columns):
            raise ValueError(
                f"expected call-log data or a result of {' or '.join(kinds)}; "
                f"got a DataFrame with columns {list(obj.columns)[:8]}"
            )
    result: pd.DataFrame = compute(obj)
    return result


def _label(key: str, value: Any) -> str:
    if key == "security_level":
        return f"level {_LEVEL_NAMES.get(str(value), value)}"
    return str(value)


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    if not keys:
        return [("all", frame)]
    out = []
    for key, block in frame.groupby(list(keys), observed=True, sort=True):
        key_t = key if isinstance(key, tuple) else (key,)
        out.append((" · ".join(_label(k, v) for k, v in zip(keys, key_t, strict=True)), block))
    return out


def latency_ecdf(
    data_or_result: Any,
    *,
    by: str | Sequence[str] = "region",
    log_scale: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Empirical CDF of successful-call latency per group, on a log latency axis."""
    res = _result(
        data_or_result, "latency_ecdf", lambda d: analysis.latency_ecdf(d, by, points=400)
    )
    ax = _axes(ax)
    keys = res.attrs.get("by", [k for k in res.columns if k not in ("n", "cum_prob", "value")])
    for i, (name, block) in enumerate(_groups(res, keys)):
        n = int(block["n"].iloc[0])
        ax.step(block["value"], block["cum_prob"], where="post", label=f"{name} (n={n:,})",
                color=_colour(keys, block, i))  # fmt: skip
    if log_scale:
        ax.set_xscale("log")
    ax.set_xlabel("Latency (ms, log scale)" if log_scale else "Latency (ms)")
    ax.set_ylabel("Share of successful calls at or below (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    if keys:
        ax.legend(fontsize="small")
    ax.set_title("Latency distribution")
    return ax


def latency_by_level(
    data_or_result: Any,
    *,
    quantiles: Sequence[str] = ("p50", "p95"),
    ax: Axes | None = None,
) -> Axes:
    """Latency percentiles per security level (one series per region if present) with CIs."""
    res = _result(
        data_or_result,
        ("latency_summary", "summary_table"),
        lambda d: analysis.latency_summary(d, ("region", "security_level")),
    )
    if "security_level" not in res.columns:
        raise ValueError("latency_by_level needs a result grouped by security_level")
    ax = _axes(ax)
    levels = [str(v) for v in res["security_level"].cat.categories]
    x = np.arange(len(levels))
    others = [k for k in res.attrs.get("by", ["region", "security_level"]) if k != "security_level"]
    series = _groups(res, others)
    width = 0.8 / max(1, len(series) * len(quantiles))
    i = 0
    for k, (name, block) in enumerate(series):
        colour = _colour(others, block, k)
        block = block.set_index(block["security_level"].astype(str)).reindex(levels)
        for q in quantiles:
            if q not in block.columns:
                raise ValueError(f"the result has no {q} column")
            est = block[q].to_numpy(dtype=float)
            lo = np.clip(est - block[f"{q}_lo"].to_numpy(dtype=float), 0, None)
            hi = np.clip(block[f"{q}_hi"].to_numpy(dtype=float) - est, 0, None)
            offset = (i - (len(series) * len(quantiles) - 1) / 2) * width
            marker, style = _QUANTILE_STYLE.get(q, ("o", "-"))
            bars = ax.errorbar(
                x + offset,
                est,
                yerr=[np.nan_to_num(lo), np.nan_to_num(hi)],
                fmt=marker,
                linestyle=style,
                color=colour,
                markerfacecolor=colour if q == quantiles[0] else "white",
                capsize=3,
                label=f"{name} {q}" if others else q,
            )
            bars[-1][0].set_linestyle(style)
            i += 1
    ax.set_xticks(x, [_LEVEL_NAMES.get(v, v) for v in levels])
    ax.set_xlabel("Security level")
    ax.set_ylabel("Latency (ms)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncol=len(quantiles), loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Latency of successful calls by security level (95% CI)")
    return ax


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
        cats = [str(v) for v in sort_values_of(axis_key, res[axis_key].astype(object))]
        inner = _groups(res, [colour_key]) if colour_key else [("", res)]
    x = np.arange(len(cats))
    width = 0.8 / len(inner)
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
    ax.set_title(f"Error rate per {per} (95% Wilson CI; dot = estimate)")
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
        raise ValueError(f"the result has no {metric!r} column")
    if not {"region", "security_level"} <= set(res.columns):
        raise ValueError("heatmap needs a result grouped by region and security_level")
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
    ax.set_title(f"{name} by region and level (95% CI in brackets)")
    return ax


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
        raise ValueError(f"the series has no {metric!r}; it has {options}")
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
    stamps = res[bucket].dropna()
    if len(stamps):
        half = pd.Timedelta(seconds=TIME_KEYS[bucket]) / 2
        first = stamps.min().tz_convert("UTC").tz_localize(None)
        last = stamps.max().tz_convert("UTC").tz_localize(None)
        ax.set_xlim(first - half, last + half)
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(f"Time (UTC), one point per {bucket}")
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
    ax.set_title(f"{what} per {bucket} per {per}, with its 95% CI band")
    return ax


def hourly_series(data_or_result: Any, metric: str = "p95", *, ax: Axes | None = None) -> Axes:
    """:func:`time_series` of an hourly series (call-log data: per hour)."""
    res = _result(
        data_or_result, ("hourly_series", "time_series"), lambda d: analysis.hourly_series(d)
    )
    return time_series(res, metric, ax=ax)


def sequence_property(
    data_or_result: Any,
    prop: str = "seq_entropy",
    *,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of one light-sequence property per security level (histogram steps)."""
    res = _result(
        data_or_result, "property_histogram", lambda d: analysis.property_histogram(d, prop)
    )
    prop = str(res.attrs.get("property", prop))
    unit = str(res.attrs.get("unit", ""))
    ax = _axes(ax)
    keys = list(res.attrs.get("by", ["security_level"]))
    for name, block in _groups(res, keys):
        block = block.sort_values("bin_lo")
        edges = np.append(block["bin_lo"].to_numpy(float), block["bin_hi"].to_numpy(float)[-1])
        ax.stairs(block["count"].to_numpy(float), edges, label=name, linewidth=1.5)
    ax.set_xlabel(f"{_PROPERTY_NAMES.get(prop, prop)} ({unit})")
    ax.set_ylabel("Sequences (count)")
    ax.grid(True, alpha=0.3)
    if keys:
        ax.legend(fontsize="small")
    ax.set_title(f"{_PROPERTY_NAMES.get(prop, prop)} by security level")
    return ax


def comparison_forest(result: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Effect sizes of a ``compare_latency`` / ``compare_error_rates`` result with their CIs.

    Filled markers are significant after Holm's correction; the dashed line is no difference.
    """
    kind = result.attrs.get("analysis")
    if kind not in ("compare_latency", "compare_error_rates"):
        raise ValueError("comparison_forest takes a compare_latency or compare_error_rates result")
    ax = _axes(ax, (7.0, 0.5 + 0.45 * max(1, len(result))))
    within = result.attrs.get("within") or []
    within = [within] if isinstance(within, str) else list(within)
    between = str(result.attrs.get("between", ""))
    labels = []
    scale = 100.0 if kind == "compare_error_rates" else 1.0
    for i, rec in enumerate(result.to_dict("records")):
        prefix = "".join(f"{rec[k]}: " for k in within)
        short = (lambda v: f"L{v}") if between == "security_level" else str
        labels.append(f"{prefix}{short(rec['a'])} − {short(rec['b'])}")
        est, lo, hi = (scale * rec[c] for c in ("diff", "diff_lo", "diff_hi"))
        colour = region_colour(rec["region"]) if "region" in within else "black"
        ax.errorbar([est], [i], xerr=[[max(est - lo, 0)], [max(hi - est, 0)]], fmt="o",
                    capsize=3, color=colour,
                    markerfacecolor=colour if rec["significant"] else "white")  # fmt: skip
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    if kind == "compare_latency":
        ax.set_xlabel("Difference of median latency (ms)")
    else:
        ax.set_xlabel("Difference of error rate (percentage points)")
    ax.set_ylabel("Pair")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("Differences with 95% CI (filled: significant after Holm)")
    return ax
