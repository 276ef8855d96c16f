"""Tables as the pages show them: units, intervals in one cell, no NaN, no index column."""

from __future__ import annotations

import math
import re

import pandas as pd

from faceid_tools import analysis
from faceid_tools.emulator.profile import Profile
from faceid_tools.report import present
from tests.analysis._logs import draw_log


def test_interval_cells_write_what_an_unbounded_side_means() -> None:
    assert present.interval(612.4, 540.0, 700.2) == "612 ms (540–700)"
    assert present.interval(1097.0, 950.0, math.nan) == "1,097 ms (≥ 950)"
    assert present.interval(50.0, math.nan, 70.0) == "50 ms (≤ 70)"
    assert present.interval(math.nan, 1.0, 2.0) == "—"
    assert present.interval(0.0052, 0.001, 0.02, present.pct) == "0.52% (0.10%–2.00%)"
    assert present.count(12345) == "12,345" and present.count(pd.NA) == "—"


def test_a_result_table_has_human_titles_units_and_no_missing_markers() -> None:
    frame = draw_log(Profile.default(), 3, 40, retries=1, downloads=1.0)
    html = present.table(analysis.latency_summary(frame, "region")).to_html()
    assert "NaN" not in html and "None" not in html and "&lt;NA&gt;" not in html
    assert "p99 (95% CI)" in html and "p99_lo" not in html
    assert "≥" in html  # 40 calls per region cannot bound the p99 from above ...
    assert "too few observations" in html  # ... and the caption says what that means
    assert re.search(r"\d+ ms \(\d", html)
    assert 'class="row_heading' not in html  # no index column
    props = present.table(analysis.sequence_properties(frame)).to_html()
    assert "Byte entropy" in props and "bits/byte" in props and "seq_entropy" not in props
    assert "bytes (" in props and "bytes–" not in props  # the unit once, on the estimate
    counts = present.table(analysis.summary_table(frame, by=())).to_html()
    assert ".0000" not in counts and "Error rate (95% CI)" in counts


def test_the_verdict_matrix_colours_and_names_every_cell() -> None:
    frame = draw_log(Profile.default(), 4, 60, downloads=1.0)
    verdicts = analysis.slo_verdicts(frame)
    html = str(present.matrix(analysis.cell_decisions(verdicts)))
    assert html.count('class="verdict verdict-') == 12
    for word, (bg, _) in present.VERDICT_COLOURS.items():
        if word.upper() in html:
            assert bg in html
    assert "decided by:" in html or "open:" in html
    folded = str(present.details("More", present.table(verdicts)))
    assert folded.startswith("<details><summary>More</summary>") and "</table>" in folded
