"""load_calls: one set of types (UTC timestamps, fixed categoricals, nullable ints and booleans)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from faceid_tools.calllog import schema
from faceid_tools.calllog.load import apply_types, empty_frame, load_calls
from faceid_tools.calllog.store import CallLog
from faceid_tools.errors import CallLogError


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "call_id": "a",
            "attempt": 1,
            "campaign_id": "c1",
            "action": "GenerateReflectSequence",
            "region": "ap-hongkong",
            "security_level": "3",
            "started_at": "2026-03-01T10:00:00.250000+00:00",
            "latency_ms": 120.5,
            "http_status": 200,
            "outcome": "ok",
        },
        {
            "call_id": "a",
            "attempt": 1,
            "campaign_id": "c1",
            "action": "DownloadSequence",
            "region": "ap-hongkong",
            "started_at": "2026-03-01T10:00:00.400000+00:00",
            "outcome": "integrity_error",
            "seq_md5_ok": 0,
            "seq_size": 77,
        },
        {
            "call_id": "b",
            "attempt": 2,
            "campaign_id": "c2",
            "action": "GenerateReflectSequence",
            "region": "ap-bangkok",
            "security_level": "1",
            "started_at": "2026-03-01T18:30:00+08:00",  # another offset: still read as UTC
            "outcome": "timeout",
            "error_code": "Timeout",
        },
    ]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "calls.sqlite"
    with CallLog(path) as log:
        for row in _rows():
            log.record(row)
    return path


def _check_types(df: pd.DataFrame) -> None:
    assert df["started_at"].dtype == pd.DatetimeTZDtype("us", "UTC")
    for name, cats in schema.CATEGORIES.items():
        assert isinstance(df[name].dtype, pd.CategoricalDtype), name
        assert tuple(df[name].cat.categories) == cats, name
    for col in schema.COLUMNS:
        if col.kind == "int":
            assert df[col.name].dtype == "Int64", col.name
        elif col.kind == "bool":
            assert df[col.name].dtype == "boolean", col.name
        elif col.kind == "float":
            assert df[col.name].dtype == "float64", col.name
        elif col.kind == "str":
            assert pd.api.types.is_string_dtype(df[col.name].dtype), col.name


def test_types_and_values(log_path: Path) -> None:
    df = load_calls(log_path)
    assert list(df.columns) == list(schema.COLUMN_NAMES)
    _check_types(df)
    assert len(df) == 3
    assert df["started_at"].iloc[2] == pd.Timestamp("2026-03-01T10:30:00", tz="UTC")
    assert df["started_at"].iloc[0] == pd.Timestamp("2026-03-01T10:00:00.25", tz="UTC")
    assert df["security_level"].tolist()[0] == "3"
    assert pd.isna(df["security_level"].iloc[1])
    assert df["seq_md5_ok"].tolist()[1] is False
    assert df["simulated"].tolist() == [False, False, False]
    assert df["http_status"].tolist()[:1] == [200]
    assert pd.isna(df["http_status"].iloc[2])


def test_filters_by_campaign_and_accepts_a_calllog(log_path: Path) -> None:
    assert load_calls(log_path, campaign_id="c1")["call_id"].tolist() == ["a", "a"]
    with CallLog(log_path) as log:
        df = load_calls(log, campaign_id="c2")
    assert df["outcome"].tolist() == ["timeout"]
    _check_types(df)


def test_empty_log_and_empty_selection_keep_the_types(tmp_path: Path, log_path: Path) -> None:
    with CallLog(tmp_path / "empty.sqlite") as log:
        df = load_calls(log)
    assert df.empty
    _check_types(df)
    none = load_calls(log_path, campaign_id="nope")
    assert none.empty
    _check_types(none)
    _check_types(empty_frame())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_calls(tmp_path / "nothing.sqlite")
    assert not (tmp_path / "nothing.sqlite").exists()


def test_apply_types_on_a_parquet_shaped_frame() -> None:
    # what a Parquet reader may hand over: naive datetimes, ints for levels, floats for flags,
    # plain categoricals with other categories, an unknown region
    df = pd.DataFrame(
        {
            "started_at": pd.to_datetime(["2026-01-01 00:00:00", "2026-01-01 00:00:01"]),
            "security_level": [4, None],
            "region": pd.Categorical(["ap-bangkok", "eu-mars"]),
            "action": ["GenerateReflectSequence", "CreateUploadUrl"],
            "outcome": ["ok", "api_error"],
            "seq_md5_ok": [1.0, None],
            "attempt": [1.0, 2.0],
            "error_code": [None, "InternalError"],
            "extra": ["kept", "as is"],
        }
    )
    out = apply_types(df)
    assert str(out["started_at"].dt.tz) == "UTC"
    assert out["security_level"].tolist()[0] == "4"
    assert tuple(out["region"].cat.categories) == schema.REGION_CATEGORIES
    assert pd.isna(out["region"].iloc[1])
    assert out["seq_md5_ok"].dtype == "boolean"
    assert out["attempt"].dtype == "Int64"
    assert out["extra"].tolist() == ["kept", "as is"]


@pytest.mark.skipif(
    importlib.util.find_spec("faceid_tools.calllog.parquet") is None,
    reason="the Parquet loader is another part of the project",
)
def test_a_directory_is_read_as_a_parquet_dataset(tmp_path: Path, log_path: Path) -> None:
    from faceid_tools.calllog import export

    export.export(log_path, tmp_path / "dataset")
    df = load_calls(tmp_path / "dataset")
    assert sorted(df["call_id"].tolist()) == ["a", "a", "b"]
    _check_types(df)


def test_values_sqlite_converted_load_as_their_column_type(tmp_path: Path) -> None:
    # SQLite's column affinity converts what it can ('12.5' in a REAL column is 12.5, 4 in a TEXT
    # column is '4'); those load normally, and an unknown category value is simply missing
    path = tmp_path / "odd.sqlite"
    with CallLog(path) as log:
        log.record({"call_id": "x", "http_status": " 200 ", "security_level": 4,
                    "started_at": "2026-01-01T08:00:00+08:00", "seq_md5_ok": 1,
                    "latency_ms": "12.5", "region": "mars-1", "attempt": 2})  # fmt: skip
    df = load_calls(path)
    _check_types(df)
    assert df["http_status"].tolist() == [200]
    assert df["security_level"].tolist() == ["4"]
    assert df["started_at"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")
    assert df["latency_ms"].iloc[0] == 12.5
    assert pd.isna(df["region"].iloc[0])
    assert bool(df["seq_md5_ok"].iloc[0]) is True


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("http_status", "not a number"),
        ("attempt", 2.5),
        ("latency_ms", "fast"),
        ("latency_ms", b"\x00\x01"),
        ("seq_md5_ok", "maybe"),
        ("started_at", "yesterday"),
        ("started_at", "2026-02-30T10:00:00Z"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_file_row_and_column(
    tmp_path: Path, column: str, value: object
) -> None:
    path = tmp_path / "damaged.sqlite"
    with CallLog(path) as log:
        log.record_many([{"call_id": f"c{i}", "attempt": 1} for i in range(5)])
        with log.reading() as conn:
            conn.execute(f"UPDATE calls SET {column} = ? WHERE id = 4", (value,))
    with pytest.raises(CallLogError) as info:
        load_calls(path)
    message = str(info.value)
    assert str(path) in message and "row id 4" in message and column in message
    assert isinstance(info.value, ValueError)


def test_a_damaged_file_is_named(tmp_path: Path, log_path: Path) -> None:
    broken = tmp_path / "broken.sqlite"
    data = bytearray(log_path.read_bytes())
    data[:16] = b"definitely not!!"
    broken.write_bytes(bytes(data))
    with pytest.raises(CallLogError) as info:
        load_calls(broken)
    assert str(broken) in str(info.value)
