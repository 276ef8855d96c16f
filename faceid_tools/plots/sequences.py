"""Light-sequence figures: one property's distribution per level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import analysis
from ._common import (
    _PROPERTY_NAMES,
    _axes,
    _groups,
    _result,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def sequence_property(
    data_or_result: Any,
    prop: str = "seq_entropy",
    *,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of one light-sequence property per security level (histogram steps)."""
    res = _result(
        data_or_result, "property_histogram", lambda d: analysis.property_histogram(d, prop)
    )
    prop = str(res.attrs.get("property", prop))
    unit = str(res.attrs.get("unit", ""))
    ax = _axes(ax)
    keys = list(res.attrs.get("by", ["security_level"]))
    for name, block in _groups(res, keys):
        block = block.sort_values("bin_lo")
        edges = np.append(block["bin_lo"].to_numpy(float), block["bin_hi"].to_numpy(float)[-1])
        ax.stairs(block["count"].to_numpy(float), edges, label=name, linewidth=1.5)
    ax.set_xlabel(f"{_PROPERTY_NAMES.get(prop, prop)} ({unit})")
    ax.set_ylabel("Sequences (count)")
    ax.grid(True, alpha=0.3)
    if keys:
        ax.legend(fontsize="small")
    ax.set_title(f"{_PROPERTY_NAMES.get(prop, prop)} by security level")
    return ax
