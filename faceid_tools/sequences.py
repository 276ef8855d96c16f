"""Light-sequence inspection: properties that hold for any bytes, and decoded ones for FRSQ v1.

:func:`properties` gives the ``seq_*`` call-log columns of one downloaded sequence (the client
calls it for every download); :func:`find_duplicates` finds sequences returned more than once
across a log, by their SHA-256.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import seqformat

if TYPE_CHECKING:
    import pandas as pd


def byte_entropy(data: bytes) -> float:
    """Shannon entropy of the byte histogram, bits per byte (0..8)."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def compress_ratio(data: bytes) -> float:
    """zlib-compressed size over size (about 1 or more for random bytes)."""
    return len(zlib.compress(data, 9)) / len(data) if data else 0.0


def properties(data: bytes, expected_md5: str | None) -> dict[str, Any]:
    """The ``seq_*`` call-log columns for downloaded sequence bytes."""
    md5 = hashlib.md5(data).hexdigest()
    props: dict[str, Any] = {
        "seq_size": len(data),
        "seq_md5_ok": None if expected_md5 is None else int(md5 == expected_md5.lower()),
        "seq_sha256": hashlib.sha256(data).hexdigest(),
        "seq_entropy": byte_entropy(data),
        "seq_compress_ratio": compress_ratio(data),
        "seq_format": None,
        "seq_level": None,
        "seq_frames": None,
        "seq_colours": None,
        "seq_duration_ms": None,
        "seq_blinks": None,
    }
    try:
        seq = seqformat.decode(data)
    except seqformat.SequenceFormatError:
        return props
    props.update(
        seq_format="FRSQ1",
        seq_level=seq.security_level,
        seq_frames=len(seq.frames),
        seq_colours=seq.distinct_colours,
        seq_duration_ms=seq.duration_ms,
        seq_blinks=len(seq.blinks),
    )
    return props


# --- duplicates across a log -------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateGroup:
    """Downloaded sequences with the same bytes (SHA-256): the calls that returned them."""

    seq_sha256: str
    count: int
    call_ids: tuple[str, ...]
    first_seen: str
    last_seen: str


def find_duplicates(
    source: str | Path | sqlite3.Connection | pd.DataFrame, *, campaign_id: str | None = None
) -> list[DuplicateGroup]:
    """Every SHA-256 that more than one sequence download returned, most repeated first.

    ``source`` is a call-log SQLite file, an open connection to one, or a DataFrame from
    ``load_calls``.  Only ``DownloadSequence`` rows with bytes count; ``campaign_id`` narrows the
    search to one campaign.
    """
    if isinstance(source, str | Path | sqlite3.Connection):
        rows = _download_rows_sql(source, campaign_id)
    else:
        rows = _download_rows_frame(source, campaign_id)
    groups: dict[str, list[tuple[str, str]]] = {}
    for sha, call_id, started_at in rows:
        groups.setdefault(sha, []).append((str(started_at), str(call_id)))
    out = []
    for sha, seen in groups.items():
        if len(seen) < 2:
            continue
        seen.sort()
        out.append(
            DuplicateGroup(sha, len(seen), tuple(c for _, c in seen), seen[0][0], seen[-1][0])
        )
    out.sort(key=lambda g: (-g.count, g.first_seen))
    return out


def _download_rows_sql(
    source: str | Path | sqlite3.Connection, campaign_id: str | None
) -> list[tuple[str, str, str]]:
    sql = (
        "SELECT seq_sha256, call_id, started_at FROM calls"
        " WHERE action = 'DownloadSequence' AND seq_sha256 IS NOT NULL AND seq_sha256 != ''"
    )
    params: tuple[str, ...] = ()
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        params = (campaign_id,)
    if isinstance(source, sqlite3.Connection):
        return list(source.execute(sql, params).fetchall())
    if not Path(source).exists():
        raise FileNotFoundError(f"no call log at {source}")
    conn = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True, timeout=30.0)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def _download_rows_frame(
    frame: pd.DataFrame, campaign_id: str | None
) -> list[tuple[str, str, str]]:
    df = frame[(frame["action"] == "DownloadSequence") & frame["seq_sha256"].notna()]
    df = df[df["seq_sha256"] != ""]
    if campaign_id is not None:
        df = df[df["campaign_id"] == campaign_id]
    started = df["started_at"].map(
        lambda t: t.isoformat(timespec="microseconds") if hasattr(t, "isoformat") else str(t)
    )
    return list(zip(df["seq_sha256"], df["call_id"], started, strict=True))
