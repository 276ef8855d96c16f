"""Issue 24: `faceid-tools report` shows, on a terminal, which notebook and which cell it is on
and how far; nothing when stderr is not a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import nbformat

from faceid_tools.report.progress import NotebookProgress, on_terminal


def _notebooks(folder: Path) -> Path:
    folder.mkdir()
    for name, steps in (("01-first", 3), ("02-second", 2)):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nb.cells = [nbformat.v4.new_code_cell('DATA = "x"', metadata={"tags": ["parameters"]})]
        nb.cells += [nbformat.v4.new_markdown_cell("# a title")]
        nb.cells += [
            nbformat.v4.new_code_cell(f"import time\nstep_{i} = time.sleep(0.05)")
            for i in range(steps)
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def _report(tmp_path: Path, *, terminal: bool) -> str:
    data = tmp_path / "calls.sqlite"
    data.write_bytes(b"")
    cmd = [sys.executable, "-m", "faceid_tools", "report", "--data", str(data)]
    cmd += ["--out", str(tmp_path / "out"), "--notebooks", str(_notebooks(tmp_path / "nbs"))]
    cmd += ["--jobs", "1"]
    if not terminal:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
        return done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return seen.decode("utf-8", "replace")


def test_a_terminal_shows_the_notebook_the_cell_and_how_far(tmp_path: Path) -> None:
    shown = _report(tmp_path, terminal=True)
    assert "01-first" in shown and "02-second" in shown
    # the step it is on (code cells: parameters, injected parameters, then the steps) ...
    assert "cell 3: import time" in shown and "cell 2: # Parameters" in shown
    # ... and how far
    assert "0/5 cells" in shown and "3/5 cells" in shown and "5/5 cells" in shown
    assert "4/4 cells" in shown


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    shown = _report(tmp_path, terminal=False)
    assert "cells" not in shown and "\r" not in shown
    assert (tmp_path / "out" / "01-first.html").is_file()


def test_a_bar_is_quiet_off_a_terminal(tmp_path: Path) -> None:
    with (tmp_path / "log.txt").open("w") as stream:
        assert not on_terminal(stream)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        bar = NotebookProgress("x", nb, stream=stream)
        bar.started(nb.cells[0], 0)
        bar.finished(nb.cells[0], 0)
        bar.close()
    assert (tmp_path / "log.txt").read_text() == ""
