"""The product review's pieces: the verdict matrix with its margins, the lines a meeting decides
from, the evidence tables, and the ``faceid-tools probe`` command that decides the open cells."""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from ...analysis.decisions import OBJECTIVE_NAMES, probe_plan
from ...analysis.review import SLO
from ._format import LEVEL_NAMES, MISSING, interval, is_missing, ms, pct, signed
from ._html import Cell, Html, coloured_matrix
from ._table import table

__all__ = [
    "VERDICT_COLOURS",
    "decided_per_grain",
    "evidence",
    "interval_kind",
    "lead",
    "matrix",
    "objectives",
    "probe_command",
    "probe_line",
]

#: Okabe–Ito colours (safe for every common colour-vision deficiency), text colour on each.
VERDICT_COLOURS: dict[str, tuple[str, str]] = {
    "pass": ("#0072B2", "white"),  # blue
    "fail": ("#D55E00", "white"),  # vermillion
    "not enough data": ("#E6E6E6", "#222222"),  # light grey
}
#: The quota a campaign keeps to (calls per second), for the time a command takes.
QUOTA_PER_S = 5.0
#: How the lead counts the groups of each grain.
_GRAIN_COUNTED = {
    "region × security_level": "cells",
    "region": "regions (levels pooled)",
    "security_level": "levels (regions pooled)",
    "all calls": "all calls",
}
_GRAIN_TEXT = {
    "region × security_level": "cell",
    "region": "region (levels pooled)",
    "security_level": "level (regions pooled)",
    "all calls": "all calls",
}


def _names(metrics: Sequence[str]) -> str:
    return ", ".join(OBJECTIVE_NAMES.get(m, m) for m in metrics)


def _fmt(metric: str) -> Any:
    return ms if metric.endswith("_ms") else pct


def interval_kind(verdicts: pd.DataFrame) -> str:
    """Which intervals a page shows: anytime-valid (``attrs["intervals"] == "anytime"``) or
    fixed-sample, at the result's confidence."""
    level = f"{float(verdicts.attrs.get('confidence', 0.95)):.0%}"
    if verdicts.attrs.get("intervals") == "anytime":
        return (
            f"anytime-valid {level} intervals (confidence sequences): they stay valid when the "
            "data are looked at after every call and a campaign stops on them"
        )
    return (
        f"fixed-sample {level} intervals: valid for a campaign whose size was set in advance, "
        "not for one stopped when its intervals looked decided"
    )


def objectives(verdicts: pd.DataFrame) -> Html:
    """One line: the objectives judged and the kind of interval that judges them."""
    slo = SLO(**verdicts.attrs.get("slo", {}))
    return Html(
        f"<p><strong>Objectives</strong>: p95 latency ≤ {slo.p95_latency_ms:,.0f} ms (successful "
        f"calls) · error rate per call ≤ {slo.error_rate:.2%} · sequence integrity ≥ "
        f"{slo.integrity_rate:.2%}, judged with {html.escape(interval_kind(verdicts))}. "
        "<code>faceid-tools report --slo-p95-ms … --slo-error-rate … --slo-integrity-rate …"
        "</code> changes them.</p>"
    )


def _cell(rec: Mapping[Hashable, Any]) -> Cell:
    word = str(rec["verdict"])
    lines = [f"<strong>{html.escape(word.upper())}</strong>"]
    if rec["fails"]:
        lines.append(html.escape("fails: " + _names(rec["fails"])))
    if rec["open"]:
        lines.append(html.escape("open: " + _names(rec["open"])))
        needed = rec["calls_needed"]
        lines.append(
            html.escape(
                "no number of calls is expected to decide it"
                if is_missing(needed)
                else f"≈ {int(needed):,} more calls to decide"
            )
        )
    if word == "pass":
        lines.append("all 3 objectives pass")
    lines.append(f"<small>{int(rec['calls']):,} calls</small>")
    bg, fg = VERDICT_COLOURS[word]
    return (lines, bg, fg, word)


