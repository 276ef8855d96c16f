"""The behaviour profile: the seeded ground truth of the emulator (and of ``simulate``).

Model of one GenerateReflectSequence call in region R at level L:

* latency (ms) = ``levels[L].extra_ms`` + LogNormal(median = ``regions[R].median_ms``,
  99th percentile = ``regions[R].p99_ms``).  Its quantiles are exact (:meth:`Profile.latency_quantile`).
* the device-data download takes LogNormal(``download.median_ms``, ``download.p99_ms``); above
  ``download.timeout_ms`` the call fails with ``FailedOperation.DownLoadTimeoutError`` after
  ``timeout_ms`` + the level's extra time.  Its probability is exact too.
* otherwise, one fault at most, drawn with the region's rates (``faults`` overridden per region
  by ``regions[R].faults``): ``InternalError``, ``ServiceUnavailable``, ``FailedOperation.DownLoadError``.
  A faulted call takes the latency drawn above.
* a successful call's sequence is a duplicate of an earlier one with ``sequences.duplicate_rate``
  and is corrupted (stored bytes fail their MD5) with ``sequences.corrupt_rate``.
"""

from __future__ import annotations

import math
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import norm

from ..client.regions import QUOTAS, REGIONS, SECURITY_LEVELS
from ..errors import FaceIDError

Z99 = float(norm.ppf(0.99))
FAULT_CODES: tuple[str, ...] = (
    "InternalError",
    "ServiceUnavailable",
    "FailedOperation.DownLoadError",
)
TIMEOUT_CODE = "FailedOperation.DownLoadTimeoutError"


class ProfileError(FaceIDError, ValueError):
    """The profile file breaks a rule; the message names the key."""


@dataclass(frozen=True)
class LogNormal:
    """A lognormal given by its median and 99th percentile (ms)."""

    median_ms: float
    p99_ms: float

    def __post_init__(self) -> None:
        if not (self.median_ms > 0 and self.p99_ms > self.median_ms):
            raise ProfileError(f"need 0 < median_ms < p99_ms, got {self.median_ms}, {self.p99_ms}")

    @property
    def mu(self) -> float:
        return math.log(self.median_ms)

    @property
    def sigma(self) -> float:
        return (math.log(self.p99_ms) - self.mu) / Z99

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * float(norm.ppf(q)))

    def sf(self, x: float) -> float:
        """P(X > x)."""
        return float(norm.sf((math.log(x) - self.mu) / self.sigma))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        return rng.lognormal(self.mu, self.sigma, size)


