"""An until-decided campaign's feed of calls, its verdict table, and the command that decides the rest.

The campaign's plan holds ``per_cell`` calls per cell (the cap) in blocked, shuffled order; the
feed takes each cell's next pending entry, round by round, for the cells
:func:`~faceid_tools.campaign.adaptive.allocate` picks from the counts the log holds so far.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..calllog.conventions import GENERATE
from .adaptive import METRICS, CellCounts, Judge, allocate
from .plan import Plan, PlanEntry
from .progress import Progress
from .records import CampaignRecord, CampaignStore

__all__ = [
    "UNTIL_DECIDED_CAP",
    "Adaptive",
    "cell_counts",
    "feed",
    "verdict_table",
]

Cell = tuple[str, str]
#: Calls per round (12 s at the quota): counts are re-read and the allocation redone this often.
ROUND = 60
#: Most calls a cell may get in an until-decided campaign unless ``per_cell`` says otherwise.
UNTIL_DECIDED_CAP = 20_000
_ERRORS = ("api_error", "failed")


def cell_counts(
    conn: sqlite3.Connection, campaign_id: str, plan: Plan, p95_ms: float
) -> dict[Cell, CellCounts]:
    """Per cell of ``plan``: the counts its objectives rest on, from the finished calls."""
    rows = conn.execute(
        "SELECT cc.region, cc.security_level, COUNT(*),"
        f" SUM(cc.status IN {_ERRORS!r}), SUM(c.latency_ms IS NOT NULL),"
        " SUM(c.latency_ms > ?), SUM(cc.status IN ('ok', 'integrity_error')),"
        " SUM(cc.status = 'integrity_error')"
        " FROM campaign_calls cc LEFT JOIN calls c ON c.call_id = cc.call_id"
        " AND c.action = ? AND c.outcome = 'ok'"
        " WHERE cc.campaign_id = ? GROUP BY cc.region, cc.security_level",
        (p95_ms, GENERATE, campaign_id),
    ).fetchall()
    out = {cell: CellCounts() for cell in plan.cells}
    for region, level, *numbers in rows:
        if (region, level) in out:
            out[(region, level)] = CellCounts(*(int(x or 0) for x in numbers))
    return out


def feed(
    plan: Plan,
    pending: list[PlanEntry],
    counts: Callable[[], Mapping[Cell, CellCounts]],
    judge: Judge,
    *,
    budget_calls: int | None = None,
    budget_s: float | None = None,
    on_round: Callable[[Mapping[Cell, CellCounts]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[PlanEntry]:
    """The plan entries to dispatch, round by round, until every cell is decided or a budget
    (calls dispatched, or seconds) is spent.  ``on_round`` sees the counts of each round."""
    queues: dict[Cell, list[PlanEntry]] = {cell: [] for cell in plan.cells}
    for entry in pending:
        queues[(entry.region, entry.level)].append(entry)
    for q in queues.values():
        q.reverse()  # pop() takes the earliest
    t0, sent = clock(), 0
    start = counts()
    sent_to = dict.fromkeys(queues, 0)
    while True:
        now = {  # calls still in flight count towards a cell's calls (not yet its outcomes)
            c: replace(n, calls=max(n.calls, start[c].calls + sent_to[c])) if c in start else n
            for c, n in counts().items()
        }
        if on_round is not None:
            on_round(now)
        size = ROUND if budget_calls is None else min(ROUND, budget_calls - sent)
        if size <= 0 or (budget_s is not None and clock() - t0 >= budget_s):
            return
        room = {c: len(q) for c, q in queues.items()}
        capped = {c: n for c, n in now.items() if room.get(c)}
        picks = allocate(capped, judge, size)
        picks = [c for c in picks if room.get(c)]
        if not picks:
            return
        for cell in picks:
            if not queues[cell]:
                continue
            yield queues[cell].pop()
            sent += 1
            sent_to[cell] += 1
            if budget_s is not None and clock() - t0 >= budget_s:
                return


def verdict_table(counts: Mapping[Cell, CellCounts], judge: Judge) -> str:
    """The verdict matrix as plain text: regions × levels, each cell's verdict and open objectives."""
    regions = list(dict.fromkeys(r for r, _ in counts))
    levels = list(dict.fromkeys(lv for _, lv in counts))
    short = {"p95_latency_ms": "p95", "error_rate": "errors", "integrity_rate": "integrity"}
    cells: dict[Cell, str] = {}
    for cell, n in counts.items():
        states = judge.states(n)
        if any(s > 0 for s in states.values()):
            failing = ",".join(short[m] for m in METRICS if states[m] > 0)
            cells[cell] = f"FAIL ({failing})"
        elif all(s < 0 for s in states.values()):
            cells[cell] = "pass"
        else:
            cells[cell] = "open (" + ",".join(short[m] for m in METRICS if states[m] == 0) + ")"
        cells[cell] += f" n={n.calls}"
    width = max(len(v) for v in cells.values()) + 2
    head = "region".ljust(14) + "".join(f"level {lv}".ljust(width) for lv in levels)
    lines = [head, "-" * len(head)]
    for r in regions:
        lines.append(r.ljust(14) + "".join(cells.get((r, lv), "").ljust(width) for lv in levels))
    return "\n".join(lines)


@dataclass(frozen=True)
class Adaptive:
    """How an until-decided run judges and when it stops (``run_campaign`` builds one)."""

    judge: Judge
    budget_calls: int | None
    budget_s: float | None

    def expected_total(self, rate: float, cap: int) -> int:
        limits = [cap]
        if self.budget_calls is not None:
            limits.append(self.budget_calls)
        if self.budget_s is not None:
            limits.append(int(self.budget_s * rate))
        return min(limits)

    def feed(
        self, record: CampaignRecord, store: CampaignStore, todo: list[PlanEntry], bar: Progress
    ) -> Any:
        judge = self.judge.prepare()  # CPU-heavy once, before any call is in flight

        def show(counts: Mapping[tuple[str, str], CellCounts]) -> None:
            decided = sum(judge.decided(n) for n in counts.values())
            bar.cells(decided, len(counts))

        return feed(
            record.plan,
            todo,
            lambda: cell_counts(store.connection, record.campaign_id, record.plan, judge.p95_ms),
            judge,
            budget_calls=self.budget_calls,
            budget_s=self.budget_s,
            on_round=show,
        )
