"""``simulate``: draw GenerateReflectSequence calls straight from a behaviour profile, without HTTP.

The rows look like the ones a probe campaign writes (see :mod:`faceid_tools.calllog.schema`), marked
``simulated=1``, on a virtual clock:

* call ``i`` starts at ``start + i / rate`` seconds (open-loop arrivals at ``rate`` per second, so
  nothing waits for a rate limiter: ``queued_ms`` is 0);
* region × level cells (3 × 4) come in a randomised blocked order: every block of 12 consecutive
  calls visits each cell once, in a fresh random order (so no cell is confounded with time);
* latency and error code come from :meth:`BehaviourModel.draw_many` for the cell — the model the
  emulator serves, so the profile is the ground truth of the simulated log;
* with ``retries > 0``, a call that failed with a retryable code (``InternalError``,
  ``ServiceUnavailable``) is tried again after a jittered exponential back-off; each attempt is one
  row sharing the call's ``call_id``;
* every successful call is followed by a ``DownloadSequence`` row carrying the ``seq_*`` properties
  of its light sequence: duplicates (profile ``sequences.duplicate_rate``) repeat an earlier
  sequence of the same level drawn in the same block of :data:`DRAW_BLOCK` calls (same MD5 and
  SHA-256), corrupted ones (``sequences.corrupt_rate``)
  fail their MD5 (``seq_md5_ok=0``, outcome ``integrity_error``).  The properties come from a small
  pool of FRSQ v1 sequences encoded and measured once per run
  (:func:`faceid_tools.client.sequence_properties.properties`); every sequence gets its own MD5 and SHA-256.

Everything is drawn from one seed: the same ``(n, profile, seed, start, rate, retries)`` writes
the same rows.  The columns are drawn with numpy and written in batches through
:meth:`CallLog.record_many`.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..calllog.store import CallLog
from ..emulator.profile import Profile
from ..errors import ValidationError
from .draw import SequencePool, draw, random_sequence
from .rows import iter_row_batches

__all__ = ["DEFAULT_START", "random_sequence", "resolve_profile", "simulate", "to_epoch_us"]

log = logging.getLogger(__name__)

#: The instant the first simulated call starts when none is given (fixed, for reproducibility).
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
#: Calls drawn at a time (a multiple of the 12 cells, so blocks of the cell order stay whole);
#: memory is bounded by this, whatever ``n``.
DRAW_BLOCK = 120_000
#: Rows materialised as Python values and handed to the log per transaction.
WRITE_BATCH = 50_000


def simulate(
    n: int,
    log_path: str | Path,
    *,
    profile: Profile | str | Path | None = None,
    seed: int | None = None,
    start: datetime | str | None = None,
    rate: float = 5.0,
    retries: int = 0,
    campaign_id: str | None = None,
) -> int:
    """Append ``n`` simulated GenerateReflectSequence calls to the call log at ``log_path``.

    ``profile`` is a :class:`Profile`, a profile file or a shipped profile name (default
    ``"default"``); ``seed`` defaults to the profile's; ``start`` (ISO-8601 text or a datetime;
    naive means UTC) defaults to :data:`DEFAULT_START`; calls start ``1/rate`` seconds apart; ``retries``
    extra attempts for retryable errors; ``campaign_id`` defaults to ``sim-<seed>-<start>``.
    Returns the number of rows written (attempts plus sequence downloads).
    """
    if n < 0:
        raise ValidationError("n", "must be >= 0", n)
    if not (rate > 0 and math.isfinite(rate)):
        raise ValidationError("rate", "must be a positive number of calls per second", rate)
    if retries < 0:
        raise ValidationError("retries", "must be >= 0", retries)
    prof = resolve_profile(profile)
    seed = prof.seed if seed is None else int(seed)
    start_us = to_epoch_us(start)
    campaign = campaign_id or f"sim-{seed}-{start_us // 1_000_000}"
    pool = SequencePool.build(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))))
    written = 0
    with CallLog(log_path) as calllog:
        for block, first in enumerate(range(0, n, DRAW_BLOCK), start=1):
            draws = draw(
                min(DRAW_BLOCK, n - first),
                prof,
                seed=seed,
                start_us=start_us,
                rate=rate,
                retries=retries,
                first_call=first,
                block=block,
                pool=pool,
            )
            for batch in iter_row_batches(draws, campaign, n, batch=WRITE_BATCH):
                calllog.record_many(zip(*batch.values(), strict=True))
            written += len(draws)
    log.info("simulate: %d calls, %d rows, seed %d -> %s", n, written, seed, log_path)
    return written


def resolve_profile(profile: Profile | str | Path | None) -> Profile:
    """A :class:`Profile` from an instance, a TOML path, a shipped name, or None (default)."""
    if profile is None:
        return Profile.default()
    if isinstance(profile, Profile):
        return profile
    return Profile.load(profile)


def to_epoch_us(start: datetime | str | None) -> int:
    """Microseconds since the Unix epoch of a datetime or ISO-8601 text (naive = UTC; None: default)."""
    if start is None:
        start = DEFAULT_START
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("start", "must be an ISO-8601 date/time", start) from None
    if start.tzinfo is None:  # a naive instant is taken as UTC, as load_calls reads the log
        start = start.replace(tzinfo=UTC)
    delta = start.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
