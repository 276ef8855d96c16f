"""What the verdicts mean for the verdict matrix: each group's own verdict (cells and margins),
the rows of evidence that matter, and what the open cells still need.

A group's verdict rests on that group's data only: a cell whose data cannot decide an objective
is *not enough data* for it, whatever its region, its level or all calls conclude.  The coarser
grains are returned as margins of the matrix (a region with its levels pooled, a level with its
regions pooled, all calls), each with its own verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..client.vocabulary import METRIC_NAMES
from ._data import sort_values_of
from .review import FAIL, PASS, UNDECIDED, VERDICTS, finest

__all__ = ["OBJECTIVE_NAMES", "ProbePlan", "cell_decisions", "key_rows", "probe_plan"]


#: Short names of the objectives, as the pages print them.
OBJECTIVE_NAMES = {m: METRIC_NAMES[m] for m in ("p95_latency_ms", "error_rate", "integrity_rate")}


def cell_decisions(
    verdicts: pd.DataFrame, *, rows: str = "region", columns: str = "security_level"
) -> pd.DataFrame:
    """Each group's verdict over all objectives, from that group's own rows only.

    One row per group of every grain of ``verdicts`` (a :func:`slo_verdicts` result): the
    ``rows`` × ``columns`` cells first, then the margins (``rows`` alone, ``columns`` alone, all
    calls), whose pooled keys are empty.  Columns: ``grain``, the two keys, ``verdict`` (fail if
    any objective fails, else not enough data if any is open, else pass), ``fails`` and
    ``open`` (tuples of the objectives failing / not decided), ``calls`` (calls in the group) and
    ``calls_needed``: the more calls expected to decide every open objective of the group (the
    largest of their ``calls_needed``, as the same calls serve all three), 0 when nothing is
    open, missing when no open objective has a number.
    """
    rank = {v: i for i, v in enumerate(VERDICTS)}
    if "grain" in verdicts:
        grains = [g for g in verdicts.attrs.get("grains", []) if g in set(verdicts["grain"])]
        grains = grains or list(dict.fromkeys(verdicts["grain"]))
    else:
        grains = [" × ".join(verdicts.attrs.get("by", [rows, columns]))]
    out = []
    for grain in grains:
        block = verdicts[verdicts["grain"] == grain] if "grain" in verdicts else verdicts
        if block.empty:
            continue
        keys = [k for k in (rows, columns) if k in str(grain).split(" × ")]
        frame = block.assign(**{k: block[k].astype(object) for k in (rows, columns)})
        groups = frame.groupby(keys, sort=False, dropna=False) if keys else [((), frame)]
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            recs = group.to_dict("records")
            found = [str(r["verdict"]) for r in recs]
            open_ = [r for r in recs if str(r["verdict"]) == UNDECIDED]
            needed = [int(r["calls_needed"]) for r in open_ if not pd.isna(r["calls_needed"])]
            out.append(
                {
                    "grain": str(grain),
                    rows: None,
                    columns: None,
                    **dict(zip(keys, key, strict=True)),
                    "verdict": max(found, key=lambda v: rank[v]),
                    "fails": tuple(str(r["metric"]) for r in recs if str(r["verdict"]) == FAIL),
                    "open": tuple(str(r["metric"]) for r in open_),
                    "calls": int(max(int(r["calls"]) for r in recs)),
                    "calls_needed": (max(needed) if needed else pd.NA) if open_ else 0,
                }
            )
    cols = ["grain", rows, columns, "verdict", "fails", "open", "calls", "calls_needed"]
    result = pd.DataFrame(out, columns=cols)
    result["calls_needed"] = result["calls_needed"].astype("Int64")
    result.attrs.update(
        {str(k): v for k, v in verdicts.attrs.items() if k != "analysis"},
        analysis="cell_decisions",
        rows=rows,
        columns=columns,
    )
    return result


def key_rows(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`slo_verdicts` result beyond plain passes: every **fail** and every
    objective still open, at every grain (cells and margins), in the result's order."""
    return verdicts[verdicts["verdict"].astype(str) != PASS]


@dataclass(frozen=True)
class ProbePlan:
    """What the open cells need: their regions and levels, how many cells are open, the calls
    expected to decide them (each open cell's ``calls_needed``, summed), the largest of those,
    and how many open cells have no such number (no calls yet, or an estimate on the
    threshold: not counted in ``calls``)."""

    regions: tuple[str, ...]
    levels: tuple[str, ...]
    cells: int
    calls: int
    per_cell: int
    unreachable: int

    def minutes(self, rate: float = 5.0) -> float:
        """Minutes the expected calls take at ``rate`` calls per second (the quota: 5)."""
        return self.calls / rate / 60


def probe_plan(verdicts: pd.DataFrame) -> ProbePlan | None:
    """The :class:`ProbePlan` of the cells (finest grain) with an objective still open; None
    when every cell objective is decided."""
    decisions = cell_decisions(finest(verdicts))
    cells = decisions[decisions["open"].map(len) > 0]
    if cells.empty:
        return None
    known = cells[cells["calls_needed"].notna()]
    regions = sort_values_of("region", cells["region"].astype(object))
    levels = sort_values_of("security_level", cells["security_level"].astype(object))
    needed = known["calls_needed"].astype("int64")
    return ProbePlan(
        regions=tuple(str(v) for v in regions),
        levels=tuple(str(v) for v in levels),
        cells=len(cells),
        calls=int(needed.sum()),
        per_cell=int(needed.max()) if len(needed) else 0,
        unreachable=len(cells) - len(known),
    )
