"""Latency figures: distribution per region, percentiles per level, differences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from .. import analysis
from ..errors import InputError
from ._common import (
    _LEVEL_NAMES,
    _QUANTILE_STYLE,
    _axes,
    _ci,
    _colour,
    _groups,
    _result,
    region_colour,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
        raise InputError("latency_by_level needs a result grouped by security_level")
    ax = _axes(ax, (9.5, 4.0))  # room for the legend on the right
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
                raise InputError(f"the result has no {q} column")
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
    ax.set_title(f"Latency of successful calls by security level ({_ci(res)})")
    return ax


def comparison_forest(result: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Effect sizes of a ``compare_latency`` / ``compare_error_rates`` result with their CIs.

    Filled markers are significant after Holm's correction; the dashed line is no difference.
    """
    kind = result.attrs.get("analysis")
    if kind not in ("compare_latency", "compare_error_rates"):
        raise InputError("comparison_forest takes a compare_latency or compare_error_rates result")
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
    ax.set_title(
        f"Differences with {_ci(result).replace('CI', 'simultaneous CI')} "
        "(filled: significant after Holm; open: not)"
    )
    return ax
