"""Call logs for the analysis tests, drawn straight from a behaviour profile (no HTTP).

``draw_log`` builds a DataFrame with every call-log column, typed by ``load_calls``'s own
``apply_types``: GenerateReflectSequence attempts (retries of retryable errors share a ``call_id``)
and, optionally, for each successful call a DownloadSequence row whose ``seq_*`` columns describe
real FRSQ bytes (duplicates and corrupted bytes as the profile draws them).  ``write_parquet``
writes a frame as a hive-partitioned dataset with pyarrow; ``write_sqlite`` through ``CallLog``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from faceid_tools import seqformat
from faceid_tools.calllog.load import apply_types
from faceid_tools.calllog.schema import CATEGORIES, COLUMNS, INSERT_COLUMNS
from faceid_tools.calllog.store import CallLog
from faceid_tools.client.regions import REGIONS
from faceid_tools.client.sequence_properties import properties
from faceid_tools.emulator.profile import BehaviourModel, Profile

LEVELS = ("1", "2", "3", "4")
RETRYABLE = frozenset({"InternalError", "ServiceUnavailable"})


def draw_log(
    profile: Profile,
    seed: int,
    per_cell: int | Mapping[tuple[str, str], int],
    *,
    regions: Iterable[str] = REGIONS,
    levels: Iterable[str] = LEVELS,
    retries: int = 0,
    downloads: float = 0.0,
    start: str = "2026-03-01T00:00:00Z",
    rate: float = 5.0,
) -> pd.DataFrame:
    """A schema-shaped call log of ``per_cell`` logical calls per region × level.

    ``downloads``: share of successful calls followed by a DownloadSequence row.  Rows are
    shuffled and spaced by exponential gaps (``rate`` per second) from ``start``.
    """
    model = BehaviourModel(profile, seed)
    rng = np.random.default_rng(seed + 1)
    parts: list[pd.DataFrame] = []
    seq_rows: list[dict[str, object]] = []
    for region in regions:
        for level in levels:
            n = per_cell if isinstance(per_cell, int) else per_cell.get((region, level), 0)
            if n <= 0:
                continue
            call_ids = np.array([f"{seed}-{region}-{level}-{i:06d}" for i in range(n)], object)
            pending = np.arange(n)
            blobs: list[bytes] = []  # a duplicate repeats an earlier sequence of its cell
            for attempt in range(1, retries + 2):
                d = model.draw_many(region, level, len(pending))
                codes = d["error_code"]
                ok = np.array([c is None for c in codes])
                parts.append(
                    pd.DataFrame(
                        {
                            "call_id": call_ids[pending],
                            "attempt": attempt,
                            "campaign_id": f"seed-{seed}",
                            "action": "GenerateReflectSequence",
                            "region": region,
                            "endpoint": f"faceid.{region}.tencentcloudapi.com",
                            "security_level": level,
                            "queued_ms": rng.exponential(5.0, len(pending)),
                            "latency_ms": d["latency_ms"],
                            "http_status": 200,
                            "outcome": np.where(ok, "ok", "api_error"),
                            "error_code": codes,
                        }
                    )
                )
                if downloads:
                    for j in np.flatnonzero(ok & (rng.random(len(ok)) < downloads)):
                        seq_rows.append(
                            _download_row(
                                call_ids[pending[j]], region, level, d, j, blobs, rng, seed
                            )
                        )
                retry = np.array([c in RETRYABLE for c in codes], dtype=bool)
                pending = pending[retry]
                if len(pending) == 0:
                    break
    frame = pd.concat([*parts, pd.DataFrame(seq_rows)], ignore_index=True)
    order = np.random.default_rng(seed + 2).permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    gaps = np.random.default_rng(seed + 3).exponential(1 / rate, len(frame))
    frame["started_at"] = pd.Timestamp(start) + pd.to_timedelta(np.cumsum(gaps), unit="s")
    return schema_frame(frame)


def _download_row(
    call_id: str,
    region: str,
    level: str,
    d: Mapping[str, np.ndarray],
    j: int,
    blobs: list[bytes],
    rng: np.random.Generator,
    seed: int,
) -> dict[str, object]:
    if d["duplicate"][j] and blobs:
        blob = blobs[int(rng.integers(len(blobs)))]
    else:
        blob = _fresh_sequence(int(level), rng)
        blobs.append(blob)
    md5 = hashlib.md5(blob).hexdigest()
    stored = bytes([blob[0] ^ 0xFF]) + blob[1:] if d["corrupt"][j] else blob
    props = properties(stored, md5)
    return {
        "call_id": call_id,
        "attempt": 1,
        "campaign_id": f"seed-{seed}",
        "action": "DownloadSequence",
        "region": region,
        "endpoint": "127.0.0.1",
        "security_level": None,
        "queued_ms": 0.0,
        "latency_ms": float(rng.lognormal(3, 0.5)),
        "http_status": 200,
        "outcome": "ok" if props["seq_md5_ok"] else "integrity_error",
        "error_code": None if props["seq_md5_ok"] else "IntegrityError",
        "sequence_md5": md5,
        **props,
    }


_TEMPLATES: dict[int, list[bytes]] = {}


def _fresh_sequence(level: int, rng: np.random.Generator) -> bytes:
    """A new FRSQ sequence: one of a few generated per level with a fresh 16-byte nonce.

    Generating from the CSPRNG costs a third of a millisecond; tests need tens of thousands.
    """
    if level not in _TEMPLATES:
        _TEMPLATES[level] = [seqformat.encode(seqformat.generate(level)) for _ in range(32)]
    pool = _TEMPLATES[level]
    template = pool[int(rng.integers(len(pool)))]
    return template[:6] + rng.bytes(16) + template[22:]


def schema_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every call-log column, in schema order, typed by ``load_calls``'s own ``apply_types``."""
    out = pd.DataFrame(index=frame.index)
    for col in COLUMNS:
        if col.name == "id":
            out["id"] = np.arange(1, len(frame) + 1, dtype="int64")
        elif col.name == "simulated":
            out["simulated"] = 1
        elif col.name in frame:
            values = frame[col.name].astype(object)
            out[col.name] = values.where(values.notna(), None)
        else:
            out[col.name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return apply_types(out)


def write_parquet(frame: pd.DataFrame, out_dir: Path, *, rows_per_file: int = 50_000) -> Path:
    """Write ``frame`` as a hive-partitioned Parquet dataset (``day=YYYY-MM-DD/``) with pyarrow."""
    table = pa.Table.from_pandas(
        frame.assign(day=frame["started_at"].dt.strftime("%Y-%m-%d")), preserve_index=False
    )
    pads.write_dataset(
        table,
        out_dir,
        format="parquet",
        partitioning=pads.partitioning(pa.schema([("day", pa.string())]), flavor="hive"),
        max_rows_per_file=rows_per_file,
        max_rows_per_group=rows_per_file,
        existing_data_behavior="overwrite_or_ignore",
    )
    return out_dir


def write_sqlite(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame``'s rows, in order, to a SQLite call log through :class:`CallLog`."""
    records = []
    for rec in frame[list(INSERT_COLUMNS)].astype(object).itertuples(index=False):
        row: list[object] = []
        for name, v in zip(INSERT_COLUMNS, rec, strict=True):
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
                row.append(None)
            elif name == "started_at":
                row.append(pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            elif isinstance(v, bool | np.bool_):
                row.append(int(v))
            elif isinstance(v, np.generic):
                row.append(v.item())
            else:
                row.append(v)
        records.append(tuple(row))
    with CallLog(path) as log:
        log.record_many(records)
    return path


def draw_seeds(
    profile: Profile,
    seeds: Iterable[int],
    per_cell: int,
    *,
    regions: Iterable[str] = REGIONS,
    levels: Iterable[str] = LEVELS,
) -> pd.DataFrame:
    """First attempts of ``per_cell`` calls per region × level for each seed, in one lean frame.

    Only the columns the statistics read (``campaign_id`` = ``seed-<n>``, ``attempt``,
    ``action``, ``region``, ``security_level``, ``outcome``, ``error_code``, ``latency_ms``),
    in the dtypes ``apply_types`` gives; built with array operations so that dozens of seeds take
    a moment.
    """
    regions, levels = tuple(regions), tuple(levels)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("seed", "region", "level", "lat", "code")}
    for seed in seeds:
        model = BehaviourModel(profile, seed)
        for r, region in enumerate(regions):
            for lv, level in enumerate(levels):
                d = model.draw_many(region, level, per_cell)
                cols["seed"].append(np.full(per_cell, seed))
                cols["region"].append(np.full(per_cell, r))
                cols["level"].append(np.full(per_cell, lv))
                cols["lat"].append(d["latency_ms"])
                cols["code"].append(d["error_code"])
    seed_arr = np.concatenate(cols["seed"])
    codes = np.concatenate(cols["code"])
    ok = np.equal(codes, None)
    names, inverse = np.unique(codes[~ok].astype(str), return_inverse=True)
    code_idx = np.full(len(codes), -1)
    code_idx[~ok] = inverse
    campaigns = np.unique(seed_arr)
    region_idx = np.array([REGIONS.index(r) for r in regions])[np.concatenate(cols["region"])]
    level_idx = np.array([LEVELS.index(lv) for lv in levels])[np.concatenate(cols["level"])]
    n = len(seed_arr)

    def coded(idx: np.ndarray, categories: Iterable[str]) -> pd.Categorical:
        return pd.Categorical.from_codes(idx, categories=list(categories))

    frame = pd.DataFrame(
        {
            "campaign_id": pd.Series(
                coded(np.searchsorted(campaigns, seed_arr), [f"seed-{s}" for s in campaigns])
            ).astype("string"),
            "attempt": pd.array(np.ones(n, dtype="int64"), dtype="Int64"),
            "action": coded(np.zeros(n, dtype="int64"), CATEGORIES["action"]),
            "region": coded(region_idx, CATEGORIES["region"]),
            "security_level": coded(level_idx, CATEGORIES["security_level"]),
            "outcome": coded(np.where(ok, 0, 1), CATEGORIES["outcome"]),
            "error_code": pd.Series(coded(code_idx, names.tolist())).astype("string"),
            "latency_ms": np.concatenate(cols["lat"]),
        }
    )
    return frame  # already in apply_types' dtypes (test_logs checks it); converting costs seconds
