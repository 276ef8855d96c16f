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
  (:func:`faceid_tools.sequences.properties`); every sequence gets its own MD5 and SHA-256.

Everything is drawn from one seed: the same ``(n, profile, seed, start, rate, retries)`` writes
the same rows.  The columns are drawn with numpy and written in batches through
:meth:`CallLog.record_many`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import seqformat
from ._version import __version__
from .calllog.schema import CATEGORIES, INSERT_COLUMNS
from .emulator.profile import FAULT_CODES, TIMEOUT_CODE, BehaviourModel, Profile
from .errors import IntegrityError, is_retryable_code
from .regions import DEFAULT_ENDPOINT, REGIONS, SECURITY_LEVELS
from .sequences import properties

log = logging.getLogger(__name__)

#: The instant the first simulated call starts when none is given (fixed, for reproducibility).
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
ENDPOINT_HOST = DEFAULT_ENDPOINT.removeprefix("https://")
#: Retry back-off: attempt k waits U(0, min(cap, base * 2**(k-1))) seconds ("full jitter").
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
#: Sequences pre-built per level; calls reuse their measured properties with fresh hashes.
POOL_SIZE = 64
#: Calls drawn at a time (a multiple of the 12 cells, so blocks of the cell order stay whole);
#: memory is bounded by this, whatever ``n``.
DRAW_BLOCK = 120_000
#: Rows materialised as Python values and handed to the log per transaction.
WRITE_BATCH = 50_000
ERROR_MESSAGES: dict[str, str] = {
    "InternalError": "An internal error has occurred. Retry later or contact customer service.",
    "ServiceUnavailable": "The service is temporarily unavailable. Please try again later.",
    "FailedOperation.DownLoadError": "File download failed.",
    TIMEOUT_CODE: "File download timed out.",
    # the client's wording; the hashes are filled in per row
    IntegrityError.code: "light sequence from {host} hashes to {actual}, expected {expected}",
}
_APPID = "1250000000"
#: Error codes by index; -1 means none.  The last one is the client's integrity failure.
_CODES: tuple[str, ...] = (*FAULT_CODES, TIMEOUT_CODE, IntegrityError.code)
_API_CODES = len(_CODES) - 1
_CELLS: tuple[tuple[str, str], ...] = tuple((r, lv) for r in REGIONS for lv in SECURITY_LEVELS)
_SEQ_PROPS: tuple[str, ...] = tuple(
    c for c in INSERT_COLUMNS if c.startswith("seq_") and c != "seq_sha256"
)
_ACTION = {a: i for i, a in enumerate(CATEGORIES["action"])}
_OUTCOME = {o: i for i, o in enumerate(CATEGORIES["outcome"])}


@dataclass
class Draws:
    """The simulated rows as numpy columns, in ``started_at`` order (codes index the tables here)."""

    call_index: np.ndarray  # int64: which call (0..n-1)
    attempt: np.ndarray  # int64
    download: np.ndarray  # bool: DownloadSequence row (else GenerateReflectSequence)
    region: np.ndarray  # int8 index into REGIONS
    level: np.ndarray  # int8 index into SECURITY_LEVELS
    started_us: np.ndarray  # int64 µs since the Unix epoch
    latency_ms: np.ndarray  # float64
    code: np.ndarray  # int8 index into _CODES, -1 = none
    request_id: np.ndarray  # S36 (empty for downloads)
    seq: np.ndarray  # int64 index of the call's sequence, -1 = none
    # per sequence (one per successful call)
    seq_md5: np.ndarray  # S32
    seq_sha256: np.ndarray  # S64, the bytes downloaded (a corrupted one differs)
    seq_key: np.ndarray  # S32, object key
    seq_bad_md5: np.ndarray  # S32, what a corrupted download hashes to
    seq_props: dict[str, np.ndarray]  # object arrays, one per _SEQ_PROPS column

    def __len__(self) -> int:
        return len(self.attempt)


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
        raise ValueError(f"n must be >= 0, got {n}")
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a positive number of calls per second, got {rate}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    prof = resolve_profile(profile)
    seed = prof.seed if seed is None else int(seed)
    start_us = to_epoch_us(start)
    campaign = campaign_id or f"sim-{seed}-{start_us // 1_000_000}"
    from .calllog.store import CallLog

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
            for batch in iter_row_batches(draws, campaign, n):
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
            raise ValueError(f"start: not an ISO-8601 date/time: {start!r}") from None
    if start.tzinfo is None:  # a naive instant is taken as UTC, as load_calls reads the log
        start = start.replace(tzinfo=UTC)
    delta = start.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# --- drawing ------------------------------------------------------------------------------------


