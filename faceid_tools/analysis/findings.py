"""Product review: the findings that matter most, as numbers (the pages write the sentences).

:func:`top_findings` returns :class:`Finding` records, most important first; each holds the
figures of one finding with their intervals.  :func:`faceid_tools.report.present.top_findings`
writes them as short sentences (:func:`faceid_tools.report.present.finding_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._data import Per, resolve
from .compare import compare_error_rates, compare_latency
from .review import FAIL, PASS, SLO, UNDECIDED, slo_verdicts
from .sequences import duplicate_sequences, integrity_rate, level_conformance

__all__ = ["FINDING_KINDS", "Finding", "top_findings"]

#: The kinds of finding, heaviest first: sequences that break the documented format, SLO
#: failures of cells and of margins, duplicated or corrupted sequences, significant differences
#: between regions (latency, error rate) and levels (latency), cells lacking a verdict.
FINDING_KINDS = (
    "format",
    "slo",
    "group_slo",
    "sequences",
    "region_latency",
    "region_errors",
    "level_latency",
    "undecided",
)


@dataclass(frozen=True)
class Finding:
    """One finding: its ``kind`` (one of :data:`FINDING_KINDS`), its ``weight`` (a higher tier
    always first; within one, the severity) and its figures by name (``values``: estimates with
    their ``lo``/``hi`` interval and its ``confidence``)."""

    kind: str
    weight: float
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


# Weight of each kind of finding: a higher tier always comes first; within one, the severity.
_TIER_FORMAT = 5000  # sequences that break the documented format
_TIER_SLO = 4000  # SLO failures
_TIER_SEQUENCES = 3000  # duplicated or corrupted sequences
_TIER_DIFFERENCE = 2000  # significant differences between regions / levels
_TIER_UNDECIDED = 1000  # cells without the data for a verdict


def top_findings(
    data: Any,
    slo: SLO | None = None,
    *,
    limit: int = 3,
    per: Per = "call",
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> list[Finding]:
    """The findings that matter most, most important first, as :class:`Finding` records.

    Candidates, in order of weight: sequences that break the documented format, SLO failures
    (worst cell named), duplicated or corrupted sequences, the largest significant difference
    between regions in latency and in error rate, the largest significant latency difference
    between levels, and cells that lack the data for a verdict.  Differences are those whose
    Holm-adjusted p-value is below ``alpha``; every estimate comes with its interval.  For the
    sentences, use :func:`faceid_tools.report.present.top_findings`.
    """
    slo = slo or SLO()
    src = resolve(data)
    found: list[Finding] = []
    keys = ["region", "security_level"]
    every = slo_verdicts(src, slo, by=keys, per=per, confidence=confidence)
    verdicts = every[every["grain"] == every.attrs["grains"][0]]
    found += _conformance_findings(src)
    found += _slo_findings(verdicts, keys, confidence)
    found += _group_findings(every, confidence)
    found += _sequence_findings(src, confidence)
    found += _difference_findings(src, per, confidence, alpha)
    undecided = verdicts[verdicts["verdict"] == UNDECIDED]
    cells = undecided[keys].drop_duplicates()
    if len(cells):
        total = len(verdicts[keys].drop_duplicates())
        metrics = sorted({str(m) for m in undecided["metric"]})
        found.append(
            Finding(
                "undecided",
                _TIER_UNDECIDED + min(len(cells), 999),
                {"cells": len(cells), "total": total, "metrics": metrics},
            )
        )
    found.sort(key=lambda f: -f.weight)
    return found[:limit]


def _slo_findings(verdicts: pd.DataFrame, keys: Sequence[str], confidence: float) -> list[Finding]:
    out = []
    for metric, block in verdicts[verdicts["verdict"] == FAIL].groupby("metric", observed=True):
        recs = block.to_dict("records")
        higher = recs[0]["objective"] == "≥"
        worst = min(recs, key=lambda r: r["hi"]) if higher else max(recs, key=lambda r: r["lo"])
        thr = worst["threshold"]
        severity = abs(worst["estimate"] - thr) / thr if thr else 1.0
        total = len(verdicts[verdicts["metric"] == metric])
        values = {
            "metric": str(metric),
            "objective": worst["objective"],
            "threshold": thr,
            "failing": len(recs),
            "total": total,
            "cell": {k: worst[k] for k in keys},
            "estimate": worst["estimate"],
            "lo": worst["lo"],
            "hi": worst["hi"],
            "confidence": confidence,
        }
        out.append(Finding("slo", _TIER_SLO + 10 * min(len(recs), 50) + min(severity, 10), values))
    return out


def _own_verdicts(mine: pd.DataFrame, part: str) -> list[tuple[str, list[str]]] | None:
    """What the cells of a failing group say on their own, per verdict (undecided, fail, pass):
    the levels' or regions' names, or the cells' labels; None when they all fail too."""
    found = {w: mine[mine["verdict"] == w] for w in (UNDECIDED, FAIL, PASS)}
    if len(found[FAIL]) == len(mine):
        return None
    column = {"levels": "security_level", "regions": "region"}.get(part)
    said: list[tuple[str, list[str]]] = []
    for word, block in found.items():
        if block.empty:
            continue
        if column is None:
            names = [
                f"{r} {lv}" for r, lv in zip(block["region"], block["security_level"], strict=True)
            ]
        else:
            names = [str(v) for v in block[column]]
        said.append((word, names))
    return said


