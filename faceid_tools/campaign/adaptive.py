"""Where an until-decided campaign spends its next calls (pure: counts in, cells out).

Each region × level cell carries the counts its three objectives are judged on
(:class:`CellCounts`); :func:`objective_states` decides each objective with the anytime-valid
tests of :mod:`faceid_tools.analysis.sequential` (the same tests ``slo_verdicts(intervals=
"anytime")`` uses, so the campaign stops exactly when the review would call every cell decided).

:func:`allocate` fills one round: cells with fewer than ``warmup`` calls first (an estimate needs
some data), then open cells by the **fewest expected calls to full decision** (the largest of the
open objectives' :func:`expected_calls`, if the current estimates hold).  Finishing cheap cells
first maximises the cells fully decided when a budget runs out; a cell whose estimate sits on a
threshold (out of reach) waits until nothing cheaper is open.  Decided cells get nothing.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..analysis.sequential import N_OPT, Boundaries, boundaries

__all__ = [
    "CellCounts",
    "Judge",
    "allocate",
]

Cell = tuple[str, str]
METRICS: tuple[str, ...] = ("p95_latency_ms", "error_rate", "integrity_rate")
#: Calls a cell gets before its estimates steer the allocation.
WARMUP = 50
#: Beyond this many units the planning tables stop: an objective needing more is "out of reach".
HORIZON = 60_000


@dataclass(frozen=True)
class CellCounts:
    """What one cell's objectives rest on: calls and their failures, successful calls and those
    slower than the latency objective, verified sequences and those failing their MD5."""

    calls: int = 0
    errors: int = 0
    n_ok: int = 0
    slow: int = 0
    sequences: int = 0
    corrupt: int = 0

    def units(self, metric: str) -> tuple[int, int]:
        """``(bad units, units)`` of one objective."""
        if metric == "p95_latency_ms":
            return self.slow, self.n_ok
        if metric == "error_rate":
            return self.errors, self.calls
        return self.corrupt, self.sequences


def _decides(table: Boundaries, rate: float, size: np.ndarray) -> np.ndarray:
    events = rate * size
    return (events >= table.above[size]) | (events <= table.below[size])


@functools.lru_cache(maxsize=32)
def _table(p0: float, alpha: float, n_opt: float, horizon: int) -> Boundaries:
    return boundaries(horizon, p0, alpha, n_opt)


class Judge:
    """The objectives (thresholds as ``faceid-tools report`` takes them) and their tests.

    ``p0`` per metric is the largest acceptable *share of bad units* (slow calls, failed calls,
    corrupt sequences); tests run at ``α/2 = (1 − confidence)/2`` per side.
    """

    def __init__(
        self,
        p95_ms: float = 800.0,
        error_rate: float = 0.01,
        integrity_rate: float = 0.995,
        confidence: float = 0.95,
        n_opt: float = N_OPT,
        horizon: int = HORIZON,
    ) -> None:
        self.p95_ms = float(p95_ms)
        self.p0 = {
            "p95_latency_ms": 0.05,
            "error_rate": float(error_rate),
            "integrity_rate": 1 - float(integrity_rate),
        }
        self.alpha = (1 - confidence) / 2
        self.n_opt = n_opt
        self.horizon = horizon

    def table(self, metric: str) -> Boundaries:
        """Decision boundaries for every unit count up to the horizon (built once)."""
        return _table(self.p0[metric], self.alpha, self.n_opt, self.horizon)

    def prepare(self) -> Judge:
        """Build the decision tables now (seconds of CPU), not while calls are in flight."""
        for metric in METRICS:
            self.table(metric)
        return self

    def states(self, counts: CellCounts) -> dict[str, int]:
        """−1 (pass), +1 (fail) or 0 (open) per objective."""
        out = {}
        for metric in METRICS:
            k, n = counts.units(metric)
            out[metric] = int(self._decide(metric, k, n))
        return out

    def _decide(self, metric: str, k: int, n: int) -> int:
        if n <= self.horizon:
            return int(self.table(metric).verdicts(np.array([k]), np.array([n]))[0])
        from ..analysis.sequential import decide

        return int(decide(k, n, self.p0[metric], self.alpha, self.n_opt))

    def expected_units(self, metric: str, k: int, n: int) -> float:
        """Further units expected to decide one objective if ``k/n`` holds (inf: out of reach)."""
        if self._decide(metric, k, n) != 0:
            return 0.0
        if n <= 0 or n >= self.horizon:
            return math.inf
        table = self.table(metric)
        rate = k / n
        grid = np.unique(np.geomspace(n, self.horizon, 300).astype(np.int64))
        hit = np.flatnonzero(_decides(table, rate, grid))
        if not hit.size:
            return math.inf
        if hit[0] == 0:
            return float(grid[0] - n)
        size = np.arange(grid[hit[0] - 1], grid[hit[0]] + 1)
        first = size[np.flatnonzero(_decides(table, rate, size))[0]]
        return float(first - n)

    def expected_calls(self, counts: CellCounts) -> float:
        """Further calls to decide every open objective of a cell (0: decided; inf: out of reach)."""
        return max(self._open_costs(counts), default=0.0)

    def _open_costs(self, counts: CellCounts) -> list[float]:
        costs = []
        for metric in METRICS:
            k, n = counts.units(metric)
            more = self.expected_units(metric, k, n)
            if more == 0:
                continue
            if counts.calls and n:
                more = more / (n / counts.calls)
            costs.append(more)
        return costs

    def priority(self, counts: CellCounts) -> tuple[int, float]:
        """Sort key of an open cell: ``(0, cost)`` when every open objective is within reach
        (cost: calls to full decision), ``(1, cost)`` when only some are (cost: calls to decide
        those), ``(2, 0)`` when none is — so calls go where they can decide something."""
        costs = self._open_costs(counts)
        reachable = [c for c in costs if math.isfinite(c)]
        if not reachable:
            return (2, 0.0)
        return (0 if len(reachable) == len(costs) else 1, max(reachable))

    def decided(self, counts: CellCounts) -> bool:
        return all(s != 0 for s in self.states(counts).values())


def allocate(
    cells: Mapping[Cell, CellCounts],
    judge: Judge,
    size: int,
    *,
    warmup: int = WARMUP,
    cap: int | None = None,
    expected: dict[Cell, tuple[int, float]] | None = None,
) -> list[Cell]:
    """The cells of the next ``size`` calls (a cell may repeat), open cells only.

    Cells below ``warmup`` calls are served first, round-robin; then open cells by fewest expected
    calls to full decision, each taking up to its expected need.  ``cap``: calls a cell may have
    at most.  ``expected``: a cache of :meth:`Judge.priority` per cell (filled here;
    drop a cell's entry when its counts change).
    """
    open_cells = [
        c for c, n in cells.items() if not judge.decided(n) and (cap is None or n.calls < cap)
    ]
    if not open_cells or size <= 0:
        return []
    calls = {c: cells[c].calls for c in open_cells}
    out: list[Cell] = []
    cold = sorted((c for c in open_cells if calls[c] < warmup), key=lambda c: (calls[c], c))
    while cold and len(out) < size:
        for c in list(cold):
            if len(out) >= size:
                break
            out.append(c)
            calls[c] += 1
            if calls[c] >= warmup:
                cold.remove(c)
    if len(out) >= size:
        return out
    known = expected if expected is not None else {}
    need: dict[Cell, tuple[int, float]] = {}
    for c in open_cells:
        if c not in known:
            known[c] = judge.priority(cells[c])
        need[c] = known[c]
    ranked = sorted(open_cells, key=lambda c: (need[c], calls[c], c))
    for c in ranked:
        room = size - len(out)
        if room <= 0:
            break
        tier, want = need[c]
        take = room if tier == 2 else min(room, max(1, math.ceil(want)))
        if cap is not None:
            take = min(take, cap - calls[c])
        out += [c] * max(take, 0)
        calls[c] += max(take, 0)
    if len(out) < size:  # everything open is near its need: spread the rest round-robin
        ring = [c for c in ranked if cap is None or calls[c] < cap]
        i = 0
        while ring and len(out) < size:
            c = ring[i % len(ring)]
            out.append(c)
            calls[c] += 1
            if cap is not None and calls[c] >= cap:
                ring.remove(c)
            else:
                i += 1
    return out
