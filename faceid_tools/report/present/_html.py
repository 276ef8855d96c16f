"""An HTML fragment that Jupyter displays as such."""

from __future__ import annotations

import html

__all__ = ["Cell", "Html", "coloured_matrix"]


class Html:
    """A piece of HTML that Jupyter displays as such (``_repr_html_``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


#: One coloured cell of a matrix: its lines (already escaped HTML), background, text colour, the
#: word that names its class (e.g. ``"pass"``), or None for a group with no data.
Cell = tuple[list[str], str, str, str] | None


#: Where the margins of a matrix go: the column per row (its ``columns`` pooled), the row per
#: column (its ``rows`` pooled), the corner (everything pooled) and their two headings.
_MARGIN_TD = "font-style:italic;border:2px solid white;"
_MARGIN_EDGE = {"left": "border-left:4px double #555;", "top": "border-top:4px double #555;"}


def _td(kind: str, cell: Cell, extra: str = "") -> str:
    if cell is None:
        return f'<td class="{kind}" style="{extra}">—</td>'
    lines, bg, fg, word = cell
    return (
        f'<td class="{kind} {kind}-{word.replace(" ", "-")}" '
        f'style="background:{bg};color:{fg};padding:8px 10px;vertical-align:top;'
        f'text-align:left;border:2px solid white;min-width:11em;{extra}">{"<br>".join(lines)}</td>'
    )


def coloured_matrix(
    rows: list[str],
    columns: list[str],
    cells: dict[tuple[str, str], Cell],
    legend: dict[str, tuple[str, str]],
    *,
    kind: str,
    column_labels: dict[str, str] | None = None,
    margins: tuple[dict[str, Cell], dict[str, Cell], Cell, str, str] | None = None,
) -> Html:
    """A region × level grid of coloured cells with a legend, as the review's matrices draw it.

    ``kind`` names the CSS classes: the table is ``<kind>-matrix``, each cell ``<kind>
    <kind>-<word>``, the legend ``<kind>-legend``; ``column_labels`` titles the columns.
    ``margins`` = (cell per row, cell per column, corner cell, column heading, row heading) adds
    a last column and a last row set apart by a double rule, in italics, with class
    ``<kind>-margin``: groups pooled over the other key, each with its own verdict.
    """
    labels = column_labels or {}
    th = "text-align:left;padding:4px 10px"
    head = "".join(f"<th style='{th}'>{html.escape(labels.get(c, c))}</th>" for c in columns)
    if margins is not None:
        head += (
            f"<th class='{kind}-margin' style='{th};font-style:italic;{_MARGIN_EDGE['left']}'>"
            f"{html.escape(margins[3])}</th>"
        )
    body = []
    for r in rows:
        tds = "".join(_td(kind, cells.get((r, c))) for c in columns)
        if margins is not None:
            tds += _margin(kind, margins[0].get(r), _MARGIN_EDGE["left"])
        body.append(f"<tr><th style='text-align:left;padding-right:10px;white-space:nowrap'>{html.escape(r)}"
                    f"</th>{tds}</tr>")  # fmt: skip
    if margins is not None:
        top = _MARGIN_EDGE["top"]
        tds = "".join(_margin(kind, margins[1].get(c), top) for c in columns)
        tds += _margin(kind, margins[2], top + _MARGIN_EDGE["left"])
        body.append(
            f"<tr><th class='{kind}-margin' style='text-align:left;padding-right:10px;white-space:nowrap;"
            f"font-style:italic;{top}'>{html.escape(margins[4])}</th>{tds}</tr>"
        )
    key = " ".join(
        f'<span style="background:{bg};color:{fg};padding:2px 8px;margin-right:6px">'
        f"{html.escape(v)}</span>"
        for v, (bg, fg) in legend.items()
    )
    return Html(
        f'<table class="{kind}-matrix" style="border-collapse:collapse;font-size:0.95em">'
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<p class="{kind}-legend" style="font-size:0.88em">{key}</p>'
    )


def _margin(kind: str, cell: Cell, edge: str) -> str:
    """A margin cell: the class ``<kind>-margin`` besides its verdict's, italics, a double rule."""
    text = _td(kind, cell, _MARGIN_TD + edge)
    return text.replace(f'class="{kind} ', f'class="{kind}-margin {kind} ', 1).replace(
        f'class="{kind}"', f'class="{kind}-margin {kind}"', 1
    )