def matrix(decisions: pd.DataFrame) -> Html:
    """The verdict matrix of :func:`faceid_tools.analysis.cell_decisions` as a coloured table.

    Each region × level cell shows its own verdict, the objectives failing or still open and,
    when one is open, the calls expected to decide it.  Set apart by a double rule and in
    italics: a last column per region (levels pooled), a last row per level (regions pooled) and
    the corner (all calls), each with its own verdict.  Okabe–Ito blue (pass), vermillion (fail),
    grey (not enough data); the word is always in the cell too.
    """
    rows, columns = (
        decisions.attrs.get("rows", "region"),
        decisions.attrs.get("columns", "security_level"),
    )
    grain_of = decisions["grain"].astype(str)
    cells_frame = decisions[grain_of == grain_of.iloc[0]]
    row_values = [str(v) for v in dict.fromkeys(cells_frame[rows].astype(object))]
    col_values = [str(v) for v in dict.fromkeys(cells_frame[columns].astype(object))]
    cells = {(str(r[rows]), str(r[columns])): _cell(r) for r in cells_frame.to_dict("records")}
    by_row: dict[str, Cell] = {}
    by_col: dict[str, Cell] = {}
    corner: Cell = None
    for rec in decisions[grain_of != grain_of.iloc[0]].to_dict("records"):
        has_row, has_col = not is_missing(rec[rows]), not is_missing(rec[columns])
        if has_row and not has_col:
            by_row[str(rec[rows])] = _cell(rec)
        elif has_col and not has_row:
            by_col[str(rec[columns])] = _cell(rec)
        elif not has_row and not has_col:
            corner = _cell(rec)
    margins = None
    if by_row or by_col or corner is not None:
        margins = (by_row, by_col, corner, "all levels", "all regions")
    return coloured_matrix(
        row_values,
        col_values,
        cells,
        VERDICT_COLOURS,
        kind="verdict",
        column_labels={c: "Level " + LEVEL_NAMES.get(c, c) for c in col_values},
        margins=margins,
    )


def probe_command(
    verdicts: pd.DataFrame,
    *,
    emulator: bool = False,
    retries: int | None = None,
    log_name: str | None = None,
) -> str | None:
    """``faceid-tools probe --until-decided`` over the regions and levels of the open cells,
    with the review's objectives when they are not the defaults; None when nothing is open."""
    plan = probe_plan(verdicts)
    if plan is None:
        return None
    parts = ["faceid-tools probe --until-decided"]
    if emulator:
        parts.append("--emulator")
    parts.append("--regions " + " ".join(plan.regions))
    parts.append("--levels " + " ".join(plan.levels))
    slo, default = verdicts.attrs.get("slo", {}), SLO().__dict__
    flags = {"p95_latency_ms": "--slo-p95-ms", "error_rate": "--slo-error-rate"}
    flags["integrity_rate"] = "--slo-integrity-rate"
    parts += [f"{flags[k]} {slo[k]:g}" for k in flags if k in slo and slo[k] != default[k]]
    if retries:
        parts.append(f"--retries {retries}")
    if log_name:
        parts.append(f"--log {log_name}")
    return " ".join(parts)


def probe_line(
    verdicts: pd.DataFrame,
    *,
    emulator: bool = False,
    retries: int | None = None,
    log_name: str | None = None,
) -> str:
    """Markdown: the command that decides the open cells, its expected calls and minutes."""
    plan = probe_plan(verdicts)
    command = probe_command(verdicts, emulator=emulator, retries=retries, log_name=log_name)
    if plan is None or command is None:
        return "Every objective of every cell is decided: no more calls are needed."
    minutes = plan.minutes(QUOTA_PER_S)
    text = (
        f"**To decide the rest**: {plan.cells} open cell{'s' if plan.cells != 1 else ''}, "
        f"about {plan.calls:,} calls in all (each open cell's *calls needed*, summed), "
        f"≈ {minutes:,.0f} minute{'s' if round(minutes) != 1 else ''} at {QUOTA_PER_S:g} calls/s"
    )
    if plan.unreachable:
        text += (
            f"; {plan.unreachable} of them without an estimate of the calls they need (no calls "
            "yet, or an estimate on the objective), not counted"
        )
    return text + f":\n\n```\n{command}\n```"


def _worst_fails(verdicts: pd.DataFrame, limit: int) -> list[str]:
    """The failures furthest beyond their objective (relative to it), any grain."""
    fails = verdicts[verdicts["verdict"].astype(str) == "fail"]
    found = []
    for rec in fails.to_dict("records"):
        near = rec["hi"] if rec["objective"] == "≥" else rec["lo"]
        gap = abs(float(near) - rec["threshold"]) / rec["threshold"]
        found.append((-gap, rec))
    found.sort(key=lambda x: x[0])
    out = []
    for _, rec in found[:limit]:
        fmt = _fmt(str(rec["metric"]))
        out.append(
            f"{_where(rec)}: {OBJECTIVE_NAMES[str(rec['metric'])]} "
            f"{interval(rec['estimate'], rec['lo'], rec['hi'], fmt)} against "
            f"{rec['objective']} {fmt(rec['threshold'])}"
        )
    return out


def _where(rec: Mapping[Hashable, Any]) -> str:
    region, level = rec.get("region"), rec.get("security_level")
    if is_missing(region) and is_missing(level):
        return "all calls"
    if is_missing(level):
        return f"{region} as a whole"
    if is_missing(region):
        return f"level {level} in all regions"
    return f"{region} level {level}"


def _counts(decisions: pd.DataFrame, grain: str) -> str:
    block = decisions[decisions["grain"] == grain]["verdict"].astype(str)
    parts = [f"{(block == v).sum()} {v}" for v in ("pass", "fail", "not enough data")]
    return ", ".join(p for p in parts if not p.startswith("0 ")) or "none"


