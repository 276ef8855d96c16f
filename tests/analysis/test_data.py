"""What ``data`` may be, and which Parquet files the DuckDB path reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from faceid_tools import analysis
from faceid_tools.analysis import ParquetDataset
from faceid_tools.analysis._data import DuckSource, PandasSource, resolve
from faceid_tools.calllog.export import export
from faceid_tools.calllog.parquet import dataset_files
from faceid_tools.calllog.store import CallLog
from faceid_tools.emulator.profile import Profile

from ._logs import draw_log, write_parquet, write_sqlite


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path, Path]:
    root = tmp_path_factory.mktemp("data")
    frame = draw_log(Profile.default(), 8, 40, rate=0.002)  # spans several days
    db = write_sqlite(frame, root / "calls.sqlite")
    export(db, root / "dataset", workers=1)
    return frame, db, root / "dataset"


def test_every_accepted_form_of_data(exported: tuple[pd.DataFrame, Path, Path]) -> None:
    frame, db, folder = exported
    assert isinstance(resolve(frame), PandasSource)
    assert isinstance(resolve(db), PandasSource)
    assert isinstance(resolve(str(db)), PandasSource)
    with CallLog(db) as log:
        assert isinstance(resolve(log), PandasSource)
    assert isinstance(resolve(folder), DuckSource)
    assert isinstance(resolve(ParquetDataset(folder)), DuckSource)
    expected = analysis.error_rates(frame, "region")
    for data in (db, folder, ParquetDataset(folder), str(folder)):
        pd.testing.assert_frame_equal(analysis.error_rates(data, "region"), expected)


def test_what_is_not_a_call_log_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="data must be"):
        resolve(42)
    with pytest.raises(FileNotFoundError):
        resolve(tmp_path / "nowhere.sqlite")
    with pytest.raises(ValueError, match="not a call log"):
        analysis.error_rates(pd.DataFrame({"x": [1]}))


def test_files_an_interrupted_export_left_behind_are_not_read(
    exported: tuple[pd.DataFrame, Path, Path], tmp_path: Path
) -> None:
    frame, _, folder = exported
    copy = tmp_path / "dataset"
    shutil.copytree(folder, copy)
    committed = dataset_files(copy)
    stray = committed[0].with_name("part-999999-999999.parquet")  # renamed, never committed
    shutil.copy(committed[0], stray)
    assert stray not in dataset_files(copy)
    by = ("region", "day")
    pd.testing.assert_frame_equal(analysis.error_rates(copy, by), analysis.error_rates(frame, by))


def test_duckdb_path_returns_only_aggregates(exported: tuple[pd.DataFrame, Path, Path]) -> None:
    _, _, folder = exported
    source = resolve(folder)
    assert isinstance(source, DuckSource)
    seen: list[int] = []
    original = source.query

    def spy(sql: str, **tables: pd.DataFrame) -> pd.DataFrame:
        result = original(sql, **tables)
        seen.append(len(result))
        return result

    source.query = spy  # type: ignore[method-assign]
    analysis.latency_summary(source, ("region", "security_level", "day"))
    analysis.error_rates(source, "region", per="call")
    rows = len(pd.read_parquet(dataset_files(folder)[0]))
    assert seen and max(seen) < 100 < rows * len(dataset_files(folder))


def test_day_folders_are_used_only_when_they_hold_that_utc_day(tmp_path: Path) -> None:
    """A dataset partitioned by another clock's day must still group by the UTC day."""
    from faceid_tools.analysis.engines.duckdb.source import _day_partitioned

    frame = draw_log(Profile.default(), 9, 30, rate=0.002)
    good = write_parquet(frame, tmp_path / "utc")
    assert _day_partitioned(dataset_files(good))
    shifted = frame.assign(
        day=(frame["started_at"] + pd.Timedelta(hours=8)).dt.strftime("%Y-%m-%d")  # UTC+8 days
    )
    table = pa.Table.from_pandas(shifted, preserve_index=False)
    pads.write_dataset(
        table,
        tmp_path / "local",
        format="parquet",
        partitioning=pads.partitioning(pa.schema([("day", pa.string())]), flavor="hive"),
    )
    assert not _day_partitioned(dataset_files(tmp_path / "local"))
    expected = analysis.summary_table(frame, ("region", "day"))
    for folder in (good, tmp_path / "local"):
        pd.testing.assert_frame_equal(analysis.summary_table(folder, ("region", "day")), expected)


def test_a_source_is_resolved_once_and_reused(exported: tuple[pd.DataFrame, Path, Path]) -> None:
    frame, db, folder = exported
    from_log = analysis.source(db)
    assert isinstance(from_log, PandasSource)
    assert analysis.source(from_log) is from_log
    dataset = analysis.source(folder)
    assert isinstance(dataset, DuckSource)
    assert dataset.connect() is dataset.connect()  # one DuckDB connection for every analysis
    for fn in (analysis.error_rates, analysis.latency_summary, analysis.integrity_rate):
        pd.testing.assert_frame_equal(fn(dataset), fn(frame))
        pd.testing.assert_frame_equal(fn(from_log), fn(frame))
