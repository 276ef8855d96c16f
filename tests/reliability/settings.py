"""Fast or full: the counts every reliability test takes from the environment.

``make reliability`` sets :data:`FULL_ENV` to ``1`` (full counts: 20 SIGKILLs, a 60 s flood...);
without it the tests run their small CI counts.  :data:`SEED_ENV` seeds the random choices (kill
moments, hypothesis) so a run can be replayed.
"""

from __future__ import annotations

import os

FULL_ENV = "FACEID_RELIABILITY_FULL"
SEED_ENV = "FACEID_RELIABILITY_SEED"

#: True when the suite runs at its full counts (``make reliability``).
FULL: bool = os.environ.get(FULL_ENV, "") == "1"
#: Seed of every random choice the suite makes itself (fixed in CI so failures replay).
SEED: int = int(os.environ.get(SEED_ENV, "20260105"))


def count(fast: int, full: int) -> int:
    """``full`` under ``make reliability``, else ``fast``."""
    return full if FULL else fast


def seconds(fast: float, full: float) -> float:
    """``full`` under ``make reliability``, else ``fast``."""
    return full if FULL else fast
