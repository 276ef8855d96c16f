"""The pages: what analysts and reviewers read.

* :mod:`.notebooks` executes the notebooks on a call log and renders each to one HTML file;
* :mod:`.html` the page itself (figures embedded, the review without code);
* :mod:`.defaults` what a report reads and runs when nothing is named (light: the CLI's parser);
* :mod:`.present` tables and formatting for the notebooks (``612 ms (540–700)``, no NaN).

``faceid_tools.report.<name>`` still reaches the names of :mod:`.notebooks` (imported on first
use, so importing :mod:`.defaults` stays cheap).
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module(".notebooks", __name__), name)
