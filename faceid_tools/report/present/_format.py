"""How one value is written on a page: ms, percent, counts, intervals, signed changes, p-values.

Never ``NaN``/``None``: a missing value is ``—``; an unbounded side of an interval is written as
what it means (``≥ 540``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from ...client.vocabulary import LEVEL_NAMES

__all__ = [
    "LEVEL_NAMES",
    "MISSING",
    "PROPERTY_NAMES",
    "UNBOUNDED_NOTE",
    "count",
    "interval",
    "is_missing",
    "ms",
    "p_text",
    "pct",
    "signed",
]

PROPERTY_NAMES = {
    "seq_size": "Size",
    "seq_entropy": "Byte entropy",
    "seq_frames": "Colour frames",
    "seq_colours": "Distinct colours",
    "seq_duration_ms": "Duration",
    "seq_blinks": "Blink cues",
}
MISSING = "—"
UNBOUNDED_NOTE = (
    "An interval written “≥ x” (or “≤ x”) has no bound on the other side: too few observations "
    "to bound it at this confidence."
)


def is_missing(v: Any) -> bool:
    """Whether ``v`` is missing: None, NA, NaT or NaN."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:  # pragma: no cover - exotic scalars
        return False


def ms(v: Any) -> str:
    """Milliseconds as an integer with thousands separators: ``1,097 ms``."""
    return MISSING if is_missing(v) else f"{float(v):,.0f} ms"


def pct(v: Any, decimals: int = 2) -> str:
    """A share as a percentage: ``0.52%``."""
    return MISSING if is_missing(v) else f"{100 * float(v):.{decimals}f}%"


def count(v: Any) -> str:
    """A count with thousands separators."""
    return MISSING if is_missing(v) else f"{int(v):,}"


def interval(est: Any, lo: Any, hi: Any, fmt: Callable[[Any], str] = ms) -> str:
    """``612 ms (540–700)``; an unbounded side as ``(≥ 540)``; no estimate as ``—``."""
    if is_missing(est):
        return MISSING

    def bare(v: Any) -> str:  # the number without its unit (the unit is on the estimate)
        text = fmt(v)
        return text.split(" ", 1)[0] if " " in text else text

    if is_missing(lo) and is_missing(hi):
        return f"{fmt(est)} (unbounded)"
    if is_missing(hi):
        return f"{fmt(est)} (≥ {bare(lo)})"
    if is_missing(lo):
        return f"{fmt(est)} (≤ {bare(hi)})"
    return f"{fmt(est)} ({bare(lo)}–{bare(hi)})"


def signed(v: Any, unit: str = "ms") -> str:
    """A change with its sign: ``+12 ms``, or for a rate (``unit="pts"``) ``+0.52 pts``."""
    if is_missing(v):
        return MISSING
    if unit == "pts":
        return f"{100 * float(v):+.2f} pts"
    return f"{float(v):+,.0f} {unit}"


def p_text(v: Any) -> str:
    """A p-value: ``< 0.001`` or three decimals."""
    if is_missing(v):
        return MISSING
    return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"
