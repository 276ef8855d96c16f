"""The "Since the baseline" section of the product review, from a :func:`compare_to_baseline` table.

* :func:`describe_data` — one line on what a log (or window of one) holds: calls, campaigns, days;
* :func:`change_matrix` — region × level, the most alarming verdict of the cell's metrics (or
  one metric's): ``regressed`` > ``improved`` > ``not enough data`` > ``no evidence of change``;
* :func:`change_findings` — sentences, regressions first (smallest Holm-adjusted p first), then
  improvements, then what showed no evidence or lacked data; every change with its interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..client.vocabulary import METRIC_NAMES
from ..errors import InputError
from ._data import missing_name, resolve, sort_values_of
from .baseline import CHANGE_VERDICTS, HIGHER_IS_WORSE, IMPROVED, NO_CHANGE, REGRESSED, UNDECIDED
from .error_rates import error_rates
from .review import worst_per_cell

__all__ = ["METRIC_NAMES", "change_findings", "change_matrix", "describe_data"]


def describe_data(data: Any) -> str:
    """What ``data`` holds, in one line: calls, campaigns and UTC days (from aggregates only)."""
    src = resolve(data)
    by_campaign = error_rates(src, "campaign_id", per="call")
    by_day = error_rates(src, "day", per="call")
    calls = int(by_campaign["n"].sum())
    if not calls:
        return "no GenerateReflectSequence calls"
    listed = sort_values_of("campaign_id", by_campaign.loc[by_campaign["n"] > 0, "campaign_id"])
    names = [str(c) for c in listed]
    outside = len(sort_values_of("campaign_id", by_campaign["campaign_id"], missing=True)) > len(
        names
    )
    days = by_day.loc[by_day["n"] > 0, "day"]
    first, last = days.min().date().isoformat(), days.max().date().isoformat()
    span = first if first == last else f"{first} to {last}"
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    campaigns = (
        f"{len(names)} campaign{'s' if len(names) != 1 else ''} ({shown})"
        + (f" and calls with {missing_name('campaign_id')}" if outside else "")
        if names
        else missing_name("campaign_id")
    )
    return f"{calls:,} calls, {campaigns}, {span} (UTC)"


def change_matrix(
    changes: pd.DataFrame,
    metric: str | None = None,
    *,
    rows: str = "region",
    columns: str = "security_level",
) -> pd.DataFrame:
    """The verdicts as a ``rows`` × ``columns`` table: one metric's, or the most alarming."""
    _check_table(changes)
    for key in (rows, columns):
        if key not in changes.columns:
            raise InputError(
                f"{key!r} is not a group key of this comparison ({changes.attrs['by']})"
            )
    frame = changes if metric is None else changes[changes["metric"] == metric]
    if frame.empty:
        raise InputError(f"metric: no rows for {metric!r}; use one of {sorted(HIGHER_IS_WORSE)}")
    # CHANGE_VERDICTS lists the most alarming first
    return worst_per_cell(frame, CHANGE_VERDICTS[::-1], rows=rows, columns=columns)


def change_findings(changes: pd.DataFrame, *, limit: int | None = 10) -> list[str]:
    """Sentences on what changed since the baseline: regressions first, then improvements (each
    with its interval and Holm-adjusted p), then one line on the rest.  ``limit`` caps the
    regression and improvement sentences (the rest are counted)."""
    _check_table(changes)
    keys = list(changes.attrs["by"])
    level = f"{changes.attrs['confidence']:.0%}"
    out: list[str] = []
    for verdict in (REGRESSED, IMPROVED):
        rows = changes[changes["verdict"] == verdict].sort_values(
            ["p_holm", "metric"], kind="stable"
        )
        recs = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
        shown = recs if limit is None else recs[:limit]
        out += [_sentence(rec, keys, level) for rec in shown]
        if len(recs) > len(shown):
            out.append(f"… and {len(recs) - len(shown)} more {verdict} rows (see the table).")
    total = len(changes)
    if not (changes["verdict"].isin([REGRESSED, IMPROVED])).any():
        out.insert(0, "Nothing regressed or improved beyond chance since the baseline.")
    quiet = int((changes["verdict"] == NO_CHANGE).sum())
    lacking = changes[changes["verdict"] == UNDECIDED]
    rest = f"No evidence of change in {quiet} of {total} comparisons"
    if len(lacking):
        what = ", ".join(sorted({METRIC_NAMES[m] for m in lacking["metric"]}))
        rest += f"; {len(lacking)} lack the data on one side ({what})"
    out.append(rest + ".")
    return out


def _check_table(changes: pd.DataFrame) -> None:
    made_by = changes.attrs.get("analysis")
    if made_by != "compare_to_baseline" or not {"metric", "verdict"} <= set(changes.columns):
        raise InputError("changes: expected the result of analysis.compare_to_baseline")


def _cell(rec: dict[str, Any], keys: Sequence[str]) -> str:
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


def _sentence(rec: dict[str, Any], keys: Sequence[str], level: str) -> str:
    metric = str(rec["metric"])
    name = METRIC_NAMES[metric]
    moved = "rose" if rec["change"] > 0 else "fell"
    lo, hi = rec["change_lo"], rec["change_hi"]
    interval = (
        f"{level} CI {_delta(metric, lo)} to {_delta(metric, hi)}"
        if not (math.isnan(lo) or math.isnan(hi))
        else "no interval"
    )
    text = (
        f"{name} {moved} in {_cell(rec, keys)}: "
        f"{_value(metric, rec['baseline'])} → {_value(metric, rec['current'])}, "
        f"{_delta(metric, rec['change'])} ({interval}; Holm-adjusted {_p(rec['p_holm'])})"
    )
    return f"{'Regression' if rec['verdict'] == REGRESSED else 'Improvement'}: {text}."
