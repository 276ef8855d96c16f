"""``faceid_tools.live.watch``: a live until-decided campaign in a notebook, and a clean stop."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import nbformat

from faceid_tools.emulator.server import Emulator
from faceid_tools.live import watch
from faceid_tools.report import execute_notebook

WATCH = """\
from faceid_tools.emulator.server import Emulator
from faceid_tools.live import watch

with Emulator("reliable", time_scale=1.0) as emu:
    result = watch(emu, log=LOG, refresh_s=1.0, budget_calls=16, progress=True,
                   regions=("ap-singapore",), levels=("1", "2"))
print("calls", result.summary.calls)
"""


def test_watch_in_a_notebook_shows_the_matrix(tmp_path: Path) -> None:
    params = nbformat.v4.new_code_cell('LOG = ""')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(WATCH)])
    path = tmp_path / "live.ipynb"
    nbformat.write(nb, path)
    log = tmp_path / "calls.sqlite"
    done = execute_notebook(path, {"LOG": str(log)}, timeout=300)
    outputs = done.notebook.cells[-1].outputs
    html = [
        o for o in outputs if o.get("output_type") == "display_data" and "text/html" in o["data"]
    ]
    assert html, outputs
    assert "ap-singapore" in html[-1]["data"]["text/html"]
    assert any("calls 16" in o.get("text", "") for o in outputs if o["output_type"] == "stream")


def test_interrupting_watch_stops_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "calls.sqlite"
    shown: list[Any] = []

    def display(view: Any) -> None:  # the first refresh is "the user pressed stop"
        shown.append(view)
        if len(shown) == 1:
            raise KeyboardInterrupt

    with Emulator("reliable", time_scale=1.0) as emu:
        result = watch(
            emu, log=log, refresh_s=2.0, display=display, progress=False, budget_calls=200
        )
    assert result.interrupted and result.summary.abandoned == 0
    conn = sqlite3.connect(log)
    (finished,) = conn.execute("SELECT COUNT(*) FROM campaign_calls").fetchone()
    (logged,) = conn.execute(
        "SELECT COUNT(DISTINCT call_id) FROM calls WHERE action = 'GenerateReflectSequence'"
    ).fetchone()
    conn.close()
    assert 0 < finished < 200 and finished == logged  # every call started was finished and logged
    assert len(shown) == 2  # the final matrix after the stop
