"""The four pages rendered from the shipped sample, opened in a real headless Chromium.

Each page gets a small script appended (to a copy) that runs after load and writes what the
browser sees into the DOM: every image's natural size, the visible text, the computed colours of
the verdict matrix.  ``chromium --dump-dom`` returns that DOM.  No mock stands in for the browser.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from faceid_tools.packaged import sample_path  # the shipped sample, whatever the folder holds
from faceid_tools.report.notebooks import render_reports

PAGES = ("01-latency", "02-errors", "03-sequences", "04-product-review")
FORBIDDEN = ("NaN", "None", "<NA>", "nan%", "[?", "?]")

_PROBE = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(img => ({
    complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    alt: img.alt || "" }));
  const verdicts = Array.from(document.querySelectorAll("td.verdict")).map(td => ({
    text: td.innerText, background: getComputedStyle(td).backgroundColor,
    margin: td.classList.contains("verdict-margin"), italic: getComputedStyle(td).fontStyle,
    left: getComputedStyle(td).borderLeftStyle, top: getComputedStyle(td).borderTopStyle }));
  const result = { images, verdicts, visible: document.body.innerText,
                   all: document.body.textContent };
  const pre = document.createElement("pre");
  pre.id = "browser-probe";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium on PATH: scripts/system-deps installs Debian's chromium")


def _open(page: Path, profile: Path) -> dict[str, object]:
    probed = page.with_name(page.stem + ".probe.html")
    probed.write_text(page.read_text("utf-8").replace("</body>", _PROBE + "</body>"), "utf-8")
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probed.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'<pre id="browser-probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, f"Chromium did not run the page's probe: {done.stderr[-500:]}"
    import html

    result: dict[str, object] = json.loads(html.unescape(match.group(1)))
    return result


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("pages")
    paths = render_reports(sample_path(), out)
    assert [p.stem for p in paths] == list(PAGES)
    profile = tmp_path_factory.mktemp("chromium-profile")
    return {p.stem: _open(p, profile) for p in paths}


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads_with_a_size(seen: dict[str, dict[str, object]], page: str) -> None:
    images = seen[page]["images"]
    assert isinstance(images, list) and images, f"{page} shows no figure"
    for img in images:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, (page, img)
        assert img["alt"] and img["alt"] != "Figure", (page, img)


@pytest.mark.parametrize("page", PAGES)
def test_no_missing_value_markers_anywhere(seen: dict[str, dict[str, object]], page: str) -> None:
    for key in ("visible", "all"):  # what shows, and what a collapsed section holds
        text = str(seen[page][key])
        found = [word for word in FORBIDDEN if word in text]
        assert not found, f"{page} ({key} text) shows {found}"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_its_provenance_not_its_parameters(
    seen: dict[str, dict[str, object]], page: str
) -> None:
    visible = str(seen[page]["visible"])
    for label in ("Data:", "Campaigns:", "Time span:", "Counted:", "Service:", "Toolkit:"):
        assert label in visible, f"{page} lacks the provenance line {label!r}"
    assert "Data: the sample call log packaged with faceid-tools" in visible
    assert "DATA =" not in visible and "# Parameters" not in visible
    assert str(sample_path().parent) not in str(seen[page]["all"])  # no machine path
    title = visible.index("Product review" if page.startswith("04") else page[:2] + " ·")
    assert title < visible.index("Data:")


def test_the_review_shows_a_coloured_verdict_matrix(seen: dict[str, dict[str, object]]) -> None:
    shown = seen["04-product-review"]["verdicts"]
    assert isinstance(shown, list)
    cells = [c for c in shown if not c["margin"]]
    margins = [c for c in shown if c["margin"]]
    assert len(cells) == 12 and len(margins) == 3 + 4 + 1
    palette = {
        "rgb(0, 114, 178)": "PASS",
        "rgb(213, 94, 0)": "FAIL",
        "rgb(230, 230, 230)": "NOT ENOUGH DATA",
    }
    for cell in shown:
        word = palette.get(cell["background"])
        assert word is not None, cell
        assert cell["text"].splitlines()[0] == word, cell  # the word matches the colour
        assert (
            "open:" in cell["text"]
            or "fails:" in cell["text"]
            or "all 3 objectives" in cell["text"]
        )
    for margin in margins:  # set apart: italics and a double rule on the side facing the cells
        assert margin["italic"] == "italic", margin
        assert "double" in (margin["left"], margin["top"]), margin
    assert all(c["italic"] == "normal" for c in cells)
    visible = str(seen["04-product-review"]["visible"])
    assert "all levels" in visible and "all regions" in visible
    assert visible.index("Verdicts") < visible.index("Findings") < visible.index("Evidence")
    lead = visible.split("Verdicts", 1)[1].split("Findings", 1)[0]
    assert "faceid-tools probe --until-decided" in lead and "calls/s" in lead
    assert visible.count("faceid-tools probe --until-decided --") == 1  # said once, in the lead
    assert "fixed-sample" in visible.split("Verdicts", 1)[0]
