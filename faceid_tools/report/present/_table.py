"""Analysis results as styled tables (pandas ``Styler``): human column titles, no index column,
an estimate and its interval in one cell (``612 ms (540–700)``), units, and never ``NaN``."""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from ._format import (
    LEVEL_NAMES,
    MISSING,
    PROPERTY_NAMES,
    UNBOUNDED_NOTE,
    count,
    interval,
    is_missing,
    ms,
    p_text,
    pct,
    signed,
)
from ._html import Html

__all__ = ["comparison_table", "details", "table"]

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


def _plain(v: Any) -> str:
    if is_missing(v):
        return MISSING
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def _key_text(key: str, v: Any) -> str:
    if is_missing(v):
        return "all" if key in ("region", "security_level") else MISSING
    if key == "security_level":
        return LEVEL_NAMES.get(str(v), str(v))
    if key in ("minute", "hour"):
        return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")
    if key == "day":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    return str(v)


def _title(column: str) -> str:
    """A column name as a title: underscores to spaces, the first letter capital, the rest kept."""
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


def _is_quantile(column: str) -> bool:
    return column.startswith("p") and column[1:].isdigit()


def _with_unit(unit: str) -> Callable[[Any], str]:
    """A formatter for values in ``unit``: two decimals for bits/byte, integers otherwise."""
    decimals = 2 if unit == "bits/byte" else 0
    return lambda v: MISSING if is_missing(v) else f"{float(v):,.{decimals}f} {unit}"


def _unit_of(column: str, result: pd.DataFrame) -> Callable[[Any], str]:
    """How one estimate column is written, from its name and the result's kind."""
    kind = result.attrs.get("analysis", "")
    if column == "diff":
        return (lambda v: signed(v, "pts")) if kind == "compare_error_rates" else signed
    if "rate" in column or column == "share":
        return pct
    if column.startswith("p") and column[1:].isdigit():
        return ms
    if column.startswith("median") or column.endswith("_ms"):
        return ms
    return _plain


def _cells(result: pd.DataFrame, ci: str, names: Mapping[str, str]) -> tuple[pd.DataFrame, bool]:
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
        title = names.get(c) or _TITLES.get(c, c if _is_quantile(c) else _title(c))
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
            out[title] = [p_text(r[c]) for r in recs]
        elif result[c].dtype == bool or c in ("significant", "conforms"):
            out[title] = [MISSING if is_missing(r[c]) else ("yes" if r[c] else "no") for r in recs]
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

    ``columns`` picks and orders the result's columns; ``rename`` overrides titles, by the
    result's column name (``{"rate": "Integrity"}``: the interval's ``(95% CI)`` is still added
    at the result's confidence) or else by the displayed title; ``caption`` goes above, ``notes`` (definitions of the words shown) below.
    """
    frame = result if columns is None else result[[c for c in columns]]
    frame = frame.copy()
    frame.attrs = dict(result.attrs)
    confidence = float(result.attrs.get("confidence", 0.95))
    by_column = {k: v for k, v in (rename or {}).items() if k in frame.columns}
    cells, unbounded = _cells(frame, f"{confidence:.0%} CI", by_column)
    rest = {k: v for k, v in (rename or {}).items() if k not in by_column}
    if rest:
        cells = cells.rename(columns=rest)
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


def comparison_table(result: pd.DataFrame, *, brief: bool = False) -> Styler:
    """A :func:`compare_latency` / :func:`compare_error_rates` result as a table, with the notes
    that define its columns at the result's confidence and alpha.  ``brief``: the pair, the
    difference and the verdict only."""
    kind = result.attrs.get("analysis")
    if kind not in ("compare_latency", "compare_error_rates"):
        raise ValueError("comparison_table takes a compare_latency or compare_error_rates result")
    latency = kind == "compare_latency"
    within = list(result.attrs.get("within") or [])
    sides = ["median_a", "median_b"] if latency else ["rate_a", "rate_b"]
    tests = ["p_holm"] if brief else ["p_value", "p_holm"]
    columns = [*within, "a", "b", *([] if brief else sides), "diff", "diff_lo", "diff_hi"]
    alpha = float(result.attrs.get("alpha", 0.05))
    confidence = float(result.attrs.get("confidence", 0.95))
    what = "median of A − median of B" if latency else "rate of A − rate of B, percentage points"
    test = "Mann–Whitney" if latency else "Fisher exact"
    note = (
        f"Difference: {what}, with its {confidence:.0%} simultaneous interval (Bonferroni over the "
        f"{len(result)} pairs, so all hold together). p: {test}; p (Holm): adjusted for the "
        f"number of pairs. Significant: p (Holm) < {alpha:g} and the interval excludes 0."
    )
    if result.get("widened", pd.Series(dtype=bool)).any():
        note += " An interval the test does not confirm is widened to reach 0."
    return table(result, columns=[*columns, *tests, "significant"], notes=[note])