def _group_findings(every: pd.DataFrame, confidence: float) -> list[Finding]:
    """A region, a level or all calls that fails an objective as a whole, and what its cells
    say on their own (never that cells fail which are only undecided)."""
    cells = every[every["grain"] == every.attrs["grains"][0]]
    out = []
    fails = every[(every["grain"] != every.attrs["grains"][0]) & (every["verdict"] == FAIL)]
    for rec in fails.to_dict("records"):
        metric, region, level = str(rec["metric"]), rec["region"], rec["security_level"]
        mine = cells[cells["metric"] == metric]
        if not pd.isna(region):
            mine, part, region, level = mine[mine["region"] == region], "levels", region, None
        elif not pd.isna(level):
            mine, part, region = mine[mine["security_level"] == level], "regions", None
        else:
            part, region, level = "cells", None, None
        said = _own_verdicts(mine, part)
        if said is None:
            continue  # every cell fails on its own: the cell finding says it
        thr = rec["threshold"]
        severity = abs(rec["estimate"] - thr) / thr if thr else 1.0
        values = {
            "metric": metric,
            "region": region,
            "security_level": level,
            "part": part,
            "cells": len(mine),
            "own": said,
            "objective": rec["objective"],
            "threshold": thr,
            "estimate": rec["estimate"],
            "lo": rec["lo"],
            "hi": rec["hi"],
            "confidence": confidence,
        }
        out.append(Finding("group_slo", _TIER_SLO + min(severity, 10) - 5, values))
    return out


def _conformance_findings(src: Any) -> list[Finding]:
    conf = level_conformance(src)
    return [
        Finding(
            "format",
            _TIER_FORMAT + 100 * rec["violations"] / max(rec["n"], 1),
            {
                "security_level": rec["security_level"],
                "violations": rec["violations"],
                "n": rec["n"],
            },
        )
        for rec in conf[~conf["conforms"]].to_dict("records")
    ]


def _sequence_findings(src: Any, confidence: float) -> list[Finding]:
    dups = duplicate_sequences(src)
    integ = integrity_rate(src, confidence=confidence)
    n = int(integ["n"].iloc[0]) if len(integ) else 0
    bad = n - int(integ["verified"].iloc[0]) if n else 0
    if not len(dups) and not bad:
        return []
    values = {
        "duplicates": len(dups),
        "duplicate_calls": int(dups["calls"].sum()) if len(dups) else 0,
        "failed": bad,
        "downloads": n,
        "integrity": 1 - bad / n if n else float("nan"),
        "lo": float(integ["rate_lo"].iloc[0]) if n else float("nan"),
        "hi": float(integ["rate_hi"].iloc[0]) if n else float("nan"),
        "confidence": confidence,
    }
    share = (len(dups) + bad) / max(n, 1)
    return [Finding("sequences", _TIER_SEQUENCES + min(100 * share, 999), values)]


def _largest(frame: pd.DataFrame) -> dict[str, Any]:
    """The row with the largest absolute ``diff``."""
    i = int(np.argmax(np.abs(frame["diff"].to_numpy(dtype=float))))
    return {str(k): v for k, v in frame.iloc[i].to_dict().items()}


def _oriented(rec: dict[str, Any]) -> tuple[float, float]:
    """The difference's interval, signed so that the estimate is positive."""
    if rec["diff"] >= 0:
        return rec["diff_lo"], rec["diff_hi"]
    return -rec["diff_hi"], -rec["diff_lo"]


def _difference_findings(src: Any, per: Per, confidence: float, alpha: float) -> list[Finding]:
    out: list[Finding] = []
    lat = compare_latency(src, "region", confidence=confidence, alpha=alpha)
    sig = lat[lat["significant"]]
    if len(sig):
        rec = _largest(sig)
        hi_r, lo_r = (rec["a"], rec["b"]) if rec["diff"] > 0 else (rec["b"], rec["a"])
        m_hi, m_lo = max(rec["median_a"], rec["median_b"]), min(rec["median_a"], rec["median_b"])
        d_lo, d_hi = _oriented(rec)
        rel = abs(rec["diff"]) / m_lo if m_lo else 0.0
        values = {
            "slower": hi_r,
            "faster": lo_r,
            "median_slower": m_hi,
            "median_faster": m_lo,
            "diff": abs(rec["diff"]),
            "lo": d_lo,
            "hi": d_hi,
            "p_holm": rec["p_holm"],
            "confidence": confidence,
        }
        out.append(Finding("region_latency", _TIER_DIFFERENCE + min(rel, 5) * 100, values))
    err = compare_error_rates(src, "region", per=per, confidence=confidence, alpha=alpha)
    sig = err[err["significant"]]
    if len(sig):
        rec = _largest(sig)
        flip = rec["diff"] < 0
        a, b = ("b", "a") if flip else ("a", "b")
        d_lo, d_hi = _oriented(rec)
        diff = abs(rec["diff"])
        rel = diff / rec[f"rate_{b}"] if rec[f"rate_{b}"] else 5.0
        values = {
            "worse": rec[a],
            "better": rec[b],
            "rate_worse": rec[f"rate_{a}"],
            "rate_better": rec[f"rate_{b}"],
            "per": per,
            "diff": diff,
            "lo": d_lo,
            "hi": d_hi,
            "p_holm": rec["p_holm"],
            "confidence": confidence,
        }
        out.append(Finding("region_errors", _TIER_DIFFERENCE + min(rel, 5) * 100, values))
    lv = compare_latency(src, "security_level", confidence=confidence, alpha=alpha)
    sig = lv[lv["significant"]]
    if len(sig):
        rec = _largest(sig)
        slow, fast = (rec["a"], rec["b"]) if rec["diff"] > 0 else (rec["b"], rec["a"])
        d_lo, d_hi = _oriented(rec)
        values = {
            "slower": slow,
            "faster": fast,
            "diff": abs(rec["diff"]),
            "lo": d_lo,
            "hi": d_hi,
            "p_holm": rec["p_holm"],
            "confidence": confidence,
        }
        out.append(Finding("level_latency", _TIER_DIFFERENCE - 1, values))
    return out
