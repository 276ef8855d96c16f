"""``export``: day partitions, incremental and idempotent runs, crash safety, corrupt input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import duckdb
import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest

from faceid_tools.calllog import export as export_module
from faceid_tools.calllog.export import ExportError, export
from faceid_tools.calllog.load import load_calls
from faceid_tools.calllog.parquet import STATE_FILE, dataset_files, load_parquet, read_state
from faceid_tools.calllog.store import CallLog
from faceid_tools.cli import main
from faceid_tools.simulate import simulate

from .conftest import START


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a dataset (but the lock) and its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != export_module.LOCK_FILE
    }


def test_round_trip_keeps_every_value_and_type(
    small_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module.convert, "ROW_GROUP_ROWS", 1500)
    out = tmp_path / "ds"
    result = export(small_log, out, chunk_rows=997)
    groups = [pq.ParquetFile(f).metadata.num_row_groups for f in dataset_files(out)]
    assert max(groups) > 1  # chunks are buffered into row groups of ~1,500 rows
    assert result.rows == result.total_rows == len(load_calls(small_log))
    pdt.assert_frame_equal(load_parquet(out), load_calls(small_log))
    assert load_calls(out).dtypes.equals(load_calls(small_log).dtypes)


def test_a_row_group_holds_one_dictionary_per_coded_column(small_log: Path, tmp_path: Path) -> None:
    """Chunks are dictionary-encoded one by one; a row group made of several of them still has
    one dictionary per category column, so no page falls back to PLAIN strings (which made
    ``action`` ~100x larger and the files ~2x slower to scan in DuckDB)."""
    out = tmp_path / "ds"
    export(small_log, out, chunk_rows=300)
    files = [str(f) for f in dataset_files(out)]
    con = duckdb.connect()
    chunks = con.execute(
        "SELECT path_in_schema, num_values, total_uncompressed_size, encodings, "
        "dictionary_page_offset FROM parquet_metadata(?) WHERE path_in_schema IN "
        "('action', 'region', 'security_level', 'outcome')",
        [files],
    ).fetchall()
    assert chunks and max(n for _, n, *_ in chunks) > 300  # row groups span several chunks
    for name, values, size, encodings, dictionary_at in chunks:
        assert dictionary_at is not None, name
        assert "RLE_DICTIONARY" in encodings, (name, encodings)
        # indices of a few bits each, not the PLAIN strings of a fallback (~20 bytes a value)
        assert size < values, (name, values, size)


def test_partitions_are_utc_days(small_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    export(small_log, out, chunk_rows=1000)
    days = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert days == ["day=2026-03-01", "day=2026-03-02", "day=2026-03-03"]
    for f in dataset_files(out):
        frame = pd.read_parquet(f)
        assert frame["started_at"].dt.strftime("%Y-%m-%d").unique().tolist() == [
            f.parent.name.removeprefix("day=")
        ]
        assert frame["id"].is_monotonic_increasing
    # DuckDB reads the hive layout and the schema's types
    files = [str(f) for f in dataset_files(out)]
    con = duckdb.connect()
    kinds = dict(
        con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning=true))",
            [files],
        ).fetchall()
    )
    assert kinds["started_at"] == "TIMESTAMP WITH TIME ZONE"
    assert kinds["day"] == "DATE" and kinds["attempt"] == "BIGINT"
    n = con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()
    assert n is not None and n[0] == len(load_calls(small_log))


def test_incremental_runs_add_only_new_rows(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    simulate(400, log, seed=1, start=START, rate=0.01)
    first = export(log, out)
    before = _snapshot(out)
    again = export(log, out)
    assert again.rows == 0 and again.files == () and _snapshot(out) == before
    simulate(300, log, seed=2, start="2026-03-02T12:00:00Z", rate=0.01)
    second = export(log, out)
    assert second.previous_watermark == first.watermark
    assert second.rows == len(load_calls(log)) - first.rows
    after = _snapshot(out)
    assert all(after[name] == data for name, data in before.items() if name != STATE_FILE)
    df = load_parquet(out)
    assert df["id"].is_unique and len(df) == second.total_rows
    pdt.assert_frame_equal(df, load_calls(log))
    state = read_state(out)
    assert state is not None and state["watermark"] == second.watermark
    assert [run["rows"] for run in state["runs"]] == [first.rows, second.rows]


def test_an_empty_log_exports_to_an_empty_dataset(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    CallLog(log).close()
    result = export(log, out)
    assert result.rows == 0
    df = load_parquet(out)
    assert df.empty and df.dtypes.equals(load_calls(log).dtypes)


def test_client_rows_with_missing_values_round_trip(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    with CallLog(log) as calls:
        calls.record(
            {
                "call_id": "a",
                "attempt": 1,
                "action": "CreateUploadUrl",
                "region": "ap-bangkok",
                "started_at": "2026-01-02T03:04:05.000006+00:00",
                "outcome": "timeout",
                "error_code": "Timeout",
                "latency_ms": 10000.0,
            }
        )
        calls.record(
            {
                "call_id": "b",
                "attempt": 2,
                "action": "GenerateReflectSequence",
                "region": "ap-tokyo",
                "security_level": "4",
                "outcome": "api_error",
                "started_at": "2026-01-02T23:59:59+08:00",
                "error_code": "UnsupportedRegion",
                "error_message": "The action not support this region.",
                "http_status": 200,
            }
        )
    export(log, out)
    pdt.assert_frame_equal(load_parquet(out), load_calls(log))
    # the raw value outside the fixed categories is kept in the Parquet file
    raw = pd.concat(pd.read_parquet(f) for f in dataset_files(out))
    assert "ap-tokyo" in set(raw["region"].astype(str))
    assert {f.parent.name for f in dataset_files(out)} == {"day=2026-01-02"}


def test_a_bad_value_names_the_row_and_leaves_the_dataset_unchanged(
    small_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    first = export(small_log, out)
    before = _snapshot(out)
    simulate(600, small_log, seed=3, start="2026-03-04T00:00:00Z")
    bad_id = first.watermark + 900  # in the second chunk of the next run
    with closing(sqlite3.connect(small_log)) as con, con:
        con.execute("UPDATE calls SET attempt = 'two' WHERE id = ?", (bad_id,))
    with pytest.raises(ExportError) as err:
        export(small_log, out, chunk_rows=500)
    message = str(err.value)
    assert str(small_log) in message and f"row id={bad_id}" in message and "attempt" in message
    assert _snapshot(out) == before  # nothing half-written, no temporary file left
    with closing(sqlite3.connect(small_log)) as con, con:
        con.execute("UPDATE calls SET attempt = 2 WHERE id = ?", (bad_id,))
    export(small_log, out, chunk_rows=500)
    pdt.assert_frame_equal(load_parquet(out), load_calls(small_log))


@pytest.mark.parametrize(
    ("column", "value"),
    [("latency_ms", "fast"), ("seq_size", 1.5), ("started_at", "not a time"), ("call_id", b"\xff")],
)
def test_values_that_do_not_fit_are_refused(tmp_path: Path, column: str, value: object) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    simulate(20, log, seed=1, start=START)
    with closing(sqlite3.connect(log)) as con, con:
        con.execute(f"UPDATE calls SET {column} = ? WHERE id = 7", (value,))
    with pytest.raises(ExportError, match=rf"row id=7: column {column}"):
        export(log, out)
    assert dataset_files(out) == []


def test_a_corrupt_sqlite_file_is_named(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    log.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(ExportError, match=r"calls\.sqlite: .*(not a database|readable)"):
        export(log, out)
    assert not out.exists()


def test_a_damaged_page_names_the_rows(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    simulate(3000, log, seed=1, start=START)
    with closing(sqlite3.connect(log)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = con.execute("PRAGMA page_size").fetchone()[0]
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(log.read_bytes())
    at = page * (pages // 3)  # a leaf page of the table, a third of the way in
    data[at : at + page] = b"\x0d" + b"\xff" * (page - 1)
    log.write_bytes(bytes(data))
    with pytest.raises(ExportError) as err:
        export(log, out, chunk_rows=500)
    message = str(err.value)
    assert str(log) in message
    assert any(why in message for why in ("rows with id", "malformed", "damaged call log"))
    assert not out.exists() or dataset_files(out) == []


def test_a_dataset_refuses_another_log(small_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    export(small_log, out)
    other = tmp_path / "other.sqlite"
    simulate(10, other, seed=99, start=START)
    with pytest.raises(ExportError, match="another log"):
        export(other, out)


def _append(log: Path, first: int, n: int) -> None:
    with CallLog(log) as calls:
        for i in range(first, first + n):
            calls.record(
                {
                    "call_id": f"call-{i}",
                    "attempt": 1,
                    "action": "GenerateReflectSequence",
                    "started_at": f"2026-01-02T03:04:{i % 60:02d}.000000+00:00",
                    "outcome": "ok",
                }
            )


def _delete_above(log: Path, last_kept: int) -> None:
    with closing(sqlite3.connect(log)) as con, con:
        con.execute("DELETE FROM calls WHERE id > ?", (last_kept,))


@pytest.mark.parametrize("added", [3, 5], ids=["back-to-the-watermark", "past-the-watermark"])
def test_ids_given_again_after_deleting_the_newest_rows_are_refused(
    tmp_path: Path, added: int
) -> None:
    """New logs number rows max(id) + 1: deleting the newest rows by hand hands their ids to the
    next rows.  An export by id would skip those at or below its watermark; it refuses instead."""
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    _append(log, 0, 10)
    assert export(log, out).watermark == 10
    before = _snapshot(out)
    _delete_above(log, 7)
    _append(log, 100, added)  # ids 8, 9, 10 (and 11, 12) again, other rows
    with pytest.raises(ExportError, match=r"id 10, the last one exported.*no longer"):
        export(log, out)
    assert _snapshot(out) == before


def test_rows_deleted_without_reuse_do_not_stop_the_export(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    _append(log, 0, 10)
    export(log, out)
    with closing(sqlite3.connect(log)) as con, con:
        con.execute("DELETE FROM calls WHERE id IN (3, 4)")  # exported rows, ids not reused
    _append(log, 10, 4)
    result = export(log, out)
    assert (result.previous_watermark, result.watermark, result.rows) == (10, 14, 4)
    state = read_state(out)
    assert state is not None and state["watermark_fingerprint"] is not None


def test_a_state_from_before_the_watermark_check_still_exports(tmp_path: Path) -> None:
    log, out = tmp_path / "calls.sqlite", tmp_path / "ds"
    _append(log, 0, 5)
    export(log, out)
    state = json.loads((out / STATE_FILE).read_text())
    del state["watermark_fingerprint"]
    (out / STATE_FILE).write_text(json.dumps(state))
    _append(log, 5, 2)
    assert export(log, out).rows == 2
    _delete_above(log, 6)  # the watermark row (7) is recorded again by that run
    _append(log, 50, 1)
    with pytest.raises(ExportError, match="no longer"):
        export(log, out)


def test_a_foreign_folder_is_refused(small_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    (out / "x").mkdir(parents=True)
    pd.DataFrame({"a": [1]}).to_parquet(out / "x" / "data.parquet")
    with pytest.raises(ExportError, match="not written by export"):
        export(small_log, out)


_CRASH = textwrap.dedent(
    """
    import os, sys
    from faceid_tools.calllog import export as ex
    real = os.replace
    renamed = []
    def crashing_replace(src, dst):
        real(src, dst)
        if not str(dst).endswith(".parquet"):
            return
        renamed.append(dst)
        if len(renamed) == int(sys.argv[3]):
            os._exit(17)  # the process dies: no cleanup, no state written
    ex.os.replace = crashing_replace
    ex.export(sys.argv[1], sys.argv[2], chunk_rows=400)
    """
)


@pytest.mark.parametrize("renames_before_crash", [1, 2])
def test_a_crash_mid_commit_leaves_no_partial_or_duplicate_rows(
    small_log: Path, tmp_path: Path, renames_before_crash: int
) -> None:
    out = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, str(small_log), str(out), str(renames_before_crash)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 17, proc.stderr
    # a renamed part is on disk, but nothing is committed: readers see an empty dataset
    assert len(list(out.rglob("part-*.parquet"))) == renames_before_crash
    state = read_state(out)
    assert state is not None and state["watermark"] == 0 and dataset_files(out) == []
    assert load_parquet(out).empty
    result = export(small_log, out)  # the next run cleans up and exports everything once
    assert not list(out.rglob(".*.tmp"))
    assert len(list(out.rglob("part-*.parquet"))) == len(result.files)
    pdt.assert_frame_equal(load_parquet(out), load_calls(small_log))


def test_a_crash_after_an_earlier_commit_keeps_that_commit(small_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    first = export(small_log, out)
    committed = load_parquet(out)
    simulate(800, small_log, seed=5, start="2026-03-05T23:00:00Z", rate=0.05)
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, str(small_log), str(out), "1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 17, proc.stderr
    pdt.assert_frame_equal(load_parquet(out), committed)
    result = export(small_log, out)
    assert result.previous_watermark == first.watermark
    pdt.assert_frame_equal(load_parquet(out), load_calls(small_log))


def test_a_second_concurrent_export_is_refused(small_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    with export_module._locked(out), pytest.raises(ExportError, match="another export"):
        export(small_log, out)


def test_parallel_workers_write_the_same_dataset(
    small_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "PARALLEL_MIN_ROWS", 1000)
    out = tmp_path / "ds"
    result = export(small_log, out, workers=2, chunk_rows=700)
    assert len({f.name for f in result.files}) == len(result.files) > 3  # 4 tasks × days
    pdt.assert_frame_equal(load_parquet(out), load_calls(small_log))


def test_cli_export(small_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    argv = ["export", "--log", str(small_log), "--out", str(out)]
    assert main(argv) == 0
    assert "added" in capsys.readouterr().out
    assert main(argv) == 0
    assert "up to date" in capsys.readouterr().out
    state = json.loads((out / STATE_FILE).read_text())
    assert state["rows"] == len(load_calls(small_log))
    assert main(["export", "--log", str(tmp_path / "nope.sqlite"), "--out", str(out)]) == 2
    assert "nope.sqlite" in capsys.readouterr().err


def test_a_worker_error_names_the_row_and_commits_nothing(
    small_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "PARALLEL_MIN_ROWS", 1000)
    with closing(sqlite3.connect(small_log)) as con, con:
        con.execute("UPDATE calls SET latency_ms = 'slow' WHERE id = 5000")
    out = tmp_path / "ds"
    with pytest.raises(ExportError, match=r"row id=5000: column latency_ms"):
        export(small_log, out, workers=2, chunk_rows=700)
    assert dataset_files(out) == [] and not list(out.rglob("*.parquet*"))


def test_workers_start_from_a_script_without_a_main_guard(small_log: Path, tmp_path: Path) -> None:
    """Workers are fresh interpreters: the caller's script is not re-run in them."""
    script = tmp_path / "nightly_export.py"
    out = tmp_path / "ds"
    script.write_text(
        "from faceid_tools.calllog import export as ex\n"
        "ex.PARALLEL_MIN_ROWS = 1000\n"
        f"r = ex.export({str(small_log)!r}, {str(out)!r}, workers=2, chunk_rows=700)\n"
        "print('exported', r.rows, len(r.files))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("exported") == 1
    pdt.assert_frame_equal(load_parquet(out), load_calls(small_log))
