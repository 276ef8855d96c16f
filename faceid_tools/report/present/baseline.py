"""The review's "Since the baseline" section: what changed, as a meeting reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from pandas.io.formats.style import Styler

from ...client.vocabulary import METRIC_NAMES
from ._format import MISSING, is_missing, ms, p_text, pct, signed
from ._table import details, table
from .changes import change_findings, change_matrix_html
from .provenance import provenance_markdown

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["change_table", "since_baseline"]


def _fmt(metric: str) -> Any:
    return ms if metric.endswith("_ms") else pct


def _numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {t}" for i, t in enumerate(lines, 1))


def since_baseline(
    calls: Any,
    base: Any,
    changes: pd.DataFrame,
    baseline: Any,
    *,
    pooled: pd.DataFrame | None = None,
) -> list[Any]:
    """The section's pieces, in order, each followed by what it shows: the heading and the rule,
    the baseline's provenance, the change matrix, the changes per cell and per region (levels
    pooled: ``pooled``, computed when not given), the latency curves and every comparison."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown

    from ...analysis.baseline import compare_to_baseline
    from ...plots import latency_vs_baseline

    confidence = float(changes.attrs.get("confidence", 0.95))
    level = f"{confidence:.0%}"
    if pooled is None:
        pooled = compare_to_baseline(calls, base, by="region", confidence=confidence)
    figure = latency_vs_baseline(calls, base).figure
    plt.close(cast("Figure", figure))  # shown once, where it stands in the list
    return [
        Markdown(
            "## Since the baseline\n\nWhat changed between the **baseline** below and the data above, "
            "per region × level: the median and p95 latency of successful calls, the error rate per "
            "call, sequence integrity and the duplicate rate. A change is **regressed** or "
            "**improved** only when its Holm-corrected test is significant *and* its "
            f"{level} interval excludes zero; **no evidence of change** otherwise; **not enough "
            "data** when a side has too few calls to bound the metric.\n\n**The baseline:**"
        ),
        Markdown(provenance_markdown(baseline, base)),
        change_matrix_html(changes),
        Markdown(
            "Each cell shows its most alarming verdict across the five metrics (regressed, then "
            "improved, then not enough data, then no evidence), and for a change the metric with "
            "its interval (ms, or percentage points for rates). The colour and the word say the "
            "same thing."
        ),
        Markdown("**Per region × level:**\n\n" + _numbered(change_findings(changes))),
        Markdown(
            "**Per region, levels pooled** (four times a cell's calls, so smaller changes are "
            "decided):\n\n" + _numbered(change_findings(pooled))
        ),
        Markdown(
            "Regressions first (smallest Holm-adjusted p first), then improvements, each with its "
            "change, its interval and its adjusted p; the last line counts the comparisons that "
            "did not move. Holm's correction runs over each table as a whole."
        ),
        figure,
        Markdown(
            "The latency distribution of successful calls per region, now (solid) and at the "
            "baseline (dashed), in the region's colour: a curve shifted right is slower."
        ),
        details("Every comparison since the baseline", change_table(changes)),
        Markdown("Open it for every metric of every region × level cell, unchanged ones included."),
    ]


def change_table(changes: pd.DataFrame) -> Styler:
    """Every comparison of :func:`compare_to_baseline` as a table, titled at its confidence."""
    level = f"{float(changes.attrs.get('confidence', 0.95)):.0%}"
    rows = []
    for r in changes.to_dict("records"):
        metric = str(r["metric"])
        unit = "ms" if metric.endswith("_ms") else "pts"
        change = (
            MISSING
            if is_missing(r["change_hi"])
            else f"{signed(r['change'], unit)} ({signed(r['change_lo'], unit)} to "
            f"{signed(r['change_hi'], unit)})"
        )
        rows.append(
            {
                "Region": r.get("region", "all"),
                "Level": r.get("security_level", "all"),
                "Metric": METRIC_NAMES[metric],
                "Baseline": _fmt(metric)(r["baseline"]),
                "Now": _fmt(metric)(r["current"]),
                f"Change ({level} CI)": change,
                "Calls (baseline / now)": f"{r['n_baseline']:,} / {r['n_current']:,}",
                "p (Holm)": p_text(r["p_holm"]),
                "Verdict": str(r["verdict"]),
            }
        )
    return table(
        pd.DataFrame(rows),
        notes=[
            "—: no interval or test (a side has no data for that metric). pts: percentage points.",
            "p (Holm): the test of no change, Holm-corrected over the whole table.",
        ],
    )
