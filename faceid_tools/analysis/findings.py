"""Product review: the findings that matter most, as short sentences with their intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..client.vocabulary import metric_name
from ._data import Per, resolve
from .compare import compare_error_rates, compare_latency
from .review import FAIL, PASS, SLO, UNDECIDED, slo_verdicts
from .sequences import duplicate_sequences, integrity_rate, level_conformance

__all__ = ["top_findings"]


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _ms(x: float) -> str:
    return f"{x:,.0f} ms"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _cell(rec: Mapping[Any, Any], keys: Sequence[str]) -> str:
    parts = []
    for k in keys:
        v = rec[k]
        parts.append(f"level {v}" if k == "security_level" else str(v))
    return " ".join(parts)


# Weight of each kind of finding: a higher tier always comes first; within one, the severity.
_TIER_FORMAT = 5000  # sequences that break the documented format
_TIER_SLO = 4000  # SLO failures
_TIER_SEQUENCES = 3000  # duplicated or corrupted sequences
_TIER_DIFFERENCE = 2000  # significant differences between regions / levels
_TIER_UNDECIDED = 1000  # cells without the data for a verdict

_METRIC_TEXT = {
    "p95_latency_ms": (metric_name("p95_latency_ms"), _ms),
    "error_rate": (metric_name("error_rate", capital=True), _pct),
    "integrity_rate": (metric_name("integrity_rate", capital=True), _pct),
}


def top_findings(
    data: Any,
    slo: SLO | None = None,
    *,
    limit: int = 3,
    per: Per = "call",
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> list[str]:
    """The findings that matter most, as short sentences, most important first.

    Candidates, in order of weight: sequences that break the documented format, SLO failures
    (worst cell named), duplicated or corrupted sequences, the largest significant difference
    between regions in latency and in error rate, the largest significant latency difference
    between levels, and cells that lack the data for a verdict.  Differences are those whose
    Holm-adjusted p-value is below ``alpha``; every number comes with its interval.
    """
    slo = slo or SLO()
    src = resolve(data)
    found: list[tuple[float, str]] = []
    keys = ["region", "security_level"]
    every = slo_verdicts(src, slo, by=keys, per=per, confidence=confidence)
    verdicts = every[every["grain"] == every.attrs["grains"][0]]
    ci = f"{confidence:.0%} CI"
    found += _conformance_findings(src)
    found += _slo_findings(verdicts, keys, ci)
    found += _group_findings(every, ci)
    found += _sequence_findings(src, confidence)
    found += _difference_findings(src, per, confidence, alpha)
    undecided = verdicts[verdicts["verdict"] == UNDECIDED]
    cells = undecided[keys].drop_duplicates()
    if len(cells):
        total = len(verdicts[keys].drop_duplicates())
        metrics = ", ".join(
            _METRIC_TEXT[m][0].lower() for m in sorted(set(undecided["metric"]), key=str)
        )
        found.append(
            (
                _TIER_UNDECIDED + min(len(cells), 999),
                f"{len(cells)} of {total} region × level cells lack the data to decide at least "
                f"one SLO ({metrics}); their intervals straddle the threshold.",
            )
        )
    found.sort(key=lambda f: -f[0])
    return [text for _, text in found[:limit]]


def _slo_findings(verdicts: pd.DataFrame, keys: Sequence[str], ci: str) -> list[tuple[float, str]]:
    out = []
    for metric, block in verdicts[verdicts["verdict"] == FAIL].groupby("metric", observed=True):
        name, fmt = _METRIC_TEXT[str(metric)]
        recs = block.to_dict("records")
        higher = recs[0]["objective"] == "≥"
        worst = min(recs, key=lambda r: r["hi"]) if higher else max(recs, key=lambda r: r["lo"])
        thr = worst["threshold"]
        severity = abs(worst["estimate"] - thr) / thr if thr else 1.0
        total = len(verdicts[verdicts["metric"] == metric])
        out.append(
            (
                _TIER_SLO + 10 * min(len(recs), 50) + min(severity, 10),
                f"{name} fails its SLO ({worst['objective']} {fmt(thr)}) in {len(recs)} of "
                f"{total} cells; worst is {_cell(worst, keys)} at {fmt(worst['estimate'])} "
                f"({ci} {fmt(worst['lo'])}–{fmt(worst['hi'])}).",
            )
        )
    return out


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _own_verdicts(mine: pd.DataFrame, part: str) -> list[str] | None:
    """What the cells of a failing group say on their own (None: they all fail too)."""
    found = {w: mine[mine["verdict"] == w] for w in (UNDECIDED, FAIL, PASS)}
    if len(found[FAIL]) == len(mine):
        return None
    said: list[str] = []
    for word, block in found.items():
        if block.empty:
            continue
        if part == "cells":
            verb = {UNDECIDED: "not yet decided on its own", FAIL: "fails", PASS: "passes"}[word]
            if len(block) > 1:
                verb = verb.replace("its own", "their own").replace("fails", "fail")
                verb = verb.replace("passes", "pass")
            many = "are " if len(block) > 1 else "is "
            whose = f" of its {len(mine)} cells" if not said else ""
            said.append(f"{len(block)}{whose} " + (many + verb if word == UNDECIDED else verb))
        elif part == "levels":
            names = [str(v) for v in block["security_level"]]
            noun = "levels" if len(names) > 1 else "level"
            text = {UNDECIDED: "not yet decided", FAIL: "fail", PASS: "pass"}[word]
            if word == UNDECIDED:
                text = ("are " if len(names) > 1 else "is ") + text
            elif len(names) == 1:
                text += "s"
            said.append(f"its {noun} {_and(names)} {text}")
        else:
            names = [str(v) for v in block["region"]]
            text = {UNDECIDED: "it is not yet decided", FAIL: "it fails", PASS: "it passes"}[word]
            said.append(f"in {_and(names)} {text}")
    return said


def _group_findings(every: pd.DataFrame, ci: str) -> list[tuple[float, str]]:
    """A region, a level or all calls that fails an objective as a whole, and what its cells
    say on their own: "ap-bangkok as a whole fails the error rate ...; its levels 1, 2 and 4
    are not yet decided" (never that those levels fail)."""
    cells = every[every["grain"] == every.attrs["grains"][0]]
    out = []
    fails = every[(every["grain"] != every.attrs["grains"][0]) & (every["verdict"] == FAIL)]
    for rec in fails.to_dict("records"):
        metric, region, level = str(rec["metric"]), rec["region"], rec["security_level"]
        name, fmt = _METRIC_TEXT[metric]
        mine = cells[cells["metric"] == metric]
        if not pd.isna(region):
            mine, who, part = mine[mine["region"] == region], f"{region} as a whole", "levels"
        elif not pd.isna(level):
            who, part = f"Level {level} in all regions together", "regions"
            mine = mine[mine["security_level"] == level]
        else:
            who, part = "All calls together", "cells"
        said = _own_verdicts(mine, part)
        if said is None:
            continue  # every cell fails on its own: the cell finding says it
        thr = rec["threshold"]
        severity = abs(rec["estimate"] - thr) / thr if thr else 1.0
        verb = "fail" if part == "cells" else "fails"
        out.append(
            (
                _TIER_SLO + min(severity, 10) - 5,
                f"{who} {verb} the {name.lower()} ({rec['objective']} {fmt(thr)}): "
                f"{fmt(rec['estimate'])} ({ci} {fmt(rec['lo'])}–{fmt(rec['hi'])})"
                + (f"; {'; '.join(said)}." if said else "."),
            )
        )
    return out


