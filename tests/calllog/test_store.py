"""The SQLite call log: durability settings, schema versions, commits, threads and processes."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from faceid_tools import __version__
from faceid_tools.calllog import schema
from faceid_tools.calllog.migrations import SchemaTooNewError
from faceid_tools.calllog.store import CallLog
from faceid_tools.errors import ValidationError


def _row(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "call_id": f"call-{i:06d}",
        "attempt": 1,
        "action": "GenerateReflectSequence",
        "region": "ap-singapore",
        "endpoint": "127.0.0.1:1",
        "security_level": "4",
        "started_at": f"2026-01-01T00:00:{i % 60:02d}.000000+00:00",
        "outcome": "ok",
        "latency_ms": 12.5,
        **extra,
    }


def _read(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_new_log_is_wal_versioned_and_has_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "calls.sqlite"
    with CallLog(path):
        pass
    assert _read(path, "PRAGMA journal_mode") == [("wal",)]
    assert _read(path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    columns = [r[1] for r in _read(path, "PRAGMA table_info(calls)")]
    assert tuple(columns) == schema.COLUMN_NAMES
    indexes = {r[0] for r in _read(path, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert indexes == {"calls_campaign_id"}


def test_version_1_log_is_migrated_to_the_lean_indexes(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(schema.create_table_sql())
    for name, column in (
        ("calls_call_id", "call_id"),
        ("calls_campaign", "campaign_id"),
        ("calls_started", "started_at"),
    ):
        conn.execute(f"CREATE INDEX {name} ON calls({column})")
    conn.execute("INSERT INTO calls (call_id, campaign_id) VALUES ('x', 'c1')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with CallLog(path):
        pass
    assert _read(path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    indexes = {r[0] for r in _read(path, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert indexes == {"calls_campaign_id"}
    plan = _read(path, "EXPLAIN QUERY PLAN SELECT id FROM calls WHERE campaign_id = 'c1'")
    assert "calls_campaign_id" in str(plan)
    assert _read(path, "SELECT call_id FROM calls") == [("x",)]


@pytest.mark.parametrize(("given", "pragma"), [("NORMAL", 1), ("FULL", 2), ("full", 2)])
def test_synchronous_normal_by_default_full_on_request(
    tmp_path: Path, given: str, pragma: int
) -> None:
    with CallLog(tmp_path / "c.sqlite", synchronous=given) as log, log.reading():
        assert log._connection().execute("PRAGMA synchronous").fetchone()[0] == pragma
    with CallLog(tmp_path / "d.sqlite") as log:
        assert log._connection().execute("PRAGMA synchronous").fetchone()[0] == 1


def test_synchronous_must_be_known(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        CallLog(tmp_path / "c.sqlite", synchronous="OFF")


def test_record_is_committed_before_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with CallLog(path) as log:
        first = log.record(_row(1))
        # another connection sees the row at once: it is committed, not pending in a transaction
        assert _read(path, "SELECT id, call_id FROM calls") == [(first, "call-000001")]
        second = log.record(_row(2))
        assert second == first + 1
        assert _read(path, "SELECT count(*) FROM calls") == [(2,)]


def test_record_fills_defaults_and_rejects_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with CallLog(path) as log:
        log.record(_row(1))
        with pytest.raises(ValueError, match="unknown column"):
            log.record({**_row(2), "secret_key": "x"})
    assert _read(path, "SELECT simulated, client_version, http_status FROM calls") == [
        (0, __version__, None)
    ]


_ROWS: list[dict[str, Any]] = [
    _row(1),
    # None where a value could be, a bool, the defaults' columns given as None
    {
        **_row(2),
        "campaign_id": None,
        "http_status": None,
        "seq_md5_ok": True,
        "simulated": None,
        "client_version": None,
    },
    # falsy values that are not NULL, and defaults overridden
    {**_row(3), "simulated": 1, "client_version": "9.9", "request_bytes": 0, "error_message": ""},
    {"call_id": "bare"},
    {},
]


_WITH_DEFAULTS = ("simulated", "client_version")


def _typed_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every written column of every row with its storage class (``id`` aside)."""
    cols = ", ".join(f"{c}, typeof({c})" for c in schema.INSERT_COLUMNS)
    return _read(path, f"SELECT {cols} FROM calls ORDER BY id")


def test_record_and_record_columns_write_the_rows_record_many_writes(tmp_path: Path) -> None:
    """The per-shape INSERT (values bound, the rest NULL) writes what the full-width INSERT of
    ``record_many`` writes: values, storage classes, NULLs and defaults."""
    paths = [tmp_path / f"{name}.sqlite" for name in ("record", "columns", "many")]
    with CallLog(paths[0]) as a, CallLog(paths[1]) as b, CallLog(paths[2]) as c:
        for row in _ROWS:
            a.record(row)
            # the fast form: a None is bound as NULL, a default column left out gets its default
            given = {k: v for k, v in row.items() if v is not None or k not in _WITH_DEFAULTS}
            b.record_columns(tuple(given), tuple(given.values()))
            c.record_many([row])
    written = _typed_rows(paths[2])
    assert len(written) == len(_ROWS)
    assert _typed_rows(paths[0]) == written
    assert _typed_rows(paths[1]) == written
    assert written[1][schema.INSERT_COLUMNS.index("seq_md5_ok") * 2 :][:2] == (1, "integer")


def test_record_columns_checks_the_names(tmp_path: Path) -> None:
    with CallLog(tmp_path / "c.sqlite") as log:
        with pytest.raises(ValidationError, match="unknown column"):
            log.record_columns(("call_id", "secret_key"), ("a", "x"))
        with pytest.raises(ValidationError, match="more than once"):
            log.record_columns(("call_id", "attempt", "call_id"), ("a", 1, "b"))
        with pytest.raises(ValidationError, match="unknown column"):
            log.record({"call_id": "a", "secret_key": None})  # a None does not hide it
        assert log.count() == 0


