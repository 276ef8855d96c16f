"""The review's findings as sentences: :func:`finding_text` writes one
:class:`~faceid_tools.analysis.findings.Finding`, :func:`top_findings` the most important."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...analysis._data import Per
from ...analysis.findings import Finding
from ...analysis.findings import top_findings as _top_findings
from ...analysis.review import FAIL, PASS, SLO, UNDECIDED
from ...client.vocabulary import metric_name

__all__ = ["finding_text", "top_findings"]


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _ms(x: float) -> str:
    return f"{x:,.0f} ms"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cell(cell: Mapping[str, Any]) -> str:
    return " ".join(f"level {v}" if k == "security_level" else str(v) for k, v in cell.items())


_METRIC_TEXT: dict[str, tuple[str, Callable[[float], str]]] = {
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
    """The findings that matter most, as short sentences, most important first (the figures:
    :func:`faceid_tools.analysis.top_findings`, whose arguments these are)."""
    found = _top_findings(data, slo, limit=limit, per=per, confidence=confidence, alpha=alpha)
    return [finding_text(f) for f in found]


def finding_text(finding: Finding) -> str:
    """One finding as the sentence a review page shows, every estimate with its interval."""
    return _WRITERS[finding.kind](finding.values)


def _ci(v: Mapping[str, Any], simultaneous: bool = False) -> str:
    return f"{v['confidence']:.0%} {'simultaneous ' if simultaneous else ''}CI"


def _format(v: Mapping[str, Any]) -> str:
    return (
        f"Level {v['security_level']} sequences break the documented format: "
        f"{v['violations']:,} of {v['n']:,} do not carry the light frames / blink "
        "cues / level that docs/sequence-format.md prescribes."
    )


def _slo(v: Mapping[str, Any]) -> str:
    name, fmt = _METRIC_TEXT[v["metric"]]
    return (
        f"{name} fails its SLO ({v['objective']} {fmt(v['threshold'])}) in {v['failing']} of "
        f"{v['total']} cells; worst is {_cell(v['cell'])} at {fmt(v['estimate'])} "
        f"({_ci(v)} {fmt(v['lo'])}–{fmt(v['hi'])})."
    )


def _own(part: str, cells: int, own: Sequence[tuple[str, list[str]]]) -> list[str]:
    """What the cells of a failing group say on their own, as clauses."""
    said: list[str] = []
    for word, names in own:
        many = len(names) > 1
        if part == "cells":
            verb = {UNDECIDED: "not yet decided on its own", FAIL: "fails", PASS: "passes"}[word]
            if many:
                verb = verb.replace("its own", "their own").replace("fails", "fail")
                verb = verb.replace("passes", "pass")
            be = "are " if many else "is "
            whose = f" of its {cells} cells" if not said else ""
            said.append(f"{len(names)}{whose} " + (be + verb if word == UNDECIDED else verb))
        elif part == "levels":
            text = {UNDECIDED: "not yet decided", FAIL: "fail", PASS: "pass"}[word]
            if word == UNDECIDED:
                text = ("are " if many else "is ") + text
            elif not many:
                text += "s"
            said.append(f"its {'levels' if many else 'level'} {_and(names)} {text}")
        else:
            text = {UNDECIDED: "it is not yet decided", FAIL: "it fails", PASS: "it passes"}[word]
            said.append(f"in {_and(names)} {text}")
    return said


def _group_slo(v: Mapping[str, Any]) -> str:
    name, fmt = _METRIC_TEXT[v["metric"]]
    part = v["part"]
    if part == "levels":
        who = f"{v['region']} as a whole"
    elif part == "regions":
        who = f"Level {v['security_level']} in all regions together"
    else:
        who = "All calls together"
    said = _own(part, v["cells"], v["own"])
    verb = "fail" if part == "cells" else "fails"
    return (
        f"{who} {verb} the {name.lower()} ({v['objective']} {fmt(v['threshold'])}): "
        f"{fmt(v['estimate'])} ({_ci(v)} {fmt(v['lo'])}–{fmt(v['hi'])})"
        + (f"; {'; '.join(said)}." if said else ".")
    )


def _sequences(v: Mapping[str, Any]) -> str:
    parts = []
    dups = v["duplicates"]
    if dups:
        parts.append(
            f"{dups:,} light sequence{'s were' if dups != 1 else ' was'} served to more "
            f"than one call ({v['duplicate_calls']:,} calls)"
        )
    if v["failed"]:
        parts.append(
            f"{v['failed']:,} of {v['downloads']:,} downloads failed their MD5 check (integrity "
            f"{_pct(v['integrity'])}, {_ci(v)} {_pct(v['lo'])}–{_pct(v['hi'])})"
        )
    text = " and ".join(parts)
    return text[0].upper() + text[1:] + "."


def _region_latency(v: Mapping[str, Any]) -> str:
    return (
        f"Median latency is {_ms(v['diff'])} higher in {v['slower']} than in {v['faster']} "
        f"({_ms(v['median_slower'])} vs {_ms(v['median_faster'])}; {_ci(v, True)} of the "
        f"difference {_ms(v['lo'])}–{_ms(v['hi'])}, Holm-adjusted {_p(v['p_holm'])})."
    )


def _region_errors(v: Mapping[str, Any]) -> str:
    unit = "calls" if v["per"] == "call" else "attempts"
    return (
        f"{v['worse']} fails more often than {v['better']}: {_pct(v['rate_worse'])} vs "
        f"{_pct(v['rate_better'])} of {unit}, {100 * v['diff']:.2f} points more ({_ci(v, True)} "
        f"{100 * v['lo']:.2f}–{100 * v['hi']:.2f}, Holm-adjusted {_p(v['p_holm'])})."
    )


def _level_latency(v: Mapping[str, Any]) -> str:
    return (
        f"Security level {v['slower']} is {_ms(v['diff'])} slower at the median than "
        f"level {v['faster']} ({_ci(v, True)} {_ms(v['lo'])}–{_ms(v['hi'])}, "
        f"Holm-adjusted {_p(v['p_holm'])})."
    )


def _undecided(v: Mapping[str, Any]) -> str:
    metrics = ", ".join(_METRIC_TEXT[m][0].lower() for m in v["metrics"])
    return (
        f"{v['cells']} of {v['total']} region × level cells lack the data to decide at least "
        f"one SLO ({metrics}); their intervals straddle the threshold."
    )


_WRITERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "format": _format,
    "slo": _slo,
    "group_slo": _group_slo,
    "sequences": _sequences,
    "region_latency": _region_latency,
    "region_errors": _region_errors,
    "level_latency": _level_latency,
    "undecided": _undecided,
}
