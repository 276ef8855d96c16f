"""The campaign plan: regions × levels × calls per cell, in a randomised, blocked order.

Each block holds every (region, level) cell exactly once, in an order shuffled with the campaign's
seed, so slow drift over the run (time of day, load) spreads evenly over every cell instead of
masquerading as a region or level effect.  A plan index is the position in that order; it is
stable (the same parameters always give the same plan) and names the call:
``f"{campaign_id}-{index:06d}"``.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..calllog.conventions import plan_call_id, plan_index
from ..client.regions import REGIONS, SECURITY_LEVELS
from ..errors import InputError


@dataclass(frozen=True)
class PlanEntry:
    """One planned call: its index in the run order, its block, and its cell."""

    index: int
    block: int
    region: str
    level: str


#: The call id of a plan index and back (the format is the log's convention).
call_id_for = plan_call_id
index_of = plan_index


def new_seed() -> int:
    """A fresh random seed (stored with the campaign so the plan can be rebuilt)."""
    return secrets.randbits(63)


@dataclass(frozen=True)
class Plan:
    """regions × levels × ``per_cell`` calls, blocked and shuffled with ``seed``."""

    regions: tuple[str, ...] = REGIONS
    levels: tuple[str, ...] = ("1", "2", "3", "4")
    per_cell: int = 10
    seed: int = field(default_factory=new_seed)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions))
        object.__setattr__(self, "levels", tuple(str(x) for x in self.levels))
        if not self.regions:
            raise InputError("a plan needs at least one region")
        if not self.levels:
            raise InputError("a plan needs at least one security level")
        for name, values in (("regions", self.regions), ("levels", self.levels)):
            if len(set(values)) != len(values):
                raise InputError(f"{name} repeat a value: {values!r}")
        unsupported = [r for r in self.regions if r not in REGIONS]
        if unsupported:
            raise InputError(f"the action supports only {', '.join(REGIONS)}: {unsupported!r}")
        bad = [lv for lv in self.levels if lv not in SECURITY_LEVELS]
        if bad:
            raise InputError(f"security levels must be among {sorted(SECURITY_LEVELS)}: {bad!r}")
        if isinstance(self.per_cell, bool) or not isinstance(self.per_cell, int):
            raise InputError(f"per_cell must be an int, got {self.per_cell!r}")
        if self.per_cell < 1:
            raise InputError(f"per_cell must be at least 1, got {self.per_cell}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed must be a non-negative int, got {self.seed!r}")

    @property
    def cells(self) -> list[tuple[str, str]]:
        """Every (region, level), in the given order."""
        return [(r, lv) for r in self.regions for lv in self.levels]

    def __len__(self) -> int:
        return len(self.regions) * len(self.levels) * self.per_cell

    @cached_property
    def entries(self) -> tuple[PlanEntry, ...]:
        """The run order: ``per_cell`` blocks, each every cell once, shuffled with the seed."""
        rng = random.Random(self.seed)
        out: list[PlanEntry] = []
        for block in range(self.per_cell):
            cells = self.cells
            rng.shuffle(cells)
            out += [
                PlanEntry(len(out) + i, block, region, level)
                for i, (region, level) in enumerate(cells)
            ]
        return tuple(out)

    def __iter__(self) -> Iterator[PlanEntry]:
        return iter(self.entries)

    def __getitem__(self, index: int) -> PlanEntry:
        return self.entries[index]

    def select(self, indices: Sequence[int] | set[int] | frozenset[int]) -> list[PlanEntry]:
        """The entries with these indices, in run order."""
        wanted = set(indices)
        return [e for e in self.entries if e.index in wanted]

    def params(self) -> dict[str, Any]:
        """The parameters that rebuild this plan (stored with the campaign)."""
        return {
            "regions": list(self.regions),
            "levels": list(self.levels),
            "per_cell": self.per_cell,
            "seed": self.seed,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Plan:
        return cls(
            regions=tuple(params["regions"]),
            levels=tuple(params["levels"]),
            per_cell=int(params["per_cell"]),
            seed=int(params["seed"]),
        )

    def fingerprint(self) -> str:
        """SHA-256 of the run order: proves a rebuilt plan is the one that ran."""
        text = json.dumps([(e.index, e.region, e.level) for e in self.entries])
        return hashlib.sha256(text.encode()).hexdigest()
