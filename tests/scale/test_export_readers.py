"""``export`` reads the log two ways: ADBC straight into Arrow (fast), ``sqlite3`` rows (exact).

The fast path must take every clean chunk, hand every chunk with an odd value to the exact path,
and the two must write the same dataset.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from faceid_tools.calllog import export as export_module
from faceid_tools.calllog.export import _ArrowReader, _from_arrow, _RowReader, _Task, _to_table
from faceid_tools.calllog.parquet import dataset_files
from faceid_tools.calllog.schema import COLUMN_NAMES
from faceid_tools.simulate import simulate

from .conftest import START


def _task(log: Path, out: Path, columns: tuple[str, ...] = COLUMN_NAMES) -> _Task:
    return _Task(str(log), str(out), 0, 10**9, 1000, "t", columns)


def _select(columns: tuple[str, ...] = COLUMN_NAMES) -> str:
    return f"SELECT {', '.join(columns)} FROM calls WHERE id > ? AND id <= ? ORDER BY id"


def _both_ways(log: Path, lo: int, hi: int) -> tuple[pa.Table | None, pa.Table]:
    task = _task(log, log.parent)
    with _ArrowReader(str(log), _select(), hi - lo) as fast, _RowReader(str(log)) as exact:
        return _from_arrow(fast.read(lo, hi), task), _to_table(exact.read(_select(), lo, hi), task)


def _count(log: Path) -> int:
    with closing(sqlite3.connect(log)) as con:
        return int(con.execute("SELECT count(*) FROM calls").fetchone()[0])


def _dataset(out: Path) -> pa.Table:
    return pa.concat_tables(
        [pq.read_table(f, schema=export_module._SCHEMA) for f in dataset_files(out)]
    )


def _export_exact_and_fast(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[pa.Table, pa.Table]:
    export_module.export(log, tmp_path / "fast", chunk_rows=400, workers=1)
    with monkeypatch.context() as patch:
        patch.setattr(_ArrowReader, "read", lambda self, start, stop: None)
        export_module.export(log, tmp_path / "exact", chunk_rows=400, workers=1)
    return _dataset(tmp_path / "fast"), _dataset(tmp_path / "exact")


def test_the_fast_path_takes_a_clean_chunk(small_log: Path) -> None:
    fast, exact = _both_ways(small_log, 0, 1000)
    assert fast is not None, "a clean chunk fell back to the slow path"
    assert fast.num_rows == 1000 and fast.equals(exact)


def test_both_paths_write_the_same_dataset(
    small_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with closing(sqlite3.connect(small_log)) as con, con:
        # odd but valid: naive and offset times (the exact path parses these), a column NULL in
        # whole chunks, a region outside the fixed categories
        con.execute("UPDATE calls SET started_at = '2026-03-02 01:02:03' WHERE id = 450")
        con.execute("UPDATE calls SET started_at = '2026-03-02T09:02:03+08:00' WHERE id = 1777")
        con.execute("UPDATE calls SET seq_entropy = NULL, error_message = NULL WHERE id <= 800")
        con.execute("UPDATE calls SET region = 'ap-tokyo' WHERE id % 97 = 0")
    fast, exact = _export_exact_and_fast(small_log, tmp_path, monkeypatch)
    assert fast.num_rows == _count(small_log) > 3000  # 3,000 calls, a row per exchange
    assert fast.equals(exact)


def test_a_log_of_an_older_schema_reads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.sqlite"
    simulate(900, log, seed=5, start=START)
    with closing(sqlite3.connect(log)) as con, con:
        con.execute("ALTER TABLE calls DROP COLUMN seq_blinks")
        con.execute("ALTER TABLE calls DROP COLUMN client_version")
    fast, exact = _export_exact_and_fast(log, tmp_path, monkeypatch)
    assert fast.equals(exact)
    assert fast.column("seq_blinks").null_count == fast.num_rows == _count(log)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("attempt", "two"),  # text in an INTEGER column
        ("seq_size", 1.5),  # a REAL in an INTEGER column
        ("latency_ms", "fast"),  # text in a REAL column
        ("call_id", b"\x00\xff"),  # a BLOB in a TEXT column
        ("started_at", "not a time"),
    ],
)
def test_a_chunk_with_an_odd_value_goes_to_the_exact_path(
    tmp_path: Path, column: str, value: object
) -> None:
    log = tmp_path / "calls.sqlite"
    simulate(300, log, seed=2, start=START)
    with closing(sqlite3.connect(log)) as con, con:
        con.execute(f"UPDATE calls SET {column} = ? WHERE id = 123", (value,))
    fast, _ = _both_ways(log, 200, 300)
    assert fast is not None  # the chunk without the value is taken
    task = _task(log, tmp_path)
    with _ArrowReader(str(log), _select(), 300) as reader:
        assert _from_arrow(reader.read(100, 200), task) is None


def test_invalid_utf8_goes_to_the_exact_path(tmp_path: Path) -> None:
    log = tmp_path / "calls.sqlite"
    simulate(50, log, seed=2, start=START)
    with closing(sqlite3.connect(log)) as con, con:
        con.execute("UPDATE calls SET error_message = CAST(x'41ff42' AS TEXT) WHERE id = 7")
    task = _task(log, tmp_path)
    with _ArrowReader(str(log), _select(), 50) as reader:
        assert _from_arrow(reader.read(0, 50), task) is None
    with pytest.raises(
        export_module.ExportError, match=r"cannot read rows with id 1\.\.\d+ \(Could not decode"
    ):
        export_module.export(log, tmp_path / "ds")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_gap_of_a_trillion_ids_is_skipped_not_walked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """A damaged or hand-edited log can claim ids up to 2**63; empty id ranges cost one query."""
    log = tmp_path / "calls.sqlite"
    simulate(200, log, seed=4, start=START)
    with closing(sqlite3.connect(log)) as con, con:
        con.execute("UPDATE calls SET id = 1000000000000 + id WHERE id > 150")
        ids = [i for (i,) in con.execute("SELECT id FROM calls ORDER BY id")]
    monkeypatch.setattr(export_module, "PARALLEL_MIN_ROWS", 1)  # workers even for this log
    result = export_module.export(log, tmp_path / "ds", workers=workers, chunk_rows=50)
    assert result.rows == len(ids) and result.watermark == ids[-1] > 10**12
    assert _dataset(tmp_path / "ds").column("id").to_pylist() == ids


def test_a_log_whose_index_misses_its_last_rows_is_refused(tmp_path: Path) -> None:
    """The highest id by seek and by full scan must agree, or "nothing new" would be a lie."""
    log = tmp_path / "calls.sqlite"
    simulate(1500, log, seed=6, start=START)
    with closing(sqlite3.connect(log)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'calls'").fetchone()[0]
    data = bytearray(log.read_bytes())
    # the root (an interior page) points right-most at its last child: point it at the first one
    at = (root - 1) * page + (100 if root == 1 else 0)
    assert data[at] == 0x05, "the calls table has a one-level tree; make the log larger"
    cells = int.from_bytes(data[at + 3 : at + 5], "big")
    first_cell = int.from_bytes(data[at + 12 : at + 14], "big")
    data[at + 8 : at + 12] = data[
        (root - 1) * page + first_cell : (root - 1) * page + first_cell + 4
    ]
    assert cells > 1
    log.write_bytes(bytes(data))
    with pytest.raises(export_module.ExportError, match="damaged call log: its highest id"):
        export_module.export(log, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
