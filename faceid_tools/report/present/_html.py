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


def coloured_matrix(
    rows: list[str],
    columns: list[str],
    cells: dict[tuple[str, str], Cell],
    legend: dict[str, tuple[str, str]],
    *,
    kind: str,
    column_labels: dict[str, str] | None = None,
) -> Html:
    """A region × level grid of coloured cells with a legend, as the review's matrices draw it.

    ``kind`` names the CSS classes: the table is ``<kind>-matrix``, each cell ``<kind>
    <kind>-<word>``, the legend ``<kind>-legend``; ``column_labels`` titles the columns.
    """
    labels = column_labels or {}
    head = "".join(
        f"<th style='text-align:left;padding:4px 10px'>{html.escape(labels.get(c, c))}</th>"
        for c in columns
    )
    body = []
    for r in rows:
        tds = []
        for c in columns:
            cell = cells.get((r, c))
            if cell is None:
                tds.append(f'<td class="{kind}">—</td>')
                continue
            lines, bg, fg, word = cell
            tds.append(
                f'<td class="{kind} {kind}-{word.replace(" ", "-")}" '
                f'style="background:{bg};color:{fg};padding:8px 10px;vertical-align:top;'
                f'text-align:left;border:2px solid white;min-width:11em">{"<br>".join(lines)}</td>'
            )
        body.append(f"<tr><th style='text-align:left;padding-right:10px'>{html.escape(r)}"
                    f"</th>{''.join(tds)}</tr>")  # fmt: skip
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