def lead(
    verdicts: pd.DataFrame,
    *,
    changes: pd.DataFrame | None = None,
    emulator: bool = False,
    retries: int | None = None,
    log_name: str | None = None,
    limit: int = 3,
) -> str:
    """Markdown: the few lines a meeting decides from, above the matrix — verdict counts per
    grain, the worst failures, the regressions since the baseline (counted, the worst named;
    listed in their own section) and the command that decides the rest."""
    from ...analysis.decisions import cell_decisions

    decisions = cell_decisions(verdicts)
    grains = list(dict.fromkeys(decisions["grain"]))
    counts = "; ".join(f"{_GRAIN_COUNTED.get(g, g)}: {_counts(decisions, g)}" for g in grains)
    lines = [f"- **Verdicts** — {counts}."]
    worst = _worst_fails(verdicts, limit)
    lines.append(
        "- **Worst failures**: " + "; ".join(worst) + "." if worst else "- **No objective fails**."
    )
    if changes is not None:
        regressed = changes[changes["verdict"].astype(str) == "regressed"]
        if len(regressed):
            rec = regressed.sort_values("p_holm", kind="stable").to_dict("records")[0]
            lines.append(
                f"- **Regressions since the baseline**: {len(regressed)} (the worst: "
                f"{_where(rec)}, {_change_text(rec)}; all of them under *Since the baseline*)."
            )
        else:
            lines.append("- **No regression since the baseline.**")
    lines.append("- " + probe_line(verdicts, emulator=emulator, retries=retries, log_name=log_name))
    return "\n".join(lines)


def _change_text(rec: Mapping[Hashable, Any]) -> str:
    from ...client.vocabulary import METRIC_NAMES

    metric = str(rec["metric"])
    unit = "ms" if metric.endswith("_ms") else "pts"
    return (
        f"{METRIC_NAMES[metric]} {signed(rec['change'], unit)} "
        f"({signed(rec['change_lo'], unit)} to {signed(rec['change_hi'], unit)})"
    )


_EVIDENCE_NOTES = (
    "Grain: the group an objective is judged on — a region × level cell, a region with its levels "
    "pooled, a level with its regions pooled, or all calls; each verdict rests on that group's "
    "data only.",
    "Calls needed: more calls in that group expected to decide the verdict if the current "
    "estimate holds (0 when decided; — when no number of calls would, or the group has no data).",
)


def evidence(verdicts: pd.DataFrame) -> Styler:
    """Rows of :func:`slo_verdicts` as a table: grain, group, objective, estimate with its
    interval (titled at the result's confidence), target, n, verdict, calls needed."""
    level = f"{float(verdicts.attrs.get('confidence', 0.95)):.0%}"
    recs = verdicts.to_dict("records")
    frame = pd.DataFrame(
        {
            "Grain": [_GRAIN_TEXT.get(str(r["grain"]), str(r["grain"])) for r in recs],
            "Region": [MISSING if is_missing(r["region"]) else str(r["region"]) for r in recs],
            "Level": [
                MISSING if is_missing(r["security_level"]) else str(r["security_level"])
                for r in recs
            ],
            "Objective": [OBJECTIVE_NAMES[str(r["metric"])] for r in recs],
            f"Estimate ({level} CI)": [
                interval(r["estimate"], r["lo"], r["hi"], _fmt(str(r["metric"]))) for r in recs
            ],
            "Target": [f"{r['objective']} {_fmt(str(r['metric']))(r['threshold'])}" for r in recs],
            "n": verdicts["n"].astype("int64").to_numpy(),
            "Verdict": [str(r["verdict"]) for r in recs],
            "calls_needed": verdicts["calls_needed"].astype("Int64").to_numpy(),
        }
    )
    return table(frame, notes=_EVIDENCE_NOTES)


def decided_per_grain(verdicts: pd.DataFrame) -> Styler:
    """How many groups each objective decides at each grain (cells, regions, levels, all)."""
    grains = list(verdicts.attrs.get("grains") or dict.fromkeys(verdicts["grain"]))
    rows = []
    for metric in dict.fromkeys(verdicts["metric"]):
        row = {"Objective": OBJECTIVE_NAMES.get(str(metric), str(metric))}
        for grain in grains:
            block = verdicts[(verdicts["grain"] == grain) & (verdicts["metric"] == metric)]
            decided = int((block["verdict"].astype(str) != "not enough data").sum())
            row[f"{_GRAIN_TEXT.get(grain, grain)} ({len(block)})"] = f"{decided:,} decided"
        rows.append(row)
    return table(
        pd.DataFrame(rows),
        notes=["In brackets: how many groups the grain has. Each group is judged on its own data."],
    )
