"""`faceid-tools report --baseline`: the product review's "Since the baseline" section, for real.

Two logs drawn from emulator profiles (the current one with ap-bangkok's median latency raised from
210 to 320 ms), the review rendered by the CLI, and the page read as text: the section is there with
the baseline's provenance, the coloured change matrix names the regression with its interval, the
regression leads the findings, and no missing-value marker shows.  Without a baseline the section
is absent.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html import unescape
from importlib import resources
from pathlib import Path

import pytest

from faceid_tools.simulate import simulate

FORBIDDEN = ("NaN", "None", "<NA>", "nan%")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("baseline")
    slower = (
        resources.files("faceid_tools.emulator")
        .joinpath("profiles/default.toml")
        .read_text("utf-8")
    )
    slower = slower.replace('name = "default"', 'name = "slower-bangkok"')
    slower = re.sub(r"(\[regions\.ap-bangkok\]\nmedian_ms = )210", r"\g<1>320", slower)
    assert "median_ms = 320" in slower
    (folder / "slower.toml").write_text(slower, "utf-8")
    baseline, current = folder / "baseline.sqlite", folder / "current.sqlite"
    simulate(2400, baseline, seed=11, start="2026-11-16T09:00:00Z", campaign_id="week-46")
    simulate(2400, current, profile=folder / "slower.toml", seed=12,
             start="2026-11-23T09:00:00Z", campaign_id="week-47")  # fmt: skip
    return baseline, current


def _review(tmp: Path, data: Path, *extra: str) -> str:
    out = tmp / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "faceid_tools", "report", "--data", str(data), "--only",
         "04-product-review", "--out", str(out), *extra],
        capture_output=True, text=True, timeout=600, cwd=tmp, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return (out / "04-product-review.html").read_text("utf-8")


def _text(page: str) -> str:
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'src="data:[^"]*"', "", page)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", page)))


def test_the_review_shows_what_changed_since_the_baseline(
    logs: tuple[Path, Path], tmp_path: Path
) -> None:
    baseline, current = logs
    page = _review(tmp_path, current, "--baseline", str(baseline))
    text = _text(page)
    assert "Since the baseline" in text
    section = text[text.index("Since the baseline") :]
    assert "Data: baseline.sqlite" in section and "Campaigns: week-46" in section
    assert 'class="change-matrix"' in page
    bangkok = re.search(r"<th[^>]*>ap-bangkok</th>(.*?)</tr>", page[page.index("change-matrix") :])
    assert bangkok and bangkok.group(1).count("REGRESSED") == 4  # every level of the slower region
    assert re.search(r"p50 latency \+\d+ ms \(\+\d+ to \+\d+\)", bangkok.group(1))
    # the lead counts the regressions and names the worst; each is listed once, in its section
    lead = text[text.index("Verdicts") : text.index("Findings")]
    assert re.search(r"Regressions since the baseline: \d+ \(the worst: ap-bangkok", lead)
    sentences = re.findall(r"<li>\s*(Regression:[^<]*)</li>", page)
    assert sentences
    for sentence in sentences:
        assert page.count(sentence) == 1, sentence
    findings = page[page.index(">Findings") : page.index(">Since the baseline")]
    assert "Regression:" not in findings
    assert "Every comparison since the baseline" in text  # the full table, collapsed
    assert not [w for w in FORBIDDEN if w in text]
    assert str(baseline.parent) not in text  # names, never machine paths


def test_without_a_baseline_the_section_is_absent(logs: tuple[Path, Path], tmp_path: Path) -> None:
    text = _text(_review(tmp_path, logs[1]))
    assert "Since the baseline" not in text and "Regression:" not in text


def test_a_missing_baseline_is_bad_input(logs: tuple[Path, Path], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "faceid_tools", "report", "--data", str(logs[1]),
         "--baseline", "nowhere.sqlite"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "faceid-tools report: --baseline: no call log or dataset at nowhere.sqlite"
    ]
