"""Defaults of the report step, kept apart from :mod:`faceid_tools.report` so that building the CLI
parser does not import Jupyter (nbformat, nbconvert, zmq: seconds of start-up)."""

from __future__ import annotations

import os
from pathlib import Path

#: Seconds one cell may run before the notebook fails.
DEFAULT_CELL_TIMEOUT = 300.0

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_jobs() -> int:
    """Notebooks executed at once by default: one per CPU core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def default_notebooks_dir() -> Path:
    """The project's ``notebooks/`` folder (beside the ``faceid_tools`` package)."""
    return PROJECT_ROOT / "notebooks"


def default_data() -> Path:
    """The sample call log shipped with the project (``data/sample/calls.sqlite``)."""
    return PROJECT_ROOT / "data" / "sample" / "calls.sqlite"
