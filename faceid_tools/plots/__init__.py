"""Figures for the notebooks and reports, drawn from :mod:`faceid_tools.analysis` results.

Each function takes either the result of the matching analysis function or call-log ``data``
(anything the analysis functions accept; the analysis is then run with its defaults), draws on
``ax`` (a new figure when None), labels its axes with units and returns the Axes.  Nothing here
calls ``plt.show()`` or picks a backend: pyplot is imported only to make a figure when ``ax`` is
None, so Jupyter's inline backend, a headless Agg run and an embedding application all work.
"""

from __future__ import annotations

from ._common import REGION_COLOURS, region_colour
from .baseline import latency_vs_baseline
from .latency import comparison_forest, latency_by_level, latency_ecdf
from .rates import error_rate_bars, heatmap
from .sequences import sequence_property
from .time import hourly_series, time_series

__all__ = [
    "REGION_COLOURS",
    "comparison_forest",
    "error_rate_bars",
    "heatmap",
    "hourly_series",
    "latency_by_level",
    "latency_ecdf",
    "latency_vs_baseline",
    "region_colour",
    "sequence_property",
    "time_series",
]