def _conformance_findings(src: Any) -> list[tuple[float, str]]:
    conf = level_conformance(src)
    out = []
    for rec in conf[~conf["conforms"]].to_dict("records"):
        out.append(
            (
                _TIER_FORMAT + 100 * rec["violations"] / max(rec["n"], 1),
                f"Level {rec['security_level']} sequences break the documented format: "
                f"{rec['violations']:,} of {rec['n']:,} do not carry the light frames / blink "
                "cues / level that docs/sequence-format.md prescribes.",
            )
        )
    return out


def _sequence_findings(src: Any, confidence: float) -> list[tuple[float, str]]:
    dups = duplicate_sequences(src)
    integ = integrity_rate(src, confidence=confidence)
    ci = f"{confidence:.0%} CI"
    n = int(integ["n"].iloc[0]) if len(integ) else 0
    bad = n - int(integ["verified"].iloc[0]) if n else 0
    if not len(dups) and not bad:
        return []
    parts = []
    if len(dups):
        parts.append(
            f"{len(dups):,} light sequence{'s were' if len(dups) != 1 else ' was'} served to more "
            f"than one call ({int(dups['calls'].sum()):,} calls)"
        )
    if bad:
        lo, hi = integ["rate_lo"].iloc[0], integ["rate_hi"].iloc[0]
        parts.append(
            f"{bad:,} of {n:,} downloads failed their MD5 check (integrity "
            f"{_pct(1 - bad / n)}, {ci} {_pct(lo)}–{_pct(hi)})"
        )
    text = " and ".join(parts)
    share = (len(dups) + bad) / max(n, 1)
    return [(_TIER_SEQUENCES + min(100 * share, 999), text[0].upper() + text[1:] + ".")]


