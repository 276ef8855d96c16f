"""Analysis results as tables a review meeting can read: pandas ``Styler`` everywhere.

:func:`table` turns any result of :mod:`faceid_tools.analysis` into a styled HTML table: human column
titles, no index column, an estimate and its interval in one cell (``612 ms (540–700)``), ms as
integers, rates as percent, counts with thousands separators, and never ``NaN``/``None``: a missing
value is ``—`` and an unbounded side of an interval is written as what it means (``≥ 540`` when
the data cannot bound the upper side), each explained in the table's caption.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from ...client.vocabulary import LEVEL_NAMES
from ._html import Cell, Html, coloured_matrix
from .changes import CHANGE_COLOURS, change_matrix

__all__ = [
    "CHANGE_COLOURS",
    "LEVEL_NAMES",
    "PROPERTY_NAMES",
    "VERDICT_COLOURS",
    "Html",
    "change_matrix",
    "count",
    "details",
    "interval",
    "matrix",
    "ms",
    "pct",
    "table",
]

PROPERTY_NAMES = {
    "seq_size": "Size",
    "seq_entropy": "Byte entropy",
    "seq_frames": "Colour frames",
    "seq_colours": "Distinct colours",
    "seq_duration_ms": "Duration",
    "seq_blinks": "Blink cues",
}
#: Okabe–Ito colours (safe for every common colour-vision deficiency), text colour on each.
VERDICT_COLOURS: dict[str, tuple[str, str]] = {
    "pass": ("#0072B2", "white"),  # blue
    "pass (pooled)": ("#A9CDE8", "#102A43"),  # light blue
    "fail": ("#D55E00", "white"),  # vermillion
    "fail (pooled)": ("#F2B48F", "#3B1600"),  # light vermillion
    "not enough data": ("#E6E6E6", "#222222"),  # light grey
}
MISSING = "—"
UNBOUNDED_NOTE = (
    "An interval written “≥ x” (or “≤ x”) has no bound on the other side: too few observations "
    "to bound it at this confidence."
)
_TITLES = {
    "region": "Region",
    "security_level": "Level",
    "grain": "Grain",
    "metric": "Objective",
    "minute": "Minute (UTC)",
    "hour": "Hour (UTC)",
    "day": "Day (UTC)",
    "n": "n",
    "n_ok": "Successful",
    "errors": "Failed",
    "count": "Count",
    "verified": "MD5 verified",
    "distinct": "First receipts",
    "repeats": "Repeats",
    "copies": "Copies",
    "calls": "Calls",
    "call_ids": "Call ids",
    "seq_sha256": "SHA-256",
    "violations": "Violations",
    "conforms": "Conforms",
    "calls_needed": "Calls needed",
    "verdict": "Verdict",
    "threshold": "Target",
    "error_rate": "Error rate",
    "rate": "Rate",
    "share": "Share",
    "outcome": "Outcome",
    "error_code": "Error code",
    "diff": "Difference",
    "p_value": "p",
    "p_holm": "p (Holm)",
    "significant": "Significant",
    "a": "A",
    "b": "B",
    "median_a": "Median A",
    "median_b": "Median B",
    "rate_a": "Rate A",
    "rate_b": "Rate B",
    "n_a": "n A",
    "n_b": "n B",
    "property": "Property",
    "unit": "Unit",
    "mean": "Mean",
    "min": "Min",
    "max": "Max",
    "estimate": "Estimate",
}
_COUNT_COLUMNS = {
    "n", "n_ok", "errors", "count", "verified", "distinct", "repeats", "copies", "calls",
    "violations", "calls_needed", "n_a", "n_b", "k_a", "k_b",
}  # fmt: skip


_TABLE_STYLES: list[dict[str, Any]] = [
    {"selector": "", "props": "border-collapse: collapse; font-size: 0.92em;"},
    {
        "selector": "th",
        "props": "text-align: left; padding: 4px 10px; border-bottom: 1px solid #888;",
    },
    {
        "selector": "td",
        "props": "padding: 3px 10px; border-bottom: 1px solid #ddd; "
        "font-variant-numeric: tabular-nums;",
    },
    {
        "selector": "caption",
        "props": "caption-side: bottom; text-align: left; font-size: 0.88em; color: #444; "
        "padding-top: 4px;",
    },
]


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:  # pragma: no cover - exotic scalars
        return False


def ms(v: Any) -> str:
    """Milliseconds as an integer with thousands separators: ``1,097 ms``."""
    return MISSING if _missing(v) else f"{float(v):,.0f} ms"


def pct(v: Any, decimals: int = 2) -> str:
    """A share as a percentage: ``0.52%``."""
    return MISSING if _missing(v) else f"{100 * float(v):.{decimals}f}%"


def count(v: Any) -> str:
    """A count with thousands separators."""
    return MISSING if _missing(v) else f"{int(v):,}"


def _plain(v: Any) -> str:
    if _missing(v):
        return MISSING
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def interval(est: Any, lo: Any, hi: Any, fmt: Callable[[Any], str] = ms) -> str:
    """``612 ms (540–700)``; an unbounded side as ``(≥ 540)``; no estimate as ``—``."""
    if _missing(est):
        return MISSING

    def bare(v: Any) -> str:  # the number without its unit (the unit is on the estimate)
        text = fmt(v)
        return text.split(" ", 1)[0] if " " in text else text

    if _missing(lo) and _missing(hi):
        return f"{fmt(est)} (unbounded)"
    if _missing(hi):
        return f"{fmt(est)} (≥ {bare(lo)})"
    if _missing(lo):
        return f"{fmt(est)} (≤ {bare(hi)})"
    return f"{fmt(est)} ({bare(lo)}–{bare(hi)})"


def _signed_ms(v: Any) -> str:
    return MISSING if _missing(v) else f"{float(v):+,.0f} ms"


def _points(v: Any) -> str:
    return MISSING if _missing(v) else f"{100 * float(v):+.2f} pts"


def _p(v: Any) -> str:
    if _missing(v):
        return MISSING
    return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"


def _key_text(key: str, v: Any) -> str:
    if _missing(v):
        return "all" if key in ("region", "security_level") else MISSING
    if key == "security_level":
        return LEVEL_NAMES.get(str(v), str(v))
    if key in ("minute", "hour"):
        return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")
    if key == "day":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    return str(v)


def _is_quantile(column: str) -> bool:
    return column.startswith("p") and column[1:].isdigit()


def _with_unit(unit: str) -> Callable[[Any], str]:
    """A formatter for values in ``unit``: two decimals for bits/byte, integers otherwise."""
    decimals = 2 if unit == "bits/byte" else 0
    return lambda v: MISSING if _missing(v) else f"{float(v):,.{decimals}f} {unit}"


def _unit_of(column: str, result: pd.DataFrame) -> Callable[[Any], str]:
    """How one estimate column is written, from its name and the result's kind."""
    kind = result.attrs.get("analysis", "")
    if column == "diff":
        return _points if kind == "compare_error_rates" else _signed_ms
    if "rate" in column or column == "share":
        return pct
    if column.startswith("p") and column[1:].isdigit():
        return ms
    if column.startswith("median") or column.endswith("_ms"):
        return ms
    return _plain


