"""``load_parquet``: the dtypes of ``load_calls``, committed files only, corrupt parts named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from faceid_tools.analysis import daily_summary
from faceid_tools.calllog.export import export
from faceid_tools.calllog.load import load_calls
from faceid_tools.calllog.parquet import (
    STATE_FILE,
    ParquetDatasetError,
    arrow_schema,
    dataset_files,
    footer_digest,
    is_parquet_dataset,
    load_parquet,
    read_state,
    verify_dataset,
)
from faceid_tools.calllog.schema import COLUMN_NAMES
from faceid_tools.cli import main


@pytest.fixture
def dataset(small_log: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    export(small_log, out, chunk_rows=1500)
    return out


def test_is_parquet_dataset(dataset: Path, small_log: Path, tmp_path: Path) -> None:
    assert is_parquet_dataset(dataset)
    assert not is_parquet_dataset(small_log)
    assert not is_parquet_dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    assert not is_parquet_dataset(tmp_path / "empty")


def test_load_calls_delegates_for_a_folder(dataset: Path, small_log: Path) -> None:
    pdt.assert_frame_equal(load_calls(dataset), load_calls(small_log))


def test_columns_and_campaign_filter(dataset: Path, small_log: Path) -> None:
    full = load_calls(small_log)
    some = load_parquet(dataset, columns=["region", "latency_ms"])
    assert list(some.columns) == ["region", "latency_ms"]
    pdt.assert_frame_equal(some, full[["region", "latency_ms"]])
    campaign = full["campaign_id"].iloc[0]
    one = load_parquet(dataset, campaign_id=campaign)
    pdt.assert_frame_equal(one, full[full["campaign_id"] == campaign].reset_index(drop=True))
    assert load_parquet(dataset, campaign_id="no-such-campaign").empty
    with pytest.raises(ValueError, match="unknown"):
        load_parquet(dataset, columns=["nope"])


def test_uncommitted_files_are_not_read(dataset: Path, small_log: Path) -> None:
    stray = dataset / "day=2026-03-01" / "part-000000999990-000000999999.parquet"
    pq.write_table(pq.read_table(dataset_files(dataset)[0]), stray)
    pdt.assert_frame_equal(load_parquet(dataset), load_calls(small_log))
    assert stray not in dataset_files(dataset)


def test_a_plain_hive_folder_without_state_is_read(small_log: Path, tmp_path: Path) -> None:
    df = load_calls(small_log)
    folder = tmp_path / "hive"
    table = pa.Table.from_pandas(df, preserve_index=False).cast(arrow_schema())
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        mask = pa.compute.equal(pa.compute.strftime(table["started_at"], format="%Y-%m-%d"), day)
        (folder / f"day={day}").mkdir(parents=True)
        pq.write_table(table.filter(mask), folder / f"day={day}" / "data.parquet")
    assert is_parquet_dataset(folder)
    pdt.assert_frame_equal(load_parquet(folder), df)


def test_a_corrupt_part_is_named(dataset: Path) -> None:
    victim = dataset_files(dataset)[1]
    data = bytearray(victim.read_bytes())
    data[-12:] = b"\x00" * 12  # the footer length and magic
    victim.write_bytes(bytes(data))
    with pytest.raises(ParquetDatasetError, match=str(victim.name)):
        load_parquet(dataset)


def test_a_damaged_data_page_is_named(dataset: Path) -> None:
    """Bytes flipped inside a data page: caught by the page CRC, never returned as values."""
    victim = dataset_files(dataset)[0]
    meta = pq.ParquetFile(victim).metadata
    column = meta.row_group(0).column(list(COLUMN_NAMES).index("latency_ms"))
    assert column.total_compressed_size > 400
    data = bytearray(victim.read_bytes())
    at = column.data_page_offset + column.total_compressed_size // 2
    data[at : at + 64] = bytes(b ^ 0x5A for b in data[at : at + 64])
    victim.write_bytes(bytes(data))
    with pytest.raises(ParquetDatasetError, match=str(victim.name)):
        load_parquet(dataset)


def test_a_missing_committed_part_is_named(dataset: Path) -> None:
    victim = dataset_files(dataset)[-1]
    victim.unlink()
    with pytest.raises(ParquetDatasetError, match="missing"):
        load_parquet(dataset)


def test_a_broken_state_file_is_named(dataset: Path) -> None:
    (dataset / "_export_state.json").write_text("{not json")
    with pytest.raises(ParquetDatasetError, match=r"_export_state\.json"):
        load_parquet(dataset)


def test_all_columns_in_schema_order(dataset: Path) -> None:
    assert tuple(load_parquet(dataset).columns) == COLUMN_NAMES
    assert isinstance(load_parquet(dataset)["region"].dtype, pd.CategoricalDtype)


def test_the_state_records_each_part_s_size_and_footer_digest(dataset: Path) -> None:
    state = read_state(dataset)
    assert state is not None
    for f, entry in zip(dataset_files(dataset), state["files"], strict=True):
        assert {k: entry[k] for k in ("size", "footer_bytes", "footer_sha256")} == footer_digest(f)
        assert entry["size"] == f.stat().st_size


@pytest.mark.parametrize("where", ["metadata", "length", "appended"])
def test_a_damaged_footer_is_named_by_every_reader(dataset: Path, where: str) -> None:
    """Page CRCs do not cover the footer: the digest in the state does, for pandas and DuckDB."""
    victim = dataset_files(dataset)[1]
    data = bytearray(victim.read_bytes())
    if where == "metadata":  # one bit of the Thrift FileMetaData (a column's offset, a count...)
        data[len(data) - footer_digest(victim)["footer_bytes"] + 40] ^= 0x04
    elif where == "length":
        data[-7] ^= 0x01
    else:
        data += b"\x00"
    victim.write_bytes(bytes(data))
    for read in (dataset_files, load_parquet, daily_summary):
        with pytest.raises(ParquetDatasetError, match=rf"{victim.name}: damaged Parquet part"):
            read(dataset)


def test_a_state_without_digests_is_still_read(dataset: Path, small_log: Path) -> None:
    """Datasets exported before the digests were recorded keep working (nothing to check)."""
    state_file = dataset / STATE_FILE
    state = json.loads(state_file.read_text())
    for entry in state["files"]:
        for key in ("size", "footer_bytes", "footer_sha256"):
            del entry[key]
    state_file.write_text(json.dumps(state))
    pdt.assert_frame_equal(load_parquet(dataset), load_calls(small_log))


def test_verify_reads_every_page_of_a_clean_dataset(dataset: Path, small_log: Path) -> None:
    check = verify_dataset(dataset)
    assert check.rows == len(load_calls(small_log))
    assert check.files == len(dataset_files(dataset))
    assert check.bytes == sum(f.stat().st_size for f in dataset_files(dataset))


def test_verify_names_a_damaged_page_that_duckdb_would_read(
    dataset: Path, small_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = dataset_files(dataset)[0]
    column = pq.ParquetFile(victim).metadata.row_group(0).column(COLUMN_NAMES.index("latency_ms"))
    data = bytearray(victim.read_bytes())
    at = column.data_page_offset + column.total_compressed_size // 2
    data[at : at + 64] = bytes(b ^ 0x5A for b in data[at : at + 64])
    victim.write_bytes(bytes(data))
    with pytest.raises(ParquetDatasetError, match=rf"{victim.name}: corrupt Parquet part"):
        verify_dataset(dataset)
    assert main(["export", "--log", str(small_log), "--out", str(dataset), "--verify"]) == 1
    assert f"{victim.name}: corrupt Parquet part" in capsys.readouterr().err


def test_cli_export_verify(
    small_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    assert main(["export", "--log", str(small_log), "--out", str(out), "--verify"]) == 0
    printed = capsys.readouterr().out
    assert f"verified {len(load_calls(small_log)):,} rows" in printed
