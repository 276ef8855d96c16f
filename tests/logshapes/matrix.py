"""The matrix's cells: each check records ``shape × column -> ok | one line``, and the table.

A check calls :func:`record`; the record is a JSON file in :func:`records_dir`
(``$LOGSHAPES_RECORDS``, default ``<tmp>/logshapes-records``), so workers of pytest-xdist add to
one matrix.  :func:`render` turns the records into a Markdown table, shapes × columns.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from html import unescape
from pathlib import Path

RECORDS_ENV = "LOGSHAPES_RECORDS"
PAGES = ("01-latency", "02-errors", "03-sequences", "04-product-review")
COLUMNS = (*PAGES, "calls", "probe summary", "report --baseline", "analysis")
#: Text no page or command output may show (what a missing value prints as).
FORBIDDEN = re.compile(r"\bNaN\b|\bNone\b|<NA>|\bnan%|\bNaT\b")
OK = "ok"


def records_dir() -> Path:
    folder = Path(os.environ.get(RECORDS_ENV) or Path(tempfile.gettempdir()) / "logshapes-records")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def record(shape: str, column: str, result: str) -> None:
    """Note the cell ``shape × column``: ``ok``, ``said: <its one line>``, or the failure."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{shape}__{column}") + ".json"
    text = json.dumps({"shape": shape, "column": column, "result": result})
    (records_dir() / name).write_text(text, encoding="utf-8")


def page_text(html: str) -> str:
    """What a reader sees of a page: no scripts, styles, tags or embedded images."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'src="data:[^"]*"', "", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def forbidden_in(text: str) -> str | None:
    """The first missing-value marker in ``text`` with a little context, or None."""
    found = FORBIDDEN.search(text)
    if found is None:
        return None
    lo, hi = max(0, found.start() - 50), found.end() + 30
    return f"shows {found.group(0)!r}: …{text[lo:hi].strip()}…"


def is_pass(result: str) -> bool:
    return result.startswith((OK, "said: "))


def render(folder: Path | None = None, shapes: tuple[str, ...] = ()) -> str:
    """The records as a Markdown table (rows in ``shapes`` order, then any other)."""
    cells: dict[str, dict[str, str]] = {}
    for file in sorted((folder or records_dir()).glob("*.json")):
        rec = json.loads(file.read_text(encoding="utf-8"))
        cells.setdefault(rec["shape"], {})[rec["column"]] = rec["result"]
    order = [s for s in shapes if s in cells] + sorted(set(cells) - set(shapes))
    lines = [
        "| shape | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for shape in order:
        row = [cells[shape].get(c, "—").replace("|", "\\|") for c in COLUMNS]
        lines.append(f"| {shape} | " + " | ".join(row) + " |")
    bad = sum(not is_pass(r) for s in cells.values() for r in s.values())
    total = sum(len(s) for s in cells.values())
    lines += [
        "",
        f"{total - bad} of {total} cells pass (ok, or a one-line 'said:' of what the log lacks).",
    ]
    return "\n".join(lines) + "\n"
