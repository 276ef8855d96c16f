"""Is the profile the ground truth?  Draw calls through the emulator's backend and compare.

Each GenerateReflectSequence goes through :class:`~faceid_tools.emulator.models.Backend` — the
code path the HTTP layer uses, with real device data in the object store and real sequences —
without sleeping.  Then, per cell:

* latency quantiles (p50, p95) of the calls that did not time out: a distribution-free
  order-statistic interval ``[x(l), x(u)]`` (binomial bounds) must contain
  ``Profile.latency_quantile``;
* error rates per region and code: a Wilson interval must contain ``Profile.error_rates``;
* sequence defects among successes, read back from the store: duplicates (an MD5 seen before at
  that level) and corrupt objects (stored bytes failing the returned MD5), Wilson intervals
  around ``duplicate_rate`` / ``corrupt_rate``.

Run ``python -m tests.emulator.groundtruth`` to print the table.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, norm

from faceid_tools.client.regions import REGIONS, SECURITY_LEVELS
from faceid_tools.emulator.models import Backend
from faceid_tools.emulator.profile import FAULT_CODES, TIMEOUT_CODE, Profile


@dataclass(frozen=True)
class Check:
    what: str
    cell: str
    truth: float
    observed: float
    lo: float
    hi: float
    n: int

    @property
    def ok(self) -> bool:
        return self.lo <= self.truth <= self.hi

    def row(self) -> str:
        mark = "ok " if self.ok else "OUT"
        return (
            f"{mark} {self.what:<38} {self.cell:<16} truth {self.truth:>10.4f}  "
            f"observed {self.observed:>10.4f}  [{self.lo:.4f}, {self.hi:.4f}]  n={self.n}"
        )


def wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    z = float(norm.ppf(1 - alpha / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def quantile_interval(sorted_x: np.ndarray, q: float, alpha: float) -> tuple[float, float]:
    """Order-statistic interval for the q-quantile, coverage >= 1 - alpha."""
    n = len(sorted_x)
    lo = int(binom.ppf(alpha / 2, n, q))  # x(lo) with 1-based lo; lo may be 0 -> -inf
    hi = int(binom.ppf(1 - alpha / 2, n, q)) + 1
    low = -math.inf if lo < 1 else float(sorted_x[lo - 1])
    high = math.inf if hi > n else float(sorted_x[hi - 1])
    return low, high


@dataclass
class Draws:
    latency: dict[tuple[str, str], list[float]]
    codes: dict[str, list[str | None]]
    sequences: int
    duplicates: int
    corrupt: int


def draw_through_backend(profile: Profile, seed: int, per_cell: int) -> Draws:
    backend = Backend(profile, seed, quota=False, time_scale=0.0)
    store = backend.store
    device = {}
    for region in REGIONS:
        data = f"device data for {region}".encode()
        store.put(region, f"device/{region}", data)
        device[region] = (
            store.resource_url(region, f"device/{region}"),
            hashlib.md5(data).hexdigest(),
        )
    latency: dict[tuple[str, str], list[float]] = {}
    codes: dict[str, list[str | None]] = {r: [] for r in REGIONS}
    seen: dict[str, set[str]] = {lv: set() for lv in SECURITY_LEVELS}
    sequences = duplicates = corrupt = 0
    for region in REGIONS:
        for level in SECURITY_LEVELS:
            cell = latency.setdefault((region, level), [])
            for _ in range(per_cell):
                out = backend.generate_reflect_sequence(region, level, *device[region])
                code = out.error.code if out.error else None
                codes[region].append(code)
                if code != TIMEOUT_CODE:
                    cell.append(out.draw.latency_ms)
                if out.sequence is not None:
                    sequences += 1
                    md5 = out.sequence.md5
                    duplicates += md5 in seen[level]
                    seen[level].add(md5)
                    obj = store.get(region, out.sequence.key)
                    assert obj is not None
                    corrupt += obj.md5 != md5
    return Draws(latency, codes, sequences, duplicates, corrupt)


def check_profile(
    profile: Profile,
    draws: Draws,
    *,
    alpha: float = 0.001,
    quantiles: tuple[float, ...] = (0.5, 0.95),
) -> list[Check]:
    """Every comparison of observed draws with ``profile``'s exact values."""
    checks: list[Check] = []
    for (region, level), values in draws.latency.items():
        x = np.sort(np.asarray(values))
        for q in quantiles:
            lo, hi = quantile_interval(x, q, alpha)
            checks.append(
                Check(
                    f"latency p{round(q * 100)} (ms)",
                    f"{region}/{level}",
                    profile.latency_quantile(region, level, q),
                    float(np.quantile(x, q)),
                    lo,
                    hi,
                    len(x),
                )
            )
    for region, codes in draws.codes.items():
        n = len(codes)
        truth = profile.error_rates(region)
        for code in (*FAULT_CODES, TIMEOUT_CODE):
            k = sum(c == code for c in codes)
            lo, hi = wilson(k, n, alpha)
            checks.append(Check(f"rate {code}", region, truth[code], k / n, lo, hi, n))
    n = draws.sequences
    for what, k, truth_rate in (
        ("rate duplicate sequence", draws.duplicates, profile.duplicate_rate),
        ("rate corrupt sequence", draws.corrupt, profile.corrupt_rate),
    ):
        lo, hi = wilson(k, n, alpha)
        checks.append(Check(what, "all successes", truth_rate, k / n if n else 0.0, lo, hi, n))
    return checks


if __name__ == "__main__":
    prof = Profile.default()
    result = check_profile(prof, draw_through_backend(prof, prof.seed, per_cell=1000))
    print("\n".join(c.row() for c in result))
    print(f"{sum(c.ok for c in result)}/{len(result)} inside their 99.9% intervals")
