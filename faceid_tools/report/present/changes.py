"""The "Since the baseline" words: the matrix (region × level, each cell's verdict in words and
colour), the sentences on what changed (:func:`change_findings`) and the line on what a log holds
(:func:`describe_data`)."""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

from ...analysis.baseline import CHANGE_VERDICTS, REGRESSED
from ...analysis.baseline_review import change_findings as _change_findings
from ...analysis.baseline_review import describe_data as _describe_data
from ...calllog.conventions import missing_name
from ...client.vocabulary import LEVEL_NAMES, METRIC_NAMES
from ._html import Cell, coloured_matrix

__all__ = [
    "CHANGE_COLOURS",
    "change_findings",
    "change_matrix",
    "change_matrix_html",
    "describe_data",
]

#: Okabe–Ito colours (safe for every common colour-vision deficiency), text colour on each.
CHANGE_COLOURS: dict[str, tuple[str, str]] = {
    "regressed": ("#D55E00", "white"),  # vermillion
    "improved": ("#0072B2", "white"),  # blue
    "not enough data": ("#F0E442", "#222222"),  # yellow
    "no evidence of change": ("#E6E6E6", "#222222"),  # light grey
}


def change_matrix_html(
    changes: pd.DataFrame, *, rows: str = "region", columns: str = "security_level"
) -> Any:
    """The verdicts of :func:`faceid_tools.analysis.compare_to_baseline` as a coloured table.

    A cell shows its most alarming verdict (regressed, then improved, then not enough data, then
    no evidence of change) in words, and the metrics that carry it with their change.
    """
    rank = {v: i for i, v in enumerate(CHANGE_VERDICTS)}
    frame = changes.assign(
        _rank=changes["verdict"].astype(object).map(rank),
        _row=changes[rows].astype(object).astype(str),
        _col=changes[columns].astype(object).astype(str),
    )
    cells: dict[tuple[str, str], Cell] = {}
    for (r, c), cell in frame.groupby(["_row", "_col"], sort=False):
        word = CHANGE_VERDICTS[int(cell["_rank"].min())]
        carriers = cell[cell["verdict"].astype(object) == word]
        lines = [f"<strong>{html.escape(word.upper())}</strong>"]
        if word in ("regressed", "improved"):
            lines += [html.escape(_change_text(rec)) for rec in carriers.to_dict("records")]
        elif word == "not enough data":
            names = sorted({METRIC_NAMES[str(m)] for m in carriers["metric"]})
            lines.append(html.escape("for " + ", ".join(names)))
        bg, fg = CHANGE_COLOURS[word]
        cells[(str(r), str(c))] = (lines, bg, fg, word)
    columns_ = sorted(frame["_col"].unique())
    return coloured_matrix(
        sorted(frame["_row"].unique()),
        columns_,
        cells,
        CHANGE_COLOURS,
        kind="change",
        column_labels={c: "Level " + LEVEL_NAMES.get(c, c) for c in columns_},
    )


#: The former name of :func:`change_matrix_html`, kept so existing notebooks keep working; it is
#: the HTML table, not :func:`faceid_tools.analysis.change_matrix` (the frame of verdicts).
change_matrix = change_matrix_html


def _change_text(rec: Mapping[Hashable, Any]) -> str:
    metric = str(rec["metric"])
    name = METRIC_NAMES[metric]
    if metric.endswith("_ms"):
        return f"{name} {rec['change']:+,.0f} ms ({rec['change_lo']:+,.0f} to {rec['change_hi']:+,.0f})"
    pts = 100 * rec["change"], 100 * rec["change_lo"], 100 * rec["change_hi"]
    return f"{name} {pts[0]:+.2f} pts ({pts[1]:+.2f} to {pts[2]:+.2f})"


def describe_data(data: Any) -> str:
    """What ``data`` holds, in one line: calls, campaigns and UTC days (the figures:
    :func:`faceid_tools.analysis.describe_data`)."""
    span = _describe_data(data)
    if not span.calls or span.first is None or span.last is None:
        return "no GenerateReflectSequence calls"
    first, last = span.first.isoformat(), span.last.isoformat()
    when = first if first == last else f"{first} to {last}"
    names = span.campaigns
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    campaigns = (
        f"{len(names)} campaign{'s' if len(names) != 1 else ''} ({shown})"
        + (f" and calls with {missing_name('campaign_id')}" if span.unlabelled else "")
        if names
        else missing_name("campaign_id")
    )
    return f"{span.calls:,} calls, {campaigns}, {when} (UTC)"


def change_findings(changes: pd.DataFrame, *, limit: int | None = 10) -> list[str]:
    """Sentences on what changed since the baseline: regressions first, then improvements (each
    with its interval and Holm-adjusted p), then one line on the rest.  ``limit`` caps the
    regression and improvement sentences (the rest are counted; the figures:
    :func:`faceid_tools.analysis.change_findings`)."""
    found = _change_findings(changes, limit=limit)
    level = f"{found.confidence:.0%}"
    named = [{str(k): v for k, v in r.items()} for r in found.named.to_dict("records")]
    out: list[str] = []
    for verdict, more in found.more.items():
        out += [_sentence(rec, found.keys, level) for rec in named if rec["verdict"] == verdict]
        if more:
            out.append(f"… and {more} more {verdict} rows (see the table).")
    if not found.any_change:
        out.insert(0, "Nothing regressed or improved beyond chance since the baseline.")
    rest = f"No evidence of change in {found.unchanged} of {found.total} comparisons"
    if found.lacking:
        what = ", ".join(sorted(METRIC_NAMES[m] for m in found.lacking_metrics))
        rest += f"; {found.lacking} lack the data on one side ({what})"
    return [*out, rest + "."]


def _cell(rec: Mapping[str, Any], keys: Sequence[str]) -> str:
    parts = [f"level {rec[k]}" if k == "security_level" else str(rec[k]) for k in keys]
    return " ".join(parts) if parts else "all calls"


def _value(metric: str, x: float) -> str:
    return f"{x:,.0f} ms" if metric.endswith("_ms") else f"{100 * x:.2f}%"


def _delta(metric: str, x: float) -> str:
    sign = "+" if x >= 0 else "−"
    if metric.endswith("_ms"):
        return f"{sign}{abs(x):,.0f} ms"
    return f"{sign}{100 * abs(x):.2f} points"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _sentence(rec: Mapping[str, Any], keys: Sequence[str], level: str) -> str:
    metric = str(rec["metric"])
    moved = "rose" if rec["change"] > 0 else "fell"
    lo, hi = rec["change_lo"], rec["change_hi"]
    interval = (
        f"{level} CI {_delta(metric, lo)} to {_delta(metric, hi)}"
        if not (math.isnan(lo) or math.isnan(hi))
        else "no interval"
    )
    text = (
        f"{METRIC_NAMES[metric]} {moved} in {_cell(rec, keys)}: "
        f"{_value(metric, rec['baseline'])} → {_value(metric, rec['current'])}, "
        f"{_delta(metric, rec['change'])} ({interval}; Holm-adjusted {_p(rec['p_holm'])})"
    )
    return f"{'Regression' if rec['verdict'] == REGRESSED else 'Improvement'}: {text}."
