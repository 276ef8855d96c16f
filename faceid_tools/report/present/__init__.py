"""What the pages show, as a review meeting reads it: tables, formatted values, the review's matrix.

:func:`table` turns any result of :mod:`faceid_tools.analysis` into a styled HTML table: human
column titles, no index column, an estimate and its interval in one cell (``612 ms (540–700)``),
ms as integers, rates as percent, counts with thousands separators, and never ``NaN``/``None``: a
missing value is ``—`` and an unbounded side of an interval is written as what it means (``≥ 540``
when the data cannot bound the upper side), each explained in the table's caption.

The product review (:mod:`.review`): :func:`matrix` (cells and margins, each with its own verdict),
:func:`lead` (the lines above it), :func:`evidence`, :func:`decided_per_grain`,
:func:`probe_command` / :func:`probe_line` (the command that decides the open cells),
:func:`since_baseline` (:func:`change_matrix_html`, :func:`change_table` and their words;
``change_matrix`` is its former name, kept as an alias); :func:`top_findings` (the
findings as sentences, each written by :func:`finding_text`); :func:`change_findings` and
:func:`describe_data` (what changed since the baseline and what a log holds, in words); :func:`provenance_markdown`
(the block a page opens with).
"""

from __future__ import annotations

from ._format import (
    LEVEL_NAMES,
    MISSING,
    PROPERTY_NAMES,
    count,
    interval,
    is_missing,
    ms,
    p_text,
    pct,
    signed,
)
from ._html import Html
from ._table import comparison_table, details, table
from .baseline import change_table, since_baseline
from .changes import (
    CHANGE_COLOURS,
    change_findings,
    change_matrix,
    change_matrix_html,
    describe_data,
)
from .findings import finding_text, top_findings
from .provenance import provenance_facts, provenance_markdown
from .review import (
    VERDICT_COLOURS,
    decided_per_grain,
    evidence,
    interval_kind,
    lead,
    matrix,
    objectives,
    probe_command,
    probe_line,
)

__all__ = [
    "CHANGE_COLOURS",
    "LEVEL_NAMES",
    "MISSING",
    "PROPERTY_NAMES",
    "VERDICT_COLOURS",
    "Html",
    "change_findings",
    "change_matrix",
    "change_matrix_html",
    "change_table",
    "comparison_table",
    "count",
    "decided_per_grain",
    "describe_data",
    "details",
    "evidence",
    "finding_text",
    "interval",
    "interval_kind",
    "is_missing",
    "lead",
    "matrix",
    "ms",
    "objectives",
    "p_text",
    "pct",
    "probe_command",
    "probe_line",
    "provenance_facts",
    "provenance_markdown",
    "signed",
    "since_baseline",
    "table",
    "top_findings",
]
