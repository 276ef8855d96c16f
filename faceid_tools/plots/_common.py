"""Shared pieces of the figures: axes, inputs, labels, one colour per region."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..client.vocabulary import LEVEL_NAMES
from ..errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


_LEVEL_NAMES = LEVEL_NAMES
#: One colour per region on every figure (Okabe–Ito, safe for colour-vision deficiencies).
REGION_COLOURS: dict[str, str] = {
    "ap-bangkok": "#E69F00",  # orange
    "ap-hongkong": "#56B4E9",  # sky blue
    "ap-singapore": "#009E73",  # bluish green
}
_OTHER_COLOURS = ("#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#000000")
#: Percentiles told apart by marker and line style, never by colour.
_QUANTILE_STYLE = {"p50": ("o", "-"), "p90": ("^", "-."), "p95": ("s", "--"), "p99": ("D", ":")}


def region_colour(region: Any) -> str:
    """The colour of a region on every figure (others get a stable colour of their own)."""
    name = str(region)
    if name in REGION_COLOURS:
        return REGION_COLOURS[name]
    return _OTHER_COLOURS[sum(map(ord, name)) % len(_OTHER_COLOURS)]


def _colour(keys: Sequence[str], block: pd.DataFrame, i: int) -> str:
    """A group's colour: its region's when grouped by region, else the i-th of the cycle."""
    if "region" in keys and len(block):
        return region_colour(block["region"].iloc[0])
    return f"C{i % 10}"


_PROPERTY_NAMES = {
    "seq_size": "Sequence size",
    "seq_entropy": "Byte entropy",
    "seq_frames": "Colour frames",
    "seq_colours": "Distinct colours",
    "seq_duration_ms": "Duration",
    "seq_blinks": "Blink cues",
}


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _result(obj: Any, kind: str | Sequence[str], compute: Any) -> pd.DataFrame:
    """``obj`` if it is a result of ``kind``, else ``compute(obj)`` (obj is call-log data)."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    if isinstance(obj, pd.DataFrame):
        made_by = obj.attrs.get("analysis")
        if made_by in kinds:
            return obj
        if made_by is not None:
            raise InputError(f"expected a result of {' or '.join(kinds)}, got one of {made_by}")
        if not {"action", "outcome"} <= set(obj.columns):
            raise InputError(
                f"expected call-log data or a result of {' or '.join(kinds)}; "
                f"got a DataFrame with columns {list(obj.columns)[:8]}"
            )
    result: pd.DataFrame = compute(obj)
    return result


def _ci(result: pd.DataFrame) -> str:
    """``95% CI`` at the result's confidence."""
    return f"{float(result.attrs.get('confidence', 0.95)):.0%} CI"


def _label(key: str, value: Any) -> str:
    if key == "security_level":
        return f"level {_LEVEL_NAMES.get(str(value), value)}"
    return str(value)


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    if not keys:
        return [("all", frame)]
    out = []
    for key, block in frame.groupby(list(keys), observed=True, sort=True):
        key_t = key if isinstance(key, tuple) else (key,)
        out.append((" · ".join(_label(k, v) for k, v in zip(keys, key_t, strict=True)), block))
    return out
