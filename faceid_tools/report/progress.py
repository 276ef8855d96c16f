"""Progress of a report on a terminal: which notebook, which step (cell) and how far.

One tqdm bar per notebook (``01-latency  5/12 cells  [cell 6: fig = plot_latency(...)]``),
stacked when notebooks run at once.  Nothing is drawn when stderr is not a terminal (logs, pipes,
CI, a notebook calling :func:`faceid_tools.report.render_reports`) unless asked for.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, Any

from nbformat import NotebookNode
from tqdm import tqdm

_LOCK = threading.Lock()


def on_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (stderr by default) is a terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _shape(stream: IO[str]) -> tuple[int, int]:
    """The terminal's columns and lines (100 × 20 when it says 0, as a fresh pseudo-terminal
    does: tqdm would then draw nothing)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return 100, 20
    return size.columns or 100, size.lines or 20


class NotebookProgress:
    """The bar of one notebook's execution; feed it nbclient's cell hooks."""

    def __init__(
        self,
        name: str,
        nb: NotebookNode,
        *,
        position: int = 0,
        enabled: bool | None = None,
        stream: IO[str] | None = None,
    ) -> None:
        stream = sys.stderr if stream is None else stream
        self.enabled = on_terminal(stream) if enabled is None else enabled
        self._code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        self._bar: tqdm[Any] | None = None
        if self.enabled:
            columns, lines = _shape(stream)
            with _LOCK:
                self._bar = tqdm(
                    total=len(self._code),
                    desc=name,
                    unit="cell",
                    position=position,
                    leave=True,
                    file=stream,
                    ncols=columns,
                    nrows=lines,
                    bar_format="{desc}: {n_fmt}/{total_fmt} cells |{bar}| {elapsed}{postfix}",
                )

    def started(self, cell: NotebookNode, cell_index: int) -> None:
        """A cell began: show its step number and first line."""
        if self._bar is None or cell.cell_type != "code":
            return
        step = self._code.index(cell_index) + 1 if cell_index in self._code else cell_index
        first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
        with _LOCK:
            self._bar.set_postfix_str(f"cell {step}: {first[:60]}", refresh=True)

    def finished(self, cell: NotebookNode, cell_index: int, **_: Any) -> None:
        """A cell ended (with or without an error)."""
        if self._bar is None or cell.cell_type != "code":
            return
        with _LOCK:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            with _LOCK:
                self._bar.set_postfix_str("done", refresh=False)
                self._bar.close()
            self._bar = None
