"""What the verdicts mean for each region × level cell: the verdict matrix's content, the rows of
evidence that matter, and the ``faceid-tools probe`` command that would decide the open cells.

A cell objective the cell's own data cannot decide takes the verdict of the finest coarser grain
that reaches one (the region with its levels pooled, then all calls); every such borrowing is
named, so a page can say at which grain each verdict was reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..client.vocabulary import METRIC_NAMES
from ._data import sort_values_of
from .review import ALL_CALLS, FAIL, PASS, UNDECIDED, VERDICTS, finest

__all__ = ["OBJECTIVE_NAMES", "cell_decisions", "key_rows", "probe_command", "probe_plan"]


#: Short names of the objectives, as the pages print them.
OBJECTIVE_NAMES = {m: METRIC_NAMES[m] for m in ("p95_latency_ms", "error_rate", "integrity_rate")}


def cell_decisions(
    verdicts: pd.DataFrame, *, rows: str = "region", columns: str = "security_level"
) -> pd.DataFrame:
    """Per ``rows`` × ``columns`` cell: its verdict over all objectives and what decides it.

    Each objective counts with its verdict at the finest grain that reaches one: the cell's own,
    else its region's (levels pooled), else all calls'.  Columns: the two keys; ``verdict``, the
    worst of those (a cell passes when every objective passes at some grain); ``pooled``, True
    when the verdict rests on a coarser grain for at least one objective that makes it;
    ``deciding``, the objectives that make the verdict (the failing ones, else the undecided
    ones, else all), and ``detail``, each objective not decided in the cell with the grain that
    decided it, e.g. "integrity: pass on all calls".
    """
    cells = finest(verdicts)
    rank = {v: i for i, v in enumerate(VERDICTS)}
    coarser = verdicts[~verdicts.index.isin(cells.index)] if "grain" in verdicts else cells[:0]
    grains = list(verdicts.attrs.get("grains", []))[1:]
    out = []
    for (r, c), block in cells.groupby([rows, columns], observed=True, sort=True):
        effective = []  # (metric, verdict, where or "")
        for x in block.to_dict("records"):
            found, where = str(x["verdict"]), ""
            if found == UNDECIDED:
                for grain in grains:
                    row = _pooled_row(coarser, grain, x["metric"], {rows: r, columns: c})
                    if row is not None and str(row["verdict"]) != UNDECIDED:
                        found = str(row["verdict"])
                        where = "on all calls" if grain == ALL_CALLS else f"per {grain}"
                        break
            effective.append((str(x["metric"]), found, where))
        worst = max((v for _, v, _ in effective), key=lambda v: rank[v])
        makers = [(m, w) for m, v, w in effective if v == worst]
        name = OBJECTIVE_NAMES.get
        if worst == PASS:
            deciding = f"all {len(effective)} objectives"
        elif worst == UNDECIDED:
            deciding = ", ".join(str(name(m, m)) for m, _ in makers) + " (at every grain)"
        else:
            deciding = ", ".join(str(name(m, m)) for m, _ in makers)
        detail = "; ".join(f"{name(m, m)}: {v} {w}" for m, v, w in effective if w)
        # a pass rests on a coarser grain when any objective passed only there; a fail or an
        # open verdict, only when every objective making it was decided there
        pooled = any(w for _, w in makers) if worst == PASS else all(w for _, w in makers)
        out.append({rows: r, columns: c, "verdict": worst, "pooled": pooled,
                    "deciding": deciding, "detail": detail})  # fmt: skip
    return pd.DataFrame(out, columns=[rows, columns, "verdict", "pooled", "deciding", "detail"])


def key_rows(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`slo_verdicts` result that the verdict matrix rests on beyond plain
    passes: every **fail** (any grain), every cell objective still open at every grain, and the
    coarser-grain row that decided each objective a cell could not decide alone."""
    cells = finest(verdicts)
    coarser = verdicts[~verdicts.index.isin(cells.index)] if "grain" in verdicts else cells[:0]
    grains = list(verdicts.attrs.get("grains", []))[1:]
    keys = [k for k in verdicts.attrs.get("by", []) if k in verdicts.columns]
    keep = set(verdicts.index[verdicts["verdict"].astype(str) == FAIL])
    for label, x in cells[cells["verdict"].astype(str) == UNDECIDED].iterrows():
        for grain in grains:
            found = _pooled_index(coarser, grain, x["metric"], {k: x[k] for k in keys})
            if found is not None and str(verdicts.at[found, "verdict"]) != UNDECIDED:
                keep.add(found)
                break
        else:
            keep.add(label)
    return verdicts.loc[sorted(keep)]


def _pooled_index(coarser: pd.DataFrame, grain: str, metric: str, cell: Mapping[str, Any]) -> Any:
    """The index label of the ``grain`` row for ``metric`` holding ``cell``, or None."""
    block = coarser[(coarser["grain"] == grain) & (coarser["metric"] == metric)]
    for k in [] if grain == ALL_CALLS else grain.split(" × "):
        block = block[block[k].astype(object) == cell[k]]
    return None if block.empty else block.index[0]


def _pooled_row(
    coarser: pd.DataFrame, grain: str, metric: str, cell: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The row of ``grain`` for ``metric`` that holds ``cell`` (its keys at that grain match)."""
    block = coarser[(coarser["grain"] == grain) & (coarser["metric"] == metric)]
    keys = [] if grain == ALL_CALLS else grain.split(" × ")
    for k in keys:
        block = block[block[k].astype(object) == cell[k]]
    if block.empty:
        return None
    return {str(k): v for k, v in block.iloc[0].to_dict().items()}


def probe_plan(verdicts: pd.DataFrame) -> dict[str, Any] | None:
    """What the undecided cells need: ``regions``, ``levels``, ``per_cell`` and ``calls`` in all.

    The regions and levels of every cell (finest grain) with an undecided verdict whose
    ``calls_needed`` is known; ``per_cell`` is the largest of those numbers, so one campaign
    covers every such cell.  None when there is nothing to collect.
    """
    cells = finest(verdicts)
    open_ = cells[(cells["verdict"] == UNDECIDED) & cells["calls_needed"].notna()]
    if open_.empty:
        return None
    regions = [str(v) for v in sort_values_of("region", open_["region"].astype(object))]
    levels = [
        str(v) for v in sort_values_of("security_level", open_["security_level"].astype(object))
    ]
    per_cell = int(open_["calls_needed"].max())
    return {
        "regions": regions,
        "levels": levels,
        "per_cell": per_cell,
        "calls": per_cell * len(regions) * len(levels),
    }


def probe_command(
    verdicts: pd.DataFrame,
    *,
    emulator: bool = False,
    retries: int | None = None,
    log_name: str | None = None,
) -> str | None:
    """The ``faceid-tools probe`` command that collects the calls the undecided cells need
    (:func:`probe_plan`); None when there is nothing to collect."""
    plan = probe_plan(verdicts)
    if plan is None:
        return None
    parts = ["faceid-tools probe"]
    if emulator:
        parts.append("--emulator")
    parts.append("--regions " + " ".join(plan["regions"]))
    parts.append("--levels " + " ".join(plan["levels"]))
    parts.append(f"--per-cell {plan['per_cell']}")
    if retries:
        parts.append(f"--retries {retries}")
    if log_name:
        parts.append(f"--log {log_name}")
    return " ".join(parts)
