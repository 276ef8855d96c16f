"""Defaults of the report step, kept apart from :mod:`faceid_tools.report.notebooks` so that building the CLI
parser does not import Jupyter (nbformat, nbconvert, zmq: seconds of start-up).

Which notebooks and which data a report uses when none are named:

- notebooks: ``./notebooks/*.ipynb`` of the working directory when there are any (the editable
  copies ``faceid-tools init`` makes), else the notebooks packaged with faceid-tools;
- data: the default call log ``data/calls.sqlite`` of the working directory when it exists (where
  ``faceid-tools probe`` writes), else the sample call log packaged with faceid-tools.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, packaged
from ..calllog.store import DEFAULT_PATH

#: The tag of the notebook cell holding its parameters' defaults, and of the cell a run injects.
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

#: Seconds one cell may run before the notebook fails.
DEFAULT_CELL_TIMEOUT = 300.0

#: The folder of the analyst's own notebooks, relative to the working directory.
LOCAL_NOTEBOOKS = Path("notebooks")


@dataclass(frozen=True)
class Choice:
    """A path the report step picked, and in words where it came from (printed by the CLI)."""

    path: Path
    origin: str


def default_jobs() -> int:
    """Notebooks executed at once by default: one per CPU core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def choose_notebooks(folder: str | os.PathLike[str] | None = None) -> Choice:
    """``folder`` if given, else ``./notebooks`` if it holds notebooks, else the packaged ones."""
    if folder is not None:
        return Choice(Path(folder), f"notebooks from {folder}")
    if LOCAL_NOTEBOOKS.is_dir() and any(LOCAL_NOTEBOOKS.glob("*.ipynb")):
        return Choice(LOCAL_NOTEBOOKS, "notebooks of this folder (./notebooks)")
    return Choice(packaged.notebooks_dir(), f"notebooks packaged with faceid-tools {__version__}")


def choose_data(data: str | os.PathLike[str] | None = None) -> Choice:
    """``data`` if given, else ``data/calls.sqlite`` if it exists, else the packaged sample."""
    if data is not None:
        return Choice(Path(data), f"call log {data}")
    if DEFAULT_PATH.exists():
        return Choice(DEFAULT_PATH, f"the default call log of this folder ({DEFAULT_PATH})")
    sample = packaged.sample_path()
    return Choice(
        sample, f"the sample call log packaged with faceid-tools {__version__} ({sample})"
    )


def default_notebooks_dir() -> Path:
    """The notebooks a report runs when none are named (see :func:`choose_notebooks`)."""
    return choose_notebooks().path


def default_data() -> Path:
    """The call log a report reads when none is named (see :func:`choose_data`)."""
    return choose_data().path