def draw(
    n: int,
    profile: Profile,
    *,
    seed: int,
    start_us: int,
    rate: float,
    retries: int = 0,
    first_call: int = 0,
    block: int = 1,
    pool: SequencePool | None = None,
) -> Draws:
    """Draw calls ``first_call .. first_call + n - 1`` (with retries and downloads) as columns.

    ``block`` numbers the draw (its random streams derive from ``(seed, block)``); a duplicate
    sequence repeats an earlier one of the same block.
    """
    streams = np.random.SeedSequence(seed, spawn_key=(block,)).spawn(4)
    order_seed, model_seed, ids_seed, seq_seed = streams
    if pool is None:
        pool = SequencePool.build(
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
        )
    rng = np.random.default_rng(order_seed)
    model = BehaviourModel(profile, seed=int(model_seed.generate_state(1)[0]))

    blocks = -(-n // len(_CELLS))
    cells = rng.permuted(np.tile(np.arange(len(_CELLS)), (blocks, 1)), axis=1).ravel()[:n]
    region = (cells // len(SECURITY_LEVELS)).astype(np.int8)
    level = (cells % len(SECURITY_LEVELS)).astype(np.int8)
    calls = np.arange(first_call, first_call + n, dtype=np.int64)
    starts = start_us + np.floor(calls * (1e6 / rate)).astype(np.int64)
    calls -= first_call  # local positions from here on

    retryable = np.array([False] + [is_retryable_code(c) for c in _CODES])  # shifted by 1
    parts: list[tuple[np.ndarray, ...]] = []
    todo, todo_start = calls, starts
    for attempt in range(1, retries + 2):
        latency, code = _draw_attempts(model, cells[todo])
        parts.append((todo, np.full(len(todo), attempt, np.int64), todo_start, latency, code))
        again = retryable[code + 1]
        if attempt > retries or not again.any():
            break
        cap = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
        wait_us = rng.uniform(0, cap * 1e6, int(again.sum())).astype(np.int64)
        ends = todo_start[again] + np.round(latency[again] * 1000).astype(np.int64)
        todo, todo_start = todo[again], ends + wait_us
    a_call, a_no, a_start, a_latency, a_code = (np.concatenate(p) for p in zip(*parts, strict=True))
    n_att = len(a_call)
    ok = a_code < 0
    ok_calls = a_call[ok]  # a call succeeds at most once
    done_us = a_start[ok] + np.round(a_latency[ok] * 1000).astype(np.int64)

    seq_rng = np.random.default_rng(seq_seed)
    seq = _draw_sequences(profile, seq_rng, level[ok_calls], done_us)
    m = len(ok_calls)
    request_ids = _uuid4s(np.random.default_rng(ids_seed), n_att)
    seq_of_attempt = np.full(n_att, -1, np.int64)
    seq_of_attempt[ok] = np.arange(m)
    seq_index = np.concatenate([seq_of_attempt, np.arange(m)])
    dl_code = np.where(seq["corrupt"], _API_CODES, -1).astype(np.int8)

    started = np.concatenate([a_start, seq["started_us"]])
    order = np.argsort(started, kind="stable")
    return Draws(
        call_index=first_call + np.concatenate([a_call, ok_calls])[order],
        attempt=np.concatenate([a_no, np.ones(m, np.int64)])[order],
        download=np.concatenate([np.zeros(n_att, bool), np.ones(m, bool)])[order],
        region=np.concatenate([region[a_call], region[ok_calls]])[order],
        level=np.concatenate([level[a_call], level[ok_calls]])[order],
        started_us=started[order],
        latency_ms=np.concatenate([a_latency, seq["latency_ms"]])[order],
        code=np.concatenate([a_code, dl_code])[order],
        request_id=np.concatenate([request_ids, np.full(m, b"", "S36")])[order],
        seq=seq_index[order],
        seq_md5=seq["md5"],
        seq_sha256=seq["sha256"],
        seq_key=seq["key"],
        seq_bad_md5=seq["bad_md5"],
        seq_props=pool.lookup(seq["level"], seq["entry"], seq["corrupt"]),
    )


def _draw_attempts(model: BehaviourModel, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latency (ms) and error-code index (-1 = ok) of one attempt per call, drawn cell by cell."""
    latency = np.empty(len(cells))
    code = np.full(len(cells), -1, np.int8)
    index = {c: i for i, c in enumerate(_CODES)}
    for cell, (region, level) in enumerate(_CELLS):
        at = np.flatnonzero(cells == cell)
        if len(at):
            d = model.draw_many(region, level, len(at))
            latency[at] = d["latency_ms"]
            code[at] = [-1 if c is None else index[c] for c in d["error_code"]]
    return latency, code


def _draw_sequences(
    profile: Profile, rng: np.random.Generator, level: np.ndarray, done_us: np.ndarray
) -> dict[str, np.ndarray]:
    """One sequence per successful call (``level``, finishing at ``done_us``) and its download."""
    m = len(level)
    entry = rng.integers(0, POOL_SIZE, m)
    duplicate = rng.random(m) < profile.duplicate_rate
    corrupt = rng.random(m) < profile.corrupt_rate
    # a duplicate repeats a uniformly chosen earlier sequence of its level (followed to the origin)
    source = np.arange(m)
    by_time = np.argsort(done_us, kind="stable")
    for lv in range(len(SECURITY_LEVELS)):
        members = by_time[level[by_time] == lv]
        rank = np.flatnonzero(duplicate[members])
        rank = rank[rank > 0]
        source[members[rank]] = members[np.floor(rng.random(len(rank)) * rank).astype(np.int64)]
    while not np.array_equal(source[source], source):
        source = source[source]
    sha_intact = _hex(rng, m, 32)[source]
    sha_corrupt = _hex(rng, m, 32)
    return {
        "level": level,
        "entry": entry[source],
        "corrupt": corrupt,
        "md5": _hex(rng, m, 16)[source],
        "sha256": np.where(corrupt, sha_corrupt, sha_intact),
        "key": _hex(rng, m, 16),
        "bad_md5": _hex(rng, m, 16),
        # the client fetches the sequence right after the answer; COS time like the device data's
        "started_us": done_us + rng.integers(100, 2000, m),
        "latency_ms": profile.download.sample(rng, m),
    }


@dataclass(frozen=True)
class SequencePool:
    """Measured ``seq_*`` properties of POOL_SIZE sequences per level, intact and corrupted.

    ``table[column]`` is indexed ``[level - 1, corrupt, entry]``.  Sequences are encoded with
    :func:`seqformat.encode` and measured with :func:`faceid_tools.sequences.properties`; a
    corrupted one has one bit flipped, as a damaged download would.
    """

    table: dict[str, np.ndarray]

    @classmethod
    def build(cls, rng: np.random.Generator) -> SequencePool:
        table = {p: np.empty((len(SECURITY_LEVELS), 2, POOL_SIZE), object) for p in _SEQ_PROPS}
        for lv in range(len(SECURITY_LEVELS)):
            for e in range(POOL_SIZE):
                blob = seqformat.encode(random_sequence(lv + 1, rng))
                md5 = hashlib.md5(blob).hexdigest()
                broken = bytearray(blob)
                broken[int(rng.integers(len(broken)))] ^= 1 << int(rng.integers(8))
                for bad, data in ((0, blob), (1, bytes(broken))):
                    props = properties(data, md5)
                    for p in _SEQ_PROPS:
                        table[p][lv, bad, e] = props[p]
        return cls(table)

    def lookup(
        self, level: np.ndarray, entry: np.ndarray, corrupt: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The properties of each sequence (level index 0..3, pool entry, corrupted or not)."""
        return {p: t[level, corrupt.astype(np.int64), entry] for p, t in self.table.items()}


def random_sequence(level: int, rng: np.random.Generator) -> seqformat.LightSequence:
    """A FRSQ v1 sequence for ``level`` under the rules of :func:`seqformat.generate`.

    Drawn from ``rng`` rather than the OS CSPRNG so that a simulation is reproducible per seed.
    """

    def between(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    frames: list[seqformat.Frame] = []
    if level in seqformat.LIGHT_LEVELS:
        previous = None
        for _ in range(between(*seqformat.FRAMES_RANGE)):
            choices = [c for c in seqformat.PALETTE if c != previous]
            colour = choices[int(rng.integers(len(choices)))]
            frames.append(seqformat.Frame(colour, between(*seqformat.FRAME_MS_RANGE)))
            previous = colour
    blinks: list[seqformat.Blink] = []
    if level in seqformat.BLINK_LEVELS:
        at = between(200, 600)
        for _ in range(between(*seqformat.BLINKS_RANGE)):
            ms = between(*seqformat.BLINK_MS_RANGE)
            blinks.append(seqformat.Blink(at, ms))
            at += ms + between(300, 900)
    return seqformat.LightSequence(level, rng.bytes(16), tuple(frames), tuple(blinks))


def _hex(rng: np.random.Generator, m: int, nbytes: int) -> np.ndarray:
    """``m`` random lower-case hex strings of ``nbytes`` bytes each."""
    text = rng.bytes(m * nbytes).hex().encode("ascii")
    return np.frombuffer(text, dtype=f"S{2 * nbytes}").copy()


def _uuid4s(rng: np.random.Generator, m: int) -> np.ndarray:
    """``m`` random RFC 4122 version-4 UUID strings (the shape of the service's RequestId)."""
    raw = np.frombuffer(rng.bytes(16 * m), np.uint8).reshape(m, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = np.frombuffer(raw.tobytes().hex().encode("ascii"), np.uint8).reshape(m, 32)
    out = np.full((m, 36), ord("-"), np.uint8)
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        out[:, dst : dst + width] = digits[:, src : src + width]
    return out.reshape(-1).view("S36").copy()


# --- rows ---------------------------------------------------------------------------------------


def iso_utc(us: np.ndarray) -> np.ndarray:
    """int64 µs since the epoch -> ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` text."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    return np.strings.add(text, "+00:00")


def _presigned_query() -> str:
    return (
        "?q-sign-algorithm=sha1&q-ak=" + "A" * 36 + "&q-sign-time=1767225600;1767232800"
        "&q-key-time=1767225600;1767232800&q-header-list=host&q-url-param-list=&q-signature="
        + "0"
        * 40
    )


def _json_size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


def _device_url(region: str) -> str:
    digest = hashlib.md5(f"simulated device data {region}".encode()).hexdigest()
    return f"https://faceid-upload-{_APPID}.cos.{region}.myqcloud.com/device-data/{digest}"


def _sequence_host(region: str) -> str:
    return f"faceid-reflect-{_APPID}.cos.{region}.myqcloud.com"


@dataclass(frozen=True)
class _Tables:
    """Per-region and per-code constants the rows are assembled from."""

    device_url: np.ndarray
    device_md5: np.ndarray
    seq_prefix: np.ndarray
    endpoint_grs: np.ndarray
    seq_host: np.ndarray
    request_bytes: np.ndarray
    response_bytes: np.ndarray
    error_bytes: np.ndarray

    @classmethod
    def build(cls) -> _Tables:
        query = _presigned_query()
        device = [_device_url(r) for r in REGIONS]
        hosts = [_sequence_host(r) for r in REGIONS]
        request = [
            _json_size(
                {"DeviceDataUrl": u + query, "DeviceDataMd5": "0" * 32, "SecurityLevel": "4"}
            )
            for u in device
        ]
        response = [
            _json_size(
                {
                    "Response": {
                        "ReflectSequenceUrl": f"https://{h}/reflect-sequence/{'0' * 32}.bin{query}",
                        "ReflectSequenceMd5": "0" * 32,
                        "RequestId": "0" * 36,
                    }
                }
            )
            for h in hosts
        ]
        errors = [
            _json_size(
                {
                    "Response": {
                        "Error": {"Code": c, "Message": ERROR_MESSAGES[c]},
                        "RequestId": "0" * 36,
                    }
                }
            )
            for c in _CODES
        ]
        return cls(
            device_url=np.array(device, object),
            device_md5=np.array([u.rsplit("/", 1)[1] for u in device], object),
            seq_prefix=np.array([f"https://{h}/reflect-sequence/" for h in hosts]),
            endpoint_grs=np.array([ENDPOINT_HOST] * len(REGIONS), object),
            seq_host=np.array(hosts, object),
            request_bytes=np.array(request, np.int64),
            response_bytes=np.array(response, np.int64),
            error_bytes=np.array(errors, np.int64),
        )


def _masked(mask: np.ndarray, values: np.ndarray) -> list[Any]:
    """``values`` where ``mask``, None elsewhere, as a list."""
    out = np.full(len(mask), None, object)
    out[mask] = values[mask]
    return out.tolist()


def iter_row_batches(
    draws: Draws, campaign_id: str, n_calls: int, *, batch: int | None = None
) -> Iterator[dict[str, list[Any]]]:
    """The rows of ``draws`` as batches of columns (``{column: list}``, every insert column)."""
    batch = batch or WRITE_BATCH
    t = _Tables.build()
    width = max(6, len(str(max(n_calls - 1, 0))))
    region_names = np.array(REGIONS, object)
    level_names = np.array(list(SECURITY_LEVELS), object)
    code_names = np.array([*_CODES, None], object)  # index -1 -> None
    messages = np.array([*(ERROR_MESSAGES[c] for c in _CODES), None], object)
    action = np.array([_ACTION["GenerateReflectSequence"], _ACTION["DownloadSequence"]])
    actions = np.array(CATEGORIES["action"], object)
    outcomes = np.array(CATEGORIES["outcome"], object)
    # GRS: ok / api_error; download: ok / integrity_error
    outcome = np.array(
        [
            [_OUTCOME["api_error"], _OUTCOME["ok"]],
            [_OUTCOME["integrity_error"], _OUTCOME["ok"]],
        ]
    )
    for lo in range(0, len(draws), batch):
        sl = slice(lo, min(lo + batch, len(draws)))
        m = sl.stop - sl.start
        dl = draws.download[sl]
        grs = ~dl
        reg = draws.region[sl]
        code = draws.code[sl]
        seq = draws.seq[sl]
        has_seq = seq >= 0
        ks = seq[has_seq]
        kd = seq[dl]
        failed = code >= 0
        col: dict[str, list[Any]] = {}
        col["call_id"] = np.strings.add(
            f"{campaign_id}-", np.strings.zfill(draws.call_index[sl].astype("U20"), width)
        ).tolist()
        col["attempt"] = draws.attempt[sl].tolist()
        col["campaign_id"] = [campaign_id] * m
        col["action"] = actions[action[dl.astype(np.int64)]].tolist()
        col["region"] = region_names[reg].tolist()
        col["endpoint"] = np.where(dl, t.seq_host[reg], t.endpoint_grs[reg]).tolist()
        col["security_level"] = _masked(grs, level_names[draws.level[sl]])
        col["started_at"] = iso_utc(draws.started_us[sl]).tolist()
        col["queued_ms"] = [0.0] * m
        col["latency_ms"] = draws.latency_ms[sl].tolist()
        col["http_status"] = [200] * m
        col["outcome"] = outcomes[outcome[dl.astype(np.int64), (~failed).astype(np.int64)]].tolist()
        col["error_code"] = code_names[code].tolist()
        message = messages[code]
        for i in np.flatnonzero(code == _API_CODES):
            k = seq[i]
            message[i] = ERROR_MESSAGES[IntegrityError.code].format(
                host=t.seq_host[reg[i]],
                actual=draws.seq_bad_md5[k].decode(),
                expected=draws.seq_md5[k].decode(),
            )
        col["error_message"] = message.tolist()
        col["request_id"] = _masked(grs, draws.request_id[sl].astype("U36"))
        col["request_bytes"] = np.where(grs, t.request_bytes[reg], 0).tolist()
        size = np.zeros(m, np.int64)
        size[dl] = draws.seq_props["seq_size"][kd].astype(np.int64)
        size[grs] = np.where(
            failed[grs], t.error_bytes[np.clip(code[grs], 0, None)], t.response_bytes[reg[grs]]
        )
        col["response_bytes"] = size.tolist()
        col["device_data_url"] = _masked(grs, t.device_url[reg])
        col["device_data_md5"] = _masked(grs, t.device_md5[reg])
        url = np.full(m, None, object)
        url[has_seq] = np.strings.add(
            np.strings.add(t.seq_prefix[reg[has_seq]], draws.seq_key[ks].astype("U32")), ".bin"
        )
        col["sequence_url"] = url.tolist()
        md5 = np.full(m, None, object)
        md5[has_seq] = draws.seq_md5[ks].astype("U32")
        col["sequence_md5"] = md5.tolist()
        col["client_version"] = [__version__] * m
        col["simulated"] = [1] * m
        sha = np.full(m, None, object)
        sha[dl] = draws.seq_sha256[kd].astype("U64")
        col["seq_sha256"] = sha.tolist()
        for p in _SEQ_PROPS:
            values = np.full(m, None, object)
            values[dl] = draws.seq_props[p][kd]
            col[p] = values.tolist()
        yield {c: col[c] for c in INSERT_COLUMNS}
