"""The shared shape of a benchmark result and the table ``make bench`` prints.

Each ``bench/bench_<name>.py`` defines ``run(quick: bool) -> list[Row]``.  Rows of one ``group`` are
measured side by side in one run; ``baseline`` names the row of the same group that ratios are
taken against (``None`` for the baseline itself).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"


@dataclass
class Row:
    group: str
    name: str
    unit: str
    samples: list[float]
    baseline: str | None = None
    note: str = ""
    lower_is_better: bool = True
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def repeat(fn: Callable[[], float], times: int) -> list[float]:
    """Call ``fn`` (which returns one measurement) ``times`` times."""
    return [fn() for _ in range(times)]


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    by_name = {(r.group, r.name): r for r in rows}
    header = ("group", "benchmark", "median", "min–max", "unit", "n", "ratio", "note")
    lines = [header]
    for r in rows:
        base = by_name.get((r.group, r.baseline)) if r.baseline else None
        ratio = (
            f"{r.median / base.median:.2f}× {r.baseline}"
            if base and base.median
            else "baseline"
            if r.baseline is None
            else "—"
        )
        lines.append(
            (
                r.group,
                r.name,
                _fmt(r.median),
                f"{_fmt(min(r.samples))}–{_fmt(max(r.samples))}",
                r.unit,
                str(len(r.samples)),
                ratio,
                r.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if i == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)