@dataclass(frozen=True)
class Profile:
    """A validated behaviour profile.  Build with :meth:`load`, :meth:`default` or :meth:`from_dict`."""

    name: str
    seed: int
    latency: Mapping[str, LogNormal]
    level_extra_ms: Mapping[str, float]
    download: LogNormal
    download_timeout_ms: float
    faults: Mapping[str, Mapping[str, float]]  # region -> code -> rate
    duplicate_rate: float
    corrupt_rate: float
    quota: Mapping[str, float] = field(default_factory=lambda: dict(QUOTAS))
    quota_enabled: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def default(cls) -> Profile:
        return cls.load_builtin("default")

    @classmethod
    def load_builtin(cls, name: str) -> Profile:
        text = (
            resources.files("faceid_tools.emulator")
            .joinpath(f"profiles/{name}.toml")
            .read_text("utf-8")
        )
        return cls.from_dict(tomllib.loads(text), name=name)

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Load a TOML profile file; a bare name like ``"high-latency"`` picks a shipped one."""
        p = Path(path)
        if not p.exists() and p.suffix == "" and "/" not in str(path):
            return cls.load_builtin(str(path))
        try:
            data = tomllib.loads(p.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{p}: not valid TOML: {exc}") from None
        return cls.from_dict(data, name=str(p))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "custom") -> Profile:
        def num(
            section: Mapping[str, Any], key: str, where: str, default: float | None = None
        ) -> float:
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ProfileError(f"{where}.{key}: must be a number, got {value!r}")
            return float(value)

        def rate(value: Any, where: str) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ProfileError(f"{where}: must be a rate in [0, 1], got {value!r}")
            return float(value)

        regions = data.get("regions", {})
        latency: dict[str, LogNormal] = {}
        base_faults = {
            code: rate(v, f"faults.{code}") for code, v in data.get("faults", {}).items()
        }
        faults: dict[str, dict[str, float]] = {}
        for region in REGIONS:
            sec = regions.get(region)
            if not isinstance(sec, Mapping):
                raise ProfileError(
                    f"regions.{region}: missing (every supported region needs a latency)"
                )
            try:
                latency[region] = LogNormal(
                    num(sec, "median_ms", f"regions.{region}"),
                    num(sec, "p99_ms", f"regions.{region}"),
                )
            except ProfileError as exc:
                raise ProfileError(f"regions.{region}: {exc}") from None
            merged = dict(base_faults)
            merged.update(
                {
                    c: rate(v, f"regions.{region}.faults.{c}")
                    for c, v in sec.get("faults", {}).items()
                }
            )
            for code in merged:
                if code not in FAULT_CODES:
                    raise ProfileError(
                        f"faults.{code}: unknown fault (known: {', '.join(FAULT_CODES)})"
                    )
            if sum(merged.values()) >= 1:
                raise ProfileError(f"regions.{region}: fault rates add up to 1 or more")
            faults[region] = {code: merged.get(code, 0.0) for code in FAULT_CODES}
        unknown = set(regions) - set(REGIONS)
        if unknown:
            raise ProfileError(
                f"regions: unsupported region(s) {sorted(unknown)}; only {', '.join(REGIONS)}"
            )
        levels = data.get("levels", {})
        level_extra = {
            lv: num(levels.get(lv, {}), "extra_ms", f"levels.{lv}", 0.0) for lv in SECURITY_LEVELS
        }
        dl = data.get("download", {})
        try:
            download = LogNormal(
                num(dl, "median_ms", "download", 20.0), num(dl, "p99_ms", "download", 200.0)
            )
        except ProfileError as exc:
            raise ProfileError(f"download: {exc}") from None
        seqs = data.get("sequences", {})
        q = data.get("quota", {})
        quota = {a: num(q, a, "quota", d) for a, d in QUOTAS.items()}
        return cls(
            name=str(data.get("name", name)),
            seed=int(data.get("seed", 0)),
            latency=latency,
            level_extra_ms=level_extra,
            download=download,
            download_timeout_ms=num(dl, "timeout_ms", "download", 3000.0),
            faults=faults,
            duplicate_rate=rate(seqs.get("duplicate_rate", 0.0), "sequences.duplicate_rate"),
            corrupt_rate=rate(seqs.get("corrupt_rate", 0.0), "sequences.corrupt_rate"),
            quota=quota,
            quota_enabled=bool(q.get("enabled", True)),
            raw=dict(data),
        )

    # -- ground truth ----------------------------------------------------------------------
    def latency_quantile(self, region: str, level: str, q: float) -> float:
        """True q-quantile (ms) of a successful call's service latency in ``region`` at ``level``."""
        return self.level_extra_ms[str(level)] + self.latency[region].quantile(q)

    def timeout_rate(self) -> float:
        return self.download.sf(self.download_timeout_ms)

    def error_rates(self, region: str) -> dict[str, float]:
        """True probability of each error code for one attempt in ``region`` (any level)."""
        p_timeout = self.timeout_rate()
        rates = {code: (1 - p_timeout) * r for code, r in self.faults[region].items()}
        rates[TIMEOUT_CODE] = p_timeout
        return rates

    def error_rate(self, region: str) -> float:
        """True probability that one attempt in ``region`` ends in an API error."""
        return sum(self.error_rates(region).values())

    def as_dict(self) -> dict[str, Any]:
        """The profile as plain data (the emulator's control endpoint serves this)."""
        return {
            "name": self.name,
            "seed": self.seed,
            "regions": {
                r: {"median_ms": ln.median_ms, "p99_ms": ln.p99_ms, "faults": dict(self.faults[r])}
                for r, ln in self.latency.items()
            },
            "levels": {lv: {"extra_ms": ms} for lv, ms in self.level_extra_ms.items()},
            "download": {
                "median_ms": self.download.median_ms,
                "p99_ms": self.download.p99_ms,
                "timeout_ms": self.download_timeout_ms,
            },
            "sequences": {"duplicate_rate": self.duplicate_rate, "corrupt_rate": self.corrupt_rate},
            "quota": {**self.quota, "enabled": self.quota_enabled},
        }


@dataclass(frozen=True)
class Draw:
    """What the model decided for one call."""

    latency_ms: float
    error_code: str | None
    duplicate: bool
    corrupt: bool


class BehaviourModel:
    """Seeded draws from a :class:`Profile`.  Thread-safe; reproducible for a sequential caller."""

    def __init__(self, profile: Profile, seed: int | None = None):
        self.profile = profile
        self.seed = profile.seed if seed is None else seed
        self._rng = np.random.default_rng(self.seed)
        self._lock = threading.Lock()

    def draw(self, region: str, level: str) -> Draw:
        p = self.profile
        with self._lock:
            base = float(p.latency[region].sample(self._rng))
            download = float(p.download.sample(self._rng))
            u_fault, u_dup, u_corrupt = self._rng.random(3)
        extra = p.level_extra_ms[str(level)]
        if download > p.download_timeout_ms:
            return Draw(extra + p.download_timeout_ms, TIMEOUT_CODE, False, False)
        cumulative = 0.0
        for code, r in p.faults[region].items():
            cumulative += r
            if u_fault < cumulative:
                return Draw(extra + base, code, False, False)
        return Draw(
            extra + base, None, bool(u_dup < p.duplicate_rate), bool(u_corrupt < p.corrupt_rate)
        )

    def draw_many(self, region: str, level: str, n: int) -> dict[str, np.ndarray]:
        """Vectorised draws: arrays ``latency_ms``, ``error_code`` (object, None = ok), ``duplicate``, ``corrupt``."""
        p = self.profile
        with self._lock:
            base = p.latency[region].sample(self._rng, n)
            download = p.download.sample(self._rng, n)
            u = self._rng.random((n, 3))
        extra = p.level_extra_ms[str(level)]
        latency = extra + base
        codes = np.full(n, None, dtype=object)
        timed_out = download > p.download_timeout_ms
        latency = np.where(timed_out, extra + p.download_timeout_ms, latency)
        edges = np.cumsum(list(p.faults[region].values()))
        idx = np.searchsorted(edges, u[:, 0], side="right")
        names = np.array([*p.faults[region].keys(), None], dtype=object)
        codes = names[idx]
        codes = np.where(timed_out, TIMEOUT_CODE, codes)
        ok = np.array([c is None for c in codes])
        return {
            "latency_ms": latency,
            "error_code": codes,
            "duplicate": ok & (u[:, 1] < p.duplicate_rate),
            "corrupt": ok & (u[:, 2] < p.corrupt_rate),
        }