def test_many_shapes_of_row_are_all_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faceid_tools.calllog import store

    monkeypatch.setattr(store, "_MAX_SHAPES", 3)
    monkeypatch.setattr(store, "_SHAPES", {})
    names = schema.INSERT_COLUMNS[:10]
    with CallLog(tmp_path / "c.sqlite") as log:
        for i in range(1, 10):  # nine shapes through a cache of three
            log.record(dict.fromkeys(names[:i], "v") | {"call_id": f"c{i}"})
        assert log.count() == 9
        assert len(store._SHAPES) <= 3
    rows = _read(tmp_path / "c.sqlite", "SELECT call_id, attempt, action FROM calls ORDER BY id")
    assert rows[0] == ("c1", None, None) and rows[-1] == ("c9", "v", "v")


def test_record_many_takes_mappings_and_tuples_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    as_tuple = tuple(_row(7).get(c) for c in schema.INSERT_COLUMNS)
    with CallLog(path) as log:
        assert log.record_many([_row(i) for i in range(100)] + [as_tuple]) == 101
        assert log.count() == 101
        # a bad row in the middle: nothing of that batch is kept
        with pytest.raises(ValueError, match="values, expected"):
            log.record_many([_row(200), (1, 2, 3), _row(201)])
        assert log.count() == 101
        with pytest.raises(ValidationError):
            log.record_many([_row(300), 42])  # type: ignore[list-item]
        assert log.count() == 101
    ids = [r[0] for r in _read(path, "SELECT call_id FROM calls ORDER BY id")]
    assert ids[:3] == ["call-000000", "call-000001", "call-000002"]
    assert ids[-1] == "call-000007"


def test_record_many_writes_a_large_batch(tmp_path: Path) -> None:
    rows = [tuple(_row(i).get(c) for c in schema.INSERT_COLUMNS) for i in range(5_000)]
    with CallLog(tmp_path / "c.sqlite") as log:
        assert log.record_many(iter(rows)) == 5_000  # any iterable, a generator included
        assert log.count() == 5_000


def test_closed_log_refuses_writes(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "c.sqlite")
    log.close()
    log.close()  # idempotent
    assert log.closed
    with pytest.raises(ValueError, match="closed"):
        log.record(_row())


def test_memory_log(tmp_path: Path) -> None:
    with CallLog(":memory:") as log:
        log.record(_row())
        assert log.count() == 1


def test_migrates_an_unversioned_legacy_table(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT, action TEXT, "
        "region TEXT, started_at TEXT, outcome TEXT, latency_ms REAL)"
    )
    conn.execute(
        "INSERT INTO calls (call_id, action, region, started_at, outcome, latency_ms) "
        "VALUES ('old', 'GenerateReflectSequence', 'ap-bangkok', '2025-01-01T00:00:00+00:00', 'ok', 80.0)"
    )
    conn.commit()
    conn.close()
    assert _read(path, "PRAGMA user_version") == [(0,)]
    with CallLog(path) as log:
        log.record(_row(1))
    assert _read(path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    assert {r[1] for r in _read(path, "PRAGMA table_info(calls)")} == set(schema.COLUMN_NAMES)
    assert _read(path, "SELECT call_id, latency_ms FROM calls ORDER BY id") == [
        ("old", 80.0),
        ("call-000001", 12.5),
    ]


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with CallLog(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer"):
        CallLog(path)


def test_threads_share_one_log_without_losing_rows(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with CallLog(tmp_path / "c.sqlite") as log:

        def work(t: int) -> None:
            try:
                for i in range(150):
                    log.record(_row(t * 1000 + i))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        with log.reading() as conn:
            ids = {r[0] for r in conn.execute("SELECT call_id FROM calls")}
    assert ids == {f"call-{t * 1000 + i:06d}" for t in range(8) for i in range(150)}


def _writer(path: str, worker: int, start: Any, n: int) -> None:
    log = CallLog(path)
    start.wait(30)
    for i in range(n):
        log.record(_row(worker * 100_000 + i, campaign_id=f"w{worker}"))
    log.record_many([_row(worker * 100_000 + n + i, campaign_id=f"w{worker}") for i in range(n)])
    log.close()


def test_four_processes_write_at_once_without_loss_or_lock_errors(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"  # not created yet: the processes race to create it too
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    n = 250
    procs = [ctx.Process(target=_writer, args=(str(path), w, start, n)) for w in range(4)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    rows = _read(path, "SELECT campaign_id, call_id FROM calls")
    assert len(rows) == 4 * 2 * n
    for w in range(4):
        got = {c for camp, c in rows if camp == f"w{w}"}
        assert got == {f"call-{w * 100_000 + i:06d}" for i in range(2 * n)}
    assert _read(path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]


def _forked_write(log: CallLog) -> None:
    log.record(_row(99))


def test_a_log_carried_into_a_forked_child_reconnects(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with CallLog(path) as log:
        log.record(_row(1))
        p = mp.get_context("fork").Process(target=_forked_write, args=(log,))
        p.start()
        p.join(60)
        assert p.exitcode == 0
        log.record(_row(2))  # the parent's connection still works
        assert log.count() == 3


def test_a_file_that_is_not_sqlite_is_refused_naming_it(tmp_path: Path) -> None:
    from faceid_tools import FaceIDError
    from faceid_tools.errors import CallLogError

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not an SQLite file " * 40)
    with pytest.raises(CallLogError, match=str(junk)) as caught:
        CallLog(junk)
    assert isinstance(caught.value, FaceIDError) and isinstance(caught.value, ValueError)
    assert junk.read_bytes().startswith(b"this is not")  # left as it was