def _largest(frame: pd.DataFrame) -> dict[str, Any]:
    """The row with the largest absolute ``diff``."""
    i = int(np.argmax(np.abs(frame["diff"].to_numpy(dtype=float))))
    return {str(k): v for k, v in frame.iloc[i].to_dict().items()}


def _oriented(rec: dict[str, Any]) -> tuple[float, float]:
    """The difference's interval, signed so that the estimate is positive."""
    if rec["diff"] >= 0:
        return rec["diff_lo"], rec["diff_hi"]
    return -rec["diff_hi"], -rec["diff_lo"]


def _difference_findings(
    src: Any, per: Per, confidence: float, alpha: float
) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    ci = f"{confidence:.0%} simultaneous CI"
    lat = compare_latency(src, "region", confidence=confidence, alpha=alpha)
    sig = lat[lat["significant"]]
    if len(sig):
        rec = _largest(sig)
        hi_r, lo_r = (rec["a"], rec["b"]) if rec["diff"] > 0 else (rec["b"], rec["a"])
        m_hi, m_lo = max(rec["median_a"], rec["median_b"]), min(rec["median_a"], rec["median_b"])
        d_lo, d_hi = _oriented(rec)
        rel = abs(rec["diff"]) / m_lo if m_lo else 0.0
        out.append(
            (
                _TIER_DIFFERENCE + min(rel, 5) * 100,
                f"Median latency is {_ms(abs(rec['diff']))} higher in {hi_r} than in {lo_r} "
                f"({_ms(m_hi)} vs {_ms(m_lo)}; {ci} of the difference {_ms(d_lo)}–{_ms(d_hi)}, "
                f"Holm-adjusted {_p(rec['p_holm'])}).",
            )
        )
    err = compare_error_rates(src, "region", per=per, confidence=confidence, alpha=alpha)
    sig = err[err["significant"]]
    if len(sig):
        rec = _largest(sig)
        if rec["diff"] < 0:
            rec = {
                **rec,
                "a": rec["b"],
                "b": rec["a"],
                "rate_a": rec["rate_b"],
                "rate_b": rec["rate_a"],
                "diff": -rec["diff"],
                "diff_lo": -rec["diff_hi"],
                "diff_hi": -rec["diff_lo"],
            }
        unit = "calls" if per == "call" else "attempts"
        rel = rec["diff"] / rec["rate_b"] if rec["rate_b"] else 5.0
        out.append(
            (
                _TIER_DIFFERENCE + min(rel, 5) * 100,
                f"{rec['a']} fails more often than {rec['b']}: {_pct(rec['rate_a'])} vs "
                f"{_pct(rec['rate_b'])} of {unit}, {100 * rec['diff']:.2f} points more ({ci} "
                f"{100 * rec['diff_lo']:.2f}–{100 * rec['diff_hi']:.2f}, Holm-adjusted "
                f"{_p(rec['p_holm'])}).",
            )
        )
    lv = compare_latency(src, "security_level", confidence=confidence, alpha=alpha)
    sig = lv[lv["significant"]]
    if len(sig):
        rec = _largest(sig)
        slow, fast = (rec["a"], rec["b"]) if rec["diff"] > 0 else (rec["b"], rec["a"])
        d_lo, d_hi = _oriented(rec)
        out.append(
            (
                _TIER_DIFFERENCE - 1,
                f"Security level {slow} is {_ms(abs(rec['diff']))} slower at the median than "
                f"level {fast} ({ci} {_ms(d_lo)}–{_ms(d_hi)}, Holm-adjusted {_p(rec['p_holm'])}).",
            )
        )
    return out
