"""The call-log schema: one row per HTTP exchange.  The single source of column names and types."""

from __future__ import annotations

from dataclasses import dataclass

from ..client.regions import REGIONS
from .conventions import ACTIONS, LEVELS, OUTCOMES

SCHEMA_VERSION = 2

#: Categories with fixed order (load_calls makes these pandas categoricals); the vocabularies
#: themselves are the writers' conventions.
REGION_CATEGORIES = REGIONS
LEVEL_CATEGORIES = LEVELS
ACTION_CATEGORIES = ACTIONS
OUTCOME_CATEGORIES = OUTCOMES


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # SQLite type affinity
    kind: str  # pandas/parquet kind: str, int, float, bool, time, category
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("id", "INTEGER", "int", "Row number, increasing in insert order (export watermark)."),
    Column("call_id", "TEXT", "str", "One logical call; its retries share it."),
    Column("attempt", "INTEGER", "int", "1 for the first try, 2.. for retries."),
    Column("campaign_id", "TEXT", "str", "The probe campaign that made the call, if any."),
    Column(
        "action",
        "TEXT",
        "category",
        "GenerateReflectSequence, CreateUploadUrl, UploadDeviceData (PUT), DownloadSequence (GET).",
    ),
    Column("region", "TEXT", "category", "Region the request was made for."),
    Column("endpoint", "TEXT", "str", "Host the request went to (no scheme, no query)."),
    Column(
        "security_level", "TEXT", "category", "'1'..'4' for GenerateReflectSequence, else empty."
    ),
    Column("started_at", "TEXT", "time", "UTC ISO-8601 instant the request was sent."),
    Column("queued_ms", "REAL", "float", "Time spent waiting for the client's rate limiter."),
    Column("latency_ms", "REAL", "float", "Send to last byte of the response (or to the failure)."),
    Column("http_status", "INTEGER", "int", "HTTP status, empty when none came back."),
    Column(
        "outcome",
        "TEXT",
        "category",
        "ok, api_error, http_error, timeout, network_error, bad_response, integrity_error.",
    ),
    Column(
        "error_code",
        "TEXT",
        "str",
        "API error code (e.g. InternalError) or the client's class of failure.",
    ),
    Column("error_message", "TEXT", "str", "Error message, redacted."),
    Column("request_id", "TEXT", "str", "RequestId the service returned."),
    Column("request_bytes", "INTEGER", "int", "Size of the request body."),
    Column("response_bytes", "INTEGER", "int", "Size of the response body."),
    Column("device_data_url", "TEXT", "str", "DeviceDataUrl without its query string."),
    Column("device_data_md5", "TEXT", "str", "DeviceDataMd5 (lower-case hex)."),
    Column("sequence_url", "TEXT", "str", "ReflectSequenceUrl without its query string."),
    Column("sequence_md5", "TEXT", "str", "ReflectSequenceMd5 the service returned."),
    Column("client_version", "TEXT", "str", "faceid-tools version that wrote the row."),
    Column(
        "simulated", "INTEGER", "bool", "1 when drawn by `faceid-tools simulate` (no HTTP), else 0."
    ),
    Column("seq_size", "INTEGER", "int", "Downloaded sequence: size in bytes."),
    Column("seq_md5_ok", "INTEGER", "bool", "Downloaded sequence: MD5 matched ReflectSequenceMd5."),
    Column("seq_sha256", "TEXT", "str", "Downloaded sequence: SHA-256 (finds duplicates)."),
    Column(
        "seq_entropy",
        "REAL",
        "float",
        "Downloaded sequence: Shannon entropy of the bytes, bits per byte.",
    ),
    Column(
        "seq_compress_ratio", "REAL", "float", "Downloaded sequence: zlib-compressed size / size."
    ),
    Column("seq_format", "TEXT", "str", "Recognised format ('FRSQ1') or empty."),
    Column("seq_level", "INTEGER", "int", "Decoded: security level written in the sequence."),
    Column("seq_frames", "INTEGER", "int", "Decoded: number of colour frames."),
    Column("seq_colours", "INTEGER", "int", "Decoded: distinct colours."),
    Column("seq_duration_ms", "INTEGER", "int", "Decoded: total duration in ms."),
    Column("seq_blinks", "INTEGER", "int", "Decoded: number of blink cues."),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
#: Every column a writer supplies (``id`` is assigned by SQLite).
INSERT_COLUMNS: tuple[str, ...] = COLUMN_NAMES[1:]
CATEGORIES: dict[str, tuple[str, ...]] = {
    "region": REGION_CATEGORIES,
    "security_level": LEVEL_CATEGORIES,
    "action": ACTION_CATEGORIES,
    "outcome": OUTCOME_CATEGORIES,
}


def create_table_sql(table: str = "calls") -> str:
    """The ``CREATE TABLE`` of a new log.

    ``id`` is a plain ``INTEGER PRIMARY KEY`` (the rowid): rows are only ever appended, so each
    new row gets the highest id plus one, in insert order, as the export's watermark needs.
    Without ``AUTOINCREMENT`` a commit writes one page, not two (no ``sqlite_sequence`` update):
    a quarter less CPU per logged call.  Logs created with ``AUTOINCREMENT`` keep it.  The price:
    ids of the newest rows, deleted by hand, are given again; ``export`` notices (the row at its
    watermark is no longer the one it exported) and refuses instead of skipping rows.
    """
    cols = ",\n  ".join(
        "id INTEGER PRIMARY KEY" if c.name == "id" else f"{c.name} {c.sql}" for c in COLUMNS
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


#: Only what SQLite queries filter on: a campaign's rows (resume, summaries).  Every index is paid
#: on each logged row; rows are already in time order by ``id``, and per-call grouping happens in
#: pandas or DuckDB, so ``call_id`` and ``started_at`` go unindexed.  Partial: most rows in a
#: production log belong to no campaign.
INDEXES_SQL: tuple[str, ...] = (
    "CREATE INDEX IF NOT EXISTS calls_campaign_id ON calls(campaign_id) WHERE campaign_id IS NOT NULL",
)
