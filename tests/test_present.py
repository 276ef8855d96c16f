"""Tables as the pages show them: units, intervals in one cell, no NaN, no index column."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

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
    # the margins: one per region, one per level, the corner; apart, in italics, headed
    assert html.count('class="verdict-margin verdict verdict-') == 3 + 4 + 1
    assert "all levels" in html and "all regions" in html and "double" in html
    assert "italic" in html and "pooled" not in html.lower()
    for word, (bg, _) in present.VERDICT_COLOURS.items():
        if word.upper() in html:
            assert bg in html
    assert "open:" in html or "fails:" in html
    folded = str(present.details("More", present.table(verdicts)))
    assert folded.startswith("<details><summary>More</summary>") and "</table>" in folded


def _cell_html(html: str, row: str, column: int) -> str:
    """The HTML of one body cell: ``row``'s ``column``-th td (0-based)."""
    start = html.index(f">{row}</th>")
    tds = re.findall(r"<td[^>]*>.*?</td>", html[start : html.index("</tr>", start)])
    return tds[column]


def test_on_the_sample_a_cell_shows_its_own_verdict_not_a_pooled_one() -> None:
    """ap-bangkok level 4's p95 is 837 ms (690–889) on the sample: undecided in the cell, even
    though all calls pooled pass it."""
    from tests.fixtures.worktree import SAMPLE  # the shipped sample, named: never make demo's log

    verdicts = analysis.slo_verdicts(SAMPLE / "calls.sqlite")
    html = str(present.matrix(analysis.cell_decisions(verdicts)))
    cell = _cell_html(html, "ap-bangkok", 3)
    assert "NOT ENOUGH DATA" in cell and "p95 latency" in cell and "more calls" in cell
    assert "PASS" not in cell
    corner = _cell_html(html, "all regions", 4)
    assert "verdict-margin" in corner and "PASS" in corner


def test_labels_follow_the_confidence() -> None:
    frame = draw_log(Profile.default(), 5, 40, downloads=1.0)
    integrity = present.table(
        analysis.integrity_rate(frame, by="region", confidence=0.9), rename={"rate": "Integrity"}
    ).to_html()
    assert "Integrity (90% CI)" in integrity and "95%" not in integrity
    verdicts = analysis.slo_verdicts(frame, confidence=0.9)
    assert "Estimate (90% CI)" in present.evidence(verdicts).to_html()
    assert "90%" in str(present.objectives(verdicts)) and "fixed-sample" in str(
        present.objectives(verdicts)
    )
    pairs = analysis.compare_latency(frame, confidence=0.9)
    text = present.comparison_table(pairs).to_html()
    assert "90% simultaneous" in text and "p (Holm) &lt; 0.1 " in text and "95%" not in text
    verdicts.attrs["intervals"] = "anytime"
    assert "anytime-valid 90%" in present.interval_kind(verdicts)


def test_the_lead_counts_names_the_worst_and_the_command_that_decides_the_rest() -> None:
    frame = draw_log(Profile.default(), 6, 60, downloads=1.0)
    verdicts = analysis.slo_verdicts(frame)
    plan = analysis.probe_plan(verdicts)
    assert plan is not None
    lead = present.lead(verdicts, emulator=True, retries=2)
    cells = analysis.cell_decisions(verdicts)
    open_cells = int(
        (cells["grain"].eq("region × security_level") & cells["open"].map(len).gt(0)).sum()
    )
    assert f"{open_cells} open cell" in lead and f"about {plan.calls:,} calls" in lead
    assert f"≈ {plan.calls / 5 / 60:,.0f} minute" in lead
    command = present.probe_command(verdicts, emulator=True, retries=2)
    assert command is not None and command in lead
    assert command.startswith("faceid-tools probe --until-decided --emulator --regions ")
    assert " ".join(["--levels", *plan.levels]) in command and command.endswith("--retries 2")
    # non-default objectives travel with the command, so the probe judges what the page judged
    strict = analysis.slo_verdicts(frame, analysis.SLO(error_rate=0.02))
    assert "--slo-error-rate 0.02" in (present.probe_command(strict) or "")
    from faceid_tools.cli import build_parser

    parser = build_parser()
    try:
        parser.parse_args(["probe", "--until-decided", "--emulator"])
    except SystemExit:
        pytest.skip("faceid-tools probe --until-decided is not in this build yet")
    parsed = parser.parse_args(command.split()[1:])  # the CLI accepts it as it stands
    assert parsed.regions == list(plan.regions)
