"""Drawing simulated calls as numpy columns: cells, latencies, errors, retries and sequences.

Every draw comes from the behaviour model the emulator serves (so the profile is the ground truth
of a simulated log) and from one seed; the retry back-off is the client's
(:func:`faceid_tools.calllog.conventions.backoff_ceiling`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .. import seqformat
from ..calllog.conventions import backoff_ceiling
from ..calllog.schema import INSERT_COLUMNS
from ..client.regions import REGIONS, SECURITY_LEVELS
from ..client.sequence_properties import properties
from ..emulator.profile import FAULT_CODES, TIMEOUT_CODE, BehaviourModel, Profile
from ..errors import IntegrityError, is_retryable_code

__all__ = ["CODES", "CODE_INTEGRITY", "Draws", "SequencePool", "draw", "random_sequence"]

#: Sequences pre-built per level; calls reuse their measured properties with fresh hashes.
POOL_SIZE = 64
#: Error codes by index; -1 means none.  The last one is the client's integrity failure.
CODES: tuple[str, ...] = (*FAULT_CODES, TIMEOUT_CODE, IntegrityError.code)
CODE_INTEGRITY = len(CODES) - 1
_CELLS: tuple[tuple[str, str], ...] = tuple((r, lv) for r in REGIONS for lv in SECURITY_LEVELS)
SEQ_PROPS: tuple[str, ...] = tuple(
    c for c in INSERT_COLUMNS if c.startswith("seq_") and c != "seq_sha256"
)


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
    code: np.ndarray  # int8 index into CODES, -1 = none
    request_id: np.ndarray  # S36 (empty for downloads)
    seq: np.ndarray  # int64 index of the call's sequence, -1 = none
    # per sequence (one per successful call)
    seq_md5: np.ndarray  # S32
    seq_sha256: np.ndarray  # S64, the bytes downloaded (a corrupted one differs)
    seq_key: np.ndarray  # S32, object key
    seq_bad_md5: np.ndarray  # S32, what a corrupted download hashes to
    seq_props: dict[str, np.ndarray]  # object arrays, one per SEQ_PROPS column

    def __len__(self) -> int:
        return len(self.attempt)


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

    retryable = np.array([False] + [is_retryable_code(c) for c in CODES])  # shifted by 1
    parts: list[tuple[np.ndarray, ...]] = []
    todo, todo_start = calls, starts
    for attempt in range(1, retries + 2):
        latency, code = _draw_attempts(model, cells[todo])
        parts.append((todo, np.full(len(todo), attempt, np.int64), todo_start, latency, code))
        again = retryable[code + 1]
        if attempt > retries or not again.any():
            break
        cap = backoff_ceiling(attempt)  # the client's default back-off
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
    dl_code = np.where(seq["corrupt"], CODE_INTEGRITY, -1).astype(np.int8)

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
    index = {c: i for i, c in enumerate(CODES)}
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
    :func:`seqformat.encode` and measured with :func:`faceid_tools.client.sequence_properties.properties`; a
    corrupted one has one bit flipped, as a damaged download would.
    """

    table: dict[str, np.ndarray]

    @classmethod
    def build(cls, rng: np.random.Generator) -> SequencePool:
        table = {p: np.empty((len(SECURITY_LEVELS), 2, POOL_SIZE), object) for p in SEQ_PROPS}
        for lv in range(len(SECURITY_LEVELS)):
            for e in range(POOL_SIZE):
                blob = seqformat.encode(random_sequence(lv + 1, rng))
                md5 = hashlib.md5(blob).hexdigest()
                broken = bytearray(blob)
                broken[int(rng.integers(len(broken)))] ^= 1 << int(rng.integers(8))
                for bad, data in ((0, blob), (1, bytes(broken))):
                    props = properties(data, md5)
                    for p in SEQ_PROPS:
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
