"""The "Since the baseline" section of the product review, from a :func:`compare_to_baseline` table.

* :func:`describe_data` — what a log (or window of one) holds: calls, campaigns, days (DataSpan);
* :func:`change_matrix` — region × level, the most alarming verdict of the cell's metrics (or
  one metric's): ``regressed`` > ``improved`` > ``not enough data`` > ``no evidence of change``;
* :func:`change_findings` — the changes a page names, regressions first (smallest Holm-adjusted p
  first), then improvements, and the counts of the rest (:class:`ChangeFindings`); the sentences
  are the page's (:mod:`faceid_tools.report.present.changes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from ..client.vocabulary import METRIC_NAMES
from ..errors import InputError
from ._data import resolve, sort_values_of
from .baseline import CHANGE_VERDICTS, HIGHER_IS_WORSE, IMPROVED, NO_CHANGE, REGRESSED, UNDECIDED
from .error_rates import error_rates
from .review import worst_per_cell

__all__ = [
    "METRIC_NAMES",
    "ChangeFindings",
    "DataSpan",
    "change_findings",
    "change_matrix",
    "describe_data",
]


@dataclass(frozen=True)
class DataSpan:
    """What a log (or a window of one) holds: its calls, campaigns and UTC days."""

    calls: int
    campaigns: list[str]
    unlabelled: bool  # calls without a campaign id besides the named campaigns
    first: date | None
    last: date | None


def describe_data(data: Any) -> DataSpan:
    """What ``data`` holds: calls, campaigns and UTC days (from aggregates only); the page's
    line: :func:`faceid_tools.report.present.describe_data`."""
    src = resolve(data)
    by_campaign = error_rates(src, "campaign_id", per="call")
    by_day = error_rates(src, "day", per="call")
    calls = int(by_campaign["n"].sum())
    if not calls:
        return DataSpan(0, [], False, None, None)
    listed = sort_values_of("campaign_id", by_campaign.loc[by_campaign["n"] > 0, "campaign_id"])
    names = [str(c) for c in listed]
    every = sort_values_of("campaign_id", by_campaign["campaign_id"], missing=True)
    days = by_day.loc[by_day["n"] > 0, "day"]
    return DataSpan(calls, names, len(every) > len(names), days.min().date(), days.max().date())


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


@dataclass(frozen=True)
class ChangeFindings:
    """What changed since the baseline, as the page lists it: the ``named`` rows of
    :func:`compare_to_baseline` (regressions, then improvements, smallest Holm-adjusted p first),
    how many of each verdict were left out (``more``), and the counts of the rest."""

    named: pd.DataFrame
    more: dict[str, int]
    unchanged: int
    total: int
    lacking: int
    lacking_metrics: list[str]
    keys: list[str]
    confidence: float

    @property
    def any_change(self) -> bool:
        """Whether anything regressed or improved."""
        return bool(len(self.named) or any(self.more.values()))


def change_findings(changes: pd.DataFrame, *, limit: int | None = 10) -> ChangeFindings:
    """The changes since the baseline a page names: regressions first, then improvements (each
    with its interval and Holm-adjusted p), then the counts of the rest.  ``limit`` caps the
    regressions and the improvements named (the rest are counted).  The sentences:
    :func:`faceid_tools.report.present.change_findings`."""
    _check_table(changes)
    named, more = [], {}
    for verdict in (REGRESSED, IMPROVED):
        rows = changes[changes["verdict"] == verdict].sort_values(
            ["p_holm", "metric"], kind="stable"
        )
        shown = rows if limit is None else rows.iloc[:limit]
        named.append(shown)
        more[verdict] = len(rows) - len(shown)
    lacking = changes[changes["verdict"] == UNDECIDED]
    return ChangeFindings(
        named=pd.concat(named).reset_index(drop=True),
        more=more,
        unchanged=int((changes["verdict"] == NO_CHANGE).sum()),
        total=len(changes),
        lacking=len(lacking),
        lacking_metrics=sorted({str(m) for m in lacking["metric"]}),
        keys=list(changes.attrs["by"]),
        confidence=float(changes.attrs["confidence"]),
    )


def _check_table(changes: pd.DataFrame) -> None:
    made_by = changes.attrs.get("analysis")
    if made_by != "compare_to_baseline" or not {"metric", "verdict"} <= set(changes.columns):
        raise InputError("changes: expected the result of analysis.compare_to_baseline")
