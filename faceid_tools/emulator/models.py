"""The emulator's state and behaviour, apart from HTTP (moto's ``models.py``).

:class:`Backend` owns the behaviour model (seeded draws from the profile), the object store, the
quota windows and the counters.  The HTTP layer (:mod:`.responses`) parses and validates, then
calls :meth:`Backend.create_upload_url` or :meth:`Backend.generate_reflect_sequence`.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import math
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import seqformat
from ..errors import InputError
from . import exceptions as exc
from .clock import Clock
from .objectstore import APPID, ObjectStore
from .profile import BehaviourModel, Draw, Profile

logger = logging.getLogger(__name__)

#: Length of the quota's sliding window, seconds.
QUOTA_WINDOW_S = 1.0


class QuotaWindows:
    """Sliding one-second windows per (SecretId, action), counted at request arrival.

    A request is admitted when fewer than ``limit`` requests were admitted in the last second.
    Every arrival is counted for the message (``Your current request times equals to `N` ...``).
    """

    def __init__(self, clock: Clock, window_s: float = QUOTA_WINDOW_S):
        self.clock = clock
        self.window_s = window_s
        self._admitted: dict[tuple[str, str], list[float]] = {}
        self._arrivals: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def admit(
        self, secret_id: str, action: str, limit: float, *, at: float | None = None
    ) -> int | None:
        """None when admitted; else the number of arrivals in the window ending at ``at``.

        ``at`` is the arrival instant on this clock (default: now).  Requests stamped at arrival
        may be checked out of order, so a stamp is admitted only if no one-second window holding
        it would then hold more than ``limit`` admitted stamps: every run of ``limit + 1``
        consecutive admitted stamps through it must span at least the window.
        """
        now = self.clock.monotonic() if at is None else at
        run = max(1, math.ceil(limit))  # at most ``run`` admitted stamps per window
        key = (secret_id, action)
        with self._lock:
            admitted = self._admitted.setdefault(key, [])
            arrivals = self._arrivals.setdefault(key, [])
            latest = max(now, admitted[-1]) if admitted else now
            horizon = latest - 2 * self.window_s  # stamps this old can no longer matter
            for q in (admitted, arrivals):
                del q[: bisect.bisect_right(q, horizon)]
            bisect.insort(arrivals, now)
            i = bisect.bisect_right(admitted, now)
            trial = [*admitted[:i], now, *admitted[i:]]
            first, last = max(0, i - run), min(i, len(trial) - 1 - run)
            if all(trial[k + run] - trial[k] >= self.window_s for k in range(first, last + 1)):
                admitted.insert(i, now)
                return None
            edge = now - self.window_s
            return bisect.bisect_right(arrivals, now) - bisect.bisect_right(arrivals, edge)

    def clear(self) -> None:
        with self._lock:
            self._admitted.clear()
            self._arrivals.clear()


class Stats:
    """Thread-safe counters served by ``GET /_emulator/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.requests = 0
            self.in_flight = 0
            self.in_flight_peak = 0
            self.outcomes: Counter[tuple[str, str]] = Counter()  # (action, code or "ok")
            self.download_failures: Counter[str] = Counter()
            self.cos: Counter[tuple[str, int]] = Counter()  # (method, status)
            self.sequences = Counter[str]()  # "issued", "duplicate", "corrupt"

    def enter(self) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def outcome(self, action: str, code: str | None) -> None:
        with self._lock:
            self.outcomes[(action, code or "ok")] += 1

    def download_failure(self, reason: str) -> None:
        with self._lock:
            self.download_failures[reason] += 1

    def cos_request(self, method: str, status: int) -> None:
        if method not in ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"):
            method = "other"  # keep the counters bounded whatever clients send
        with self._lock:
            self.cos[(method, status)] += 1

    def sequence(self, *, duplicate: bool, corrupt: bool) -> None:
        with self._lock:
            self.sequences["issued"] += 1
            self.sequences["duplicate"] += duplicate
            self.sequences["corrupt"] += corrupt

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            by_action: dict[str, dict[str, int]] = {}
            for (action, code), n in sorted(self.outcomes.items()):
                by_action.setdefault(action, {})[code] = n
            cos: dict[str, dict[str, int]] = {}
            for (method, status), n in sorted(self.cos.items()):
                cos.setdefault(method, {})[str(status)] = n
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "in_flight_peak": self.in_flight_peak,
                "outcomes": by_action,
                "download_failures": dict(self.download_failures),
                "sequences": {k: self.sequences[k] for k in ("issued", "duplicate", "corrupt")},
                "cos": cos,
            }


@dataclass(frozen=True)
class UploadTicket:
    """What ``CreateUploadUrl`` returns."""

    upload_url: str
    resource_url: str
    expired_timestamp: int


@dataclass(frozen=True)
class IssuedSequence:
    url: str
    md5: str
    region: str
    key: str
    duplicate: bool
    corrupt: bool


@dataclass(frozen=True)
class Outcome:
    """One GenerateReflectSequence call: the draw, and either the sequence or the error."""

    draw: Draw
    sequence: IssuedSequence | None = None
    error: exc.ServiceError | None = None
    download_failure: str | None = None


