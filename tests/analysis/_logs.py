"""Call logs for the analysis tests, drawn straight from a behaviour profile (no HTTP).

``draw_log`` builds a DataFrame with every call-log column and the types ``load_calls`` gives
(categoricals with the schema's categories, tz-aware UTC ``started_at``): GenerateReflectSequence
attempts (retries of retryable errors share a ``call_id``) and, for each successful call, a
DownloadSequence row whose ``seq_*`` columns describe real FRSQ bytes (duplicates and corrupted
bytes as the profile draws them).  ``write_parquet`` writes it as a hive-partitioned dataset.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from faceid_tools import seqformat
from faceid_tools.calllog.schema import CATEGORIES, COLUMNS, create_table_sql
from faceid_tools.emulator.profile import BehaviourModel, Profile
from faceid_tools.regions import REGIONS
from faceid_tools.sequences import properties

LEVELS = ("1", "2", "3", "4")
RETRYABLE = {"InternalError", "ServiceUnavailable"}


def draw_log(
    profile: Profile,
    seed: int,
    per_cell: int | Mapping[tuple[str, str], int],
    *,
    regions: Iterable[str] = REGIONS,
    levels: Iterable[str] = LEVELS,
    retries: int = 0,
    downloads: bool = True,
    start: str = "2026-03-01T00:00:00Z",
    rate: float = 5.0,
) -> pd.DataFrame:
    """A schema-shaped call log of ``per_cell`` logical calls per region × level."""
    model = BehaviourModel(profile, seed)
    rng = np.random.default_rng(seed + 1)
    rows: list[dict[str, object]] = []
    seq_rows: list[dict[str, object]] = []
    blobs: list[bytes] = []
    for region in regions:
        for level in levels:
            n = per_cell if isinstance(per_cell, int) else per_cell.get((region, level), 0)
            if n <= 0:
                continue
            call_ids = [f"{seed}-{region}-{level}-{i:06d}" for i in range(n)]
            pending = np.arange(n)
            for attempt in range(1, retries + 2):
                d = model.draw_many(region, level, len(pending))
                for j, idx in enumerate(pending):
                    code = d["error_code"][j]
                    rows.append(
                        {
                            "call_id": call_ids[idx],
                            "attempt": attempt,
                            "campaign_id": f"seed-{seed}",
                            "action": "GenerateReflectSequence",
                            "region": region,
                            "endpoint": f"faceid.{region}.tencentcloudapi.com",
                            "security_level": level,
                            "queued_ms": float(rng.exponential(5.0)),
                            "latency_ms": float(d["latency_ms"][j]),
                            "http_status": 200,
                            "outcome": "ok" if code is None else "api_error",
                            "error_code": code,
                            "request_id": str(uuid.UUID(int=int(rng.integers(2**62)))),
                        }
                    )
                    if code is None and downloads:
                        if d["duplicate"][j] and blobs:
                            blob = blobs[int(rng.integers(len(blobs)))]
                        else:
                            blob = seqformat.encode(seqformat.generate(int(level)))
                            blobs.append(blob)
                        md5 = __import__("hashlib").md5(blob).hexdigest()
                        stored = blob
                        if d["corrupt"][j]:
                            stored = bytes([blob[0] ^ 0xFF]) + blob[1:]
                        props = properties(stored, md5)
                        seq_rows.append(
                            {
                                "call_id": call_ids[idx],
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
                        )
                retry = [idx for j, idx in enumerate(pending) if d["error_code"][j] in RETRYABLE]
                pending = np.array(retry, dtype=int)
                if len(pending) == 0:
                    break
    frame = pd.DataFrame(rows + seq_rows)
    order = np.random.default_rng(seed + 2).permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    gaps = np.random.default_rng(seed + 3).exponential(1 / rate, len(frame))
    frame["started_at"] = pd.Timestamp(start) + pd.to_timedelta(np.cumsum(gaps), unit="s")
    return schema_frame(frame)


def schema_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every call-log column, in schema order, with the types ``load_calls`` gives."""
    out = pd.DataFrame(index=frame.index)
    for col in COLUMNS:
        values = frame[col.name] if col.name in frame else pd.Series(None, index=frame.index)
        if col.name == "id":
            out["id"] = np.arange(1, len(frame) + 1, dtype="int64")
        elif col.kind == "category":
            out[col.name] = pd.Categorical(
                values.astype(object).where(values.notna(), None), categories=CATEGORIES[col.name]
            )
        elif col.kind == "time":
            out[col.name] = pd.to_datetime(values, utc=True)
        elif col.kind == "float":
            out[col.name] = pd.to_numeric(values).astype("float64")
        elif col.kind == "int":
            out[col.name] = pd.array(values.astype(object).where(values.notna(), None), "Int64")
        elif col.kind == "bool":
            out[col.name] = pd.array(
                values.astype(object)
                .where(values.notna(), None)
                .map(lambda v: None if v is None else bool(v)),
                "boolean",
            )
        else:
            out[col.name] = values.astype(object).where(values.notna(), None).astype("str")
    out["simulated"] = pd.array([True] * len(out), "boolean")
    return out


def write_parquet(frame: pd.DataFrame, out_dir: Path, *, rows_per_file: int = 50_000) -> Path:
    """Write ``frame`` as a hive-partitioned Parquet dataset (``day=YYYY-MM-DD/``)."""
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
    """Write ``frame`` as a SQLite call log with the schema's table (as the client writes it)."""
    con = sqlite3.connect(path)
    try:
        con.execute(create_table_sql())
        cols = [c.name for c in COLUMNS if c.name != "id"]
        records = []
        for rec in frame[cols].astype(object).itertuples(index=False):
            row = []
            for name, v in zip(cols, rec, strict=True):
                if v is None or (not isinstance(v, str) and pd.isna(v)):
                    row.append(None)
                elif name == "started_at":
                    row.append(pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
                elif isinstance(v, bool | np.bool_):
                    row.append(int(v))
                else:
                    row.append(v)
            records.append(row)
        con.executemany(
            f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            records,
        )
        con.commit()
    finally:
        con.close()
    return path