def _cells(result: pd.DataFrame, ci: str) -> tuple[pd.DataFrame, bool]:
    """The display frame (strings) of a result, and whether an interval was unbounded."""
    cols = list(result.columns)
    skip = {c for c in cols if c.endswith(("_lo", "_hi")) and c[:-3] in cols}
    out: dict[str, list[str]] = {}
    unbounded = False
    recs = result.to_dict("records")
    keys = list(result.attrs.get("by", []) or [])
    per_row_unit = "unit" in cols
    for c in cols:
        if c in skip or (per_row_unit and c == "unit"):
            continue
        title = _TITLES.get(c, c if _is_quantile(c) else c.replace("_", " ").capitalize())
        if (per_row_unit and c in ("mean", "min", "max")) or (
            per_row_unit and f"{c}_lo" in cols and f"{c}_hi" in cols
        ):
            fmts = [_with_unit(str(r["unit"])) for r in recs]
            if f"{c}_lo" in cols:
                values = [
                    interval(r[c], r[f"{c}_lo"], r[f"{c}_hi"], f)
                    for r, f in zip(recs, fmts, strict=True)
                ]
                title = f"{title} ({ci})"
            else:
                values = [f(r[c]) for r, f in zip(recs, fmts, strict=True)]
            out[title] = values
        elif f"{c}_lo" in cols and f"{c}_hi" in cols:
            fmt = _unit_of(c, result)
            values = [interval(r[c], r[f"{c}_lo"], r[f"{c}_hi"], fmt) for r in recs]
            unbounded |= any(("≥" in v or "≤" in v or "unbounded" in v) for v in values)
            out[f"{title} ({ci})"] = values
        elif c in keys or c in ("region", "security_level", "minute", "hour", "day"):
            out[title] = [_key_text(c, r[c]) for r in recs]
        elif c in _COUNT_COLUMNS:
            out[title] = [count(r[c]) for r in recs]
        elif c in ("p_value", "p_holm"):
            out[title] = [_p(r[c]) for r in recs]
        elif result[c].dtype == bool or c in ("significant", "conforms"):
            out[title] = [MISSING if _missing(r[c]) else ("yes" if r[c] else "no") for r in recs]
        elif c == "property":
            out[title] = [PROPERTY_NAMES.get(str(r[c]), str(r[c])) for r in recs]
        elif pd.api.types.is_integer_dtype(result[c].dtype):
            out[title] = [count(r[c]) for r in recs]
        elif c == "call_ids":
            out[title] = [", ".join(map(str, r[c])) for r in recs]
        else:
            fmt = _unit_of(c, result)
            out[title] = [fmt(r[c]) for r in recs]
    return pd.DataFrame(out), unbounded


