"""Ground truth for until-decided campaigns: per-cell outcome streams drawn from a profile, no HTTP.

Each region × level cell gets its own stream of calls drawn with
:meth:`~faceid_tools.emulator.profile.BehaviourModel.draw_many` (what the emulator serves), so an
allocation policy can be replayed call by call: :func:`uniform` (every cell in turn, today's
campaign) and :func:`adaptive` (:func:`faceid_tools.campaign.adaptive.allocate`), monitored with
the anytime-valid tests.  :func:`truth` gives the profile's true share of bad units per
objective, and :func:`fixed_sample_size` the calls a fixed-sample test with 80% power needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from ..campaign.adaptive import METRICS, CellCounts, Judge, allocate
from ..client.regions import REGIONS, SECURITY_LEVELS
from ..emulator.profile import BehaviourModel, Profile

__all__ = ["Run", "Streams", "adaptive", "fixed_sample_size", "truth", "uniform"]

Cell = tuple[str, str]
CELLS: tuple[Cell, ...] = tuple((r, lv) for r in REGIONS for lv in sorted(SECURITY_LEVELS))


def truth(profile: Profile, judge: Judge) -> dict[Cell, dict[str, float]]:
    """True share of bad units per cell and objective (slow among successful calls, failed
    calls, corrupt sequences)."""
    out = {}
    for region, level in CELLS:
        extra = profile.level_extra_ms[level]
        out[(region, level)] = {
            "p95_latency_ms": profile.latency[region].sf(judge.p95_ms - extra),
            "error_rate": profile.error_rate(region),
            "integrity_rate": profile.corrupt_rate,
        }
    return out


def fixed_sample_size(p: float, p0: float, alpha: float, power: float = 0.8) -> float:
    """Units a one-sided fixed-sample test of ``p0`` at level α needs for ``power`` at ``p``."""
    if p == p0:
        return math.inf
    za, zb = norm.isf(alpha), norm.isf(1 - power)
    return ((za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p * (1 - p))) / (p - p0)) ** 2


def units_per_call(profile: Profile, cell: Cell, metric: str) -> float:
    """Units of an objective per call: 1 for the error rate, the success share otherwise."""
    return 1.0 if metric == "error_rate" else 1 - profile.error_rate(cell[0])


@dataclass
class Streams:
    """Cumulative counts per cell after j calls (index j = 0..n)."""

    n: int
    counts: dict[Cell, dict[str, np.ndarray]]

    @classmethod
    def draw(cls, profile: Profile, judge: Judge, n: int, seed: int) -> Streams:
        model = BehaviourModel(profile, seed=seed)
        counts = {}
        for region, level in CELLS:
            d = model.draw_many(region, level, n)
            ok = np.array([c is None for c in d["error_code"]])
            slow = ok & (d["latency_ms"] > judge.p95_ms)
            corrupt = ok & d["corrupt"]

            def cum(x: np.ndarray) -> np.ndarray:
                return np.concatenate([[0], np.cumsum(x)])

            counts[(region, level)] = {
                "calls": np.arange(n + 1),
                "errors": cum(~ok),
                "n_ok": cum(ok),
                "slow": cum(slow),
                "sequences": cum(ok),
                "corrupt": cum(corrupt),
            }
        return cls(n, counts)

    def at(self, cell: Cell, j: int) -> CellCounts:
        c = self.counts[cell]
        return CellCounts(**{k: int(v[j]) for k, v in c.items()})


@dataclass
class Run:
    """Where a replay ended: calls spent in total and per cell, and each objective's verdict
    (−1 pass, +1 fail, 0 open) with the total calls spent when it was reached."""

    spent: int = 0
    calls: dict[Cell, int] = field(default_factory=dict)
    verdict: dict[tuple[Cell, str], int] = field(default_factory=dict)
    decided_at: dict[tuple[Cell, str], int] = field(default_factory=dict)

    def fully_decided(self) -> int:
        """Cells whose three objectives are all decided."""
        return sum(all(self.verdict.get((c, m), 0) != 0 for m in METRICS) for c in CELLS)


def first_decisions(streams: Streams, judge: Judge) -> dict[tuple[Cell, str], tuple[int, int]]:
    """Per cell and objective, monitored after every call: ``(verdict, calls in the cell)`` at
    the first crossing (``(0, n)`` if none within the stream)."""
    out = {}
    for cell in CELLS:
        c = streams.counts[cell]
        for metric in METRICS:
            k, n = {
                "p95_latency_ms": (c["slow"], c["n_ok"]),
                "error_rate": (c["errors"], c["calls"]),
                "integrity_rate": (c["corrupt"], c["sequences"]),
            }[metric]
            table = judge.table(metric)
            inside = n <= judge.horizon
            side = np.zeros(len(n), np.int8)
            side[inside] = table.verdicts(k[inside], n[inside])
            hit = np.flatnonzero(side != 0)
            out[(cell, metric)] = (int(side[hit[0]]), int(hit[0])) if hit.size else (0, streams.n)
    return out


def uniform(
    streams: Streams, judge: Judge, budget: int | None = None, need: set | None = None
) -> Run:
    """Every cell in turn (a blocked campaign): stop at ``budget`` calls, or once every
    objective in ``need`` (default: all) is decided."""
    first = first_decisions(streams, judge)
    per_cell = streams.n if budget is None else budget // len(CELLS)
    if budget is None:
        wanted = need if need is not None else set(first)
        per_cell = max((first[key][1] for key in wanted), default=0)
        per_cell = min(per_cell, streams.n)
    run = Run(spent=per_cell * len(CELLS), calls={c: per_cell for c in CELLS})
    for key, (side, at) in first.items():
        if side != 0 and at <= per_cell:
            run.verdict[key] = side
            run.decided_at[key] = at * len(CELLS)
    return run


def adaptive(
    streams: Streams,
    judge: Judge,
    budget: int | None = None,
    need: set | None = None,
    round_size: int = 60,
) -> Run:
    """Rounds of :func:`~faceid_tools.campaign.adaptive.allocate` (judged after every round):
    stop at ``budget`` calls, once every objective in ``need`` is decided, or when no open
    cell has calls left in its stream."""
    first = first_decisions(streams, judge)
    j = dict.fromkeys(CELLS, 0)
    run = Run()
    expected: dict[Cell, tuple[int, float]] = {}
    while True:
        counts = {c: streams.at(c, j[c]) for c in CELLS}
        for key, (side, at) in first.items():
            if key not in run.verdict and side != 0 and at <= j[key[0]]:
                run.verdict[key] = side
                run.decided_at[key] = run.spent
        if need is not None and all(k in run.verdict for k in need):
            break
        room = round_size if budget is None else min(round_size, budget - run.spent)
        if room <= 0:
            break
        picks = allocate(counts, judge, room, cap=streams.n, expected=expected)
        if not picks:
            break
        for c in picks:
            j[c] += 1
            expected.pop(c, None)
        run.spent += len(picks)
    run.calls = j
    return run
