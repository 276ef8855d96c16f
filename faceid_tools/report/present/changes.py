"""The "Since the baseline" matrix: region × level, each cell's verdict in words and colour."""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping
from typing import Any

import pandas as pd

from ...analysis.baseline import CHANGE_VERDICTS
from ...client.vocabulary import LEVEL_NAMES, METRIC_NAMES
from ._html import Cell, coloured_matrix

__all__ = ["CHANGE_COLOURS", "change_matrix", "change_matrix_html"]

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