def _looks_numeric(values: pd.Series) -> bool:
    """Whether a displayed column holds numbers (right-aligned) rather than words."""
    shown = [v for v in values if v != MISSING]
    return bool(shown) and all(v[:1].isdigit() or v[:1] in "+-−<≤≥" for v in shown)


def table(
    result: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    caption: str | None = None,
    notes: Sequence[str] = (),
) -> Styler:
    """A result as a styled table: human titles, units, intervals in one cell, no index, no NaN.

    ``columns`` picks and orders the result's columns; ``rename`` overrides titles (by the
    displayed title); ``caption`` goes above, ``notes`` (definitions of the words shown) below.
    """
    frame = result if columns is None else result[[c for c in columns]]
    frame = frame.copy()
    frame.attrs = dict(result.attrs)
    confidence = float(result.attrs.get("confidence", 0.95))
    cells, unbounded = _cells(frame, f"{confidence:.0%} CI")
    if rename:
        cells = cells.rename(columns=dict(rename))
    notes = list(notes) + ([UNBOUNDED_NOTE] if unbounded else [])
    styler = cells.style.hide(axis="index")
    numeric: list[Hashable] = [c for c in cells.columns if _looks_numeric(cells[c])]
    text: list[Hashable] = [c for c in cells.columns if c not in numeric]
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    if text:
        styler = styler.set_properties(subset=text, **{"text-align": "left"})
    styler = styler.set_table_styles(_TABLE_STYLES)  # type: ignore[arg-type]
    words = " ".join(filter(None, [caption or "", *notes]))
    if words:
        styler = styler.set_caption(html.escape(words))
    return styler


def details(summary: str, content: Any, *, open_: bool = False) -> Html:
    """``content`` (a Styler, HTML, or anything with ``_repr_html_``) in a collapsed section."""
    if isinstance(content, Styler):
        inner = content.to_html()
    elif hasattr(content, "_repr_html_"):
        inner = content._repr_html_()
    else:
        inner = str(content)
    flag = " open" if open_ else ""
    return Html(f"<details{flag}><summary>{html.escape(summary)}</summary>{inner}</details>")


def matrix(
    decisions: pd.DataFrame, *, rows: str = "region", columns: str = "security_level"
) -> Html:
    """The verdict matrix of :func:`faceid_tools.analysis.cell_decisions` as a coloured table.

    Each cell holds the verdict in words, the objectives that decide it and, for objectives the
    cell cannot decide alone, the grain that does.  Colours are Okabe–Ito blue (pass), vermillion
    (fail) and grey (not enough data), light tints when the verdict rests on a coarser grain:
    readable with any colour-vision deficiency, and the word is always there too.
    """
    row_values = list(dict.fromkeys(decisions[rows].astype(object)))
    col_values = list(dict.fromkeys(decisions[columns].astype(object)))
    cells: dict[tuple[str, str], Cell] = {}
    for rec in decisions.to_dict("records"):
        word = str(rec["verdict"])
        key = f"{word} (pooled)" if rec["pooled"] and word != "not enough data" else word
        bg, fg = VERDICT_COLOURS[key]
        lines = [f"<strong>{html.escape(key.upper())}</strong>"]
        label = "open" if word == "not enough data" else "decided by"
        lines.append(html.escape(f"{label}: {rec['deciding']}"))
        if rec.get("detail"):
            lines.append(f"<em>{html.escape(str(rec['detail']))}</em>")
        cells[(str(rec[rows]), str(rec[columns]))] = (lines, bg, fg, word)
    columns_ = [str(c) for c in col_values]
    return coloured_matrix(
        [str(r) for r in row_values],
        columns_,
        cells,
        VERDICT_COLOURS,
        kind="verdict",
        column_labels={c: "Level " + LEVEL_NAMES.get(c, c) for c in columns_},
    )