class Backend:
    """State and behaviour of one emulator."""

    def __init__(
        self,
        profile: Profile,
        seed: int | None = None,
        *,
        clock: Clock | None = None,
        store: ObjectStore | None = None,
        quota: bool = True,
        time_scale: float = 1.0,
    ):
        self.profile = profile
        self.clock = clock or Clock()
        self.store = store or ObjectStore(self.clock)
        self.quotas = QuotaWindows(self.clock)
        self.stats = Stats()
        self._initial_seed: int = profile.seed if seed is None else seed
        self._initial_quota = quota
        self._initial_time_scale = time_scale
        self.seed: int = self._initial_seed
        self.quota_enabled = quota and profile.quota_enabled
        self.time_scale = time_scale
        self.model = BehaviourModel(profile, self.seed)
        self._last_by_level: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # -- control ---------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> int:
        """Clear objects, quota windows, counters and the clock shift; reseed. Returns the seed."""
        self.store.clear()
        self.quotas.clear()
        self.stats.clear()
        self.clock.reset()
        with self._lock:
            self.seed = self._initial_seed if seed is None else seed
            self.model = BehaviourModel(self.profile, self.seed)
            self._last_by_level.clear()
            self.quota_enabled = self._initial_quota and self.profile.quota_enabled
            self.time_scale = self._initial_time_scale
        logger.debug("emulator reset (seed %s)", self.seed)
        return self.seed

    def configure(self, *, quota: bool | None = None, time_scale: float | None = None) -> None:
        """Change quota enforcement or the latency scale until the next reset."""
        if time_scale is not None:
            if not time_scale >= 0:
                raise InputError("time_scale must be >= 0")
            self.time_scale = float(time_scale)
        if quota is not None:
            self.quota_enabled = bool(quota)

    # -- quota -----------------------------------------------------------------------------------
    def check_quota(self, secret_id: str, action: str, *, arrival: float | None = None) -> None:
        """Raise ``RequestLimitExceeded`` when over quota; ``arrival`` is the :func:`time.monotonic`
        instant the request reached the server (its connection was accepted), not when it is checked."""
        if not self.quota_enabled:
            return
        limit = self.profile.quota.get(action)
        if limit is None:
            return
        at = None if arrival is None else self.clock.monotonic_at(arrival)
        count = self.quotas.admit(secret_id, action, limit, at=at)
        if count is not None:
            raise exc.request_limit_exceeded(count, limit)

    # -- CreateUploadUrl -------------------------------------------------------------------------
    def create_upload_url(
        self,
        region: str,
        target_action: str,
        *,
        public: bool = False,
        request_id: str | None = None,
    ) -> UploadTicket:
        """A presigned PUT link and the object's presigned GET link (as tccli's example shows),
        both valid two hours; the key ends with the call's RequestId, as in that example."""
        now = int(self.clock.time())
        expires = now + int(self.store.retention_s)
        key = f"faceid/{target_action}/{APPID}/{request_id or uuid.uuid4()}"
        store = self.store
        return UploadTicket(
            upload_url=store.presign("PUT", region, key, start=now, end=expires, public=public),
            resource_url=store.presign("GET", region, key, start=now, end=expires, public=public),
            expired_timestamp=expires,
        )

    # -- GenerateReflectSequence -----------------------------------------------------------------
    def generate_reflect_sequence(
        self,
        region: str,
        level: str,
        device_data_url: str,
        device_data_md5: str,
        *,
        wait: Callable[[float], object] = lambda seconds: None,
        public: bool = False,
    ) -> Outcome:
        """Draw the call's behaviour, ``wait`` the scaled latency (seconds), then answer.

        Parameters must already be valid.  A drawn error wins; otherwise the device data must be
        readable, in ``region``, with the given MD5, or the call fails with
        ``FailedOperation.DownLoadError``.
        """
        draw = self.model.draw(region, level)
        wait(draw.latency_ms / 1000.0 * self.time_scale)
        if draw.error_code is not None:
            return Outcome(draw, error=exc.drawn(draw.error_code))
        failure = self._device_data_failure(region, device_data_url, device_data_md5)
        if failure is not None:
            self.stats.download_failure(failure)
            return Outcome(draw, error=exc.download_error(), download_failure=failure)
        return Outcome(draw, sequence=self._issue(region, level, draw, public))

    def _device_data_failure(self, region: str, url: str, md5: str) -> str | None:
        """Why the service could not fetch the device data, or None when it could."""
        loc = self.store.locate(url)
        if loc is None:
            return "not-an-emulator-object"
        if loc.region != region:
            return "other-region"
        if loc.query:
            try:
                self.store.check_presigned("GET", loc.region, loc.key, loc.query)
            except exc.CosError as err:
                return "expired-link" if err.message == "Request has expired" else "bad-link"
        obj = self.store.get(loc.region, loc.key)
        if obj is None:
            return "missing-or-expired"
        if obj.md5 != md5.lower():
            return "md5-mismatch"
        return None

    def _issue(self, region: str, level: str, draw: Draw, public: bool) -> IssuedSequence:
        fresh = seqformat.encode(seqformat.generate(int(level)))
        with self._lock:
            earlier = self._last_by_level.get(level)
            data = earlier if draw.duplicate and earlier is not None else fresh
            self._last_by_level[level] = data
        duplicate = data is earlier
        md5 = hashlib.md5(data).hexdigest()
        stored = data
        if draw.corrupt:
            pos = secrets.randbelow(len(data))
            stored = data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :]
        key = f"faceid/ReflectSequence/{APPID}/{uuid.uuid4()}"
        obj = self.store.put(region, key, stored)
        url = self.store.presign(
            "GET", region, key, start=int(obj.created), end=int(obj.expires), public=public
        )
        self.stats.sequence(duplicate=duplicate, corrupt=draw.corrupt)
        return IssuedSequence(url, md5, region, key, duplicate, draw.corrupt)
