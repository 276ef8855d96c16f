"""``export``: the SQLite call log to a Parquet dataset partitioned by day, incrementally.

* **Incremental**: rows are exported in ``id`` order up to a watermark kept in the dataset's
  ``_export_state.json``; a re-run exports only rows above it, so nothing is duplicated.  The state
  also holds a fingerprint of the log's first row: exporting a different log into the same
  dataset is refused.
* **Crash-safe**: new files are written under hidden temporary names (``.<tag>.parquet.tmp``),
  fsynced, renamed to ``day=YYYY-MM-DD/part-<first id>-<last id>.parquet``, and only then committed
  by atomically replacing the state file.  Readers use the files the state lists
  (:func:`faceid_tools.calllog.parquet.dataset_files`); whatever an interrupted run left behind is
  removed by the next one.  An error (a corrupt log, a row that does not fit its column's type)
  leaves the dataset as it was.  The state records each file's size and footer digest, which
  readers check (Parquet's page CRCs do not cover the footer).
* **Bounded memory, in parallel**: the log is read in chunks of ``chunk_rows`` rows by ``id``
  range and each chunk is written as a row group, so memory does not grow with the log.  Large
  exports split the id range between ``workers`` processes (each reads its own ranges through
  its own read-only connection).
* **Two readers, one result**: a chunk is read straight into Arrow by the ADBC SQLite driver
  (no Python object per value: about twice as fast).  A chunk holding any value of an
  unexpected storage class (text in an INTEGER column, a BLOB, invalid UTF-8, a timestamp Arrow
  cannot parse) is read again row by row through ``sqlite3``, which converts it exactly as
  before or names the row that does not fit.  Both paths write identical files.
* **Types**: those of :func:`faceid_tools.calllog.parquet.arrow_schema` — the types ``load_calls``
  gives (UTC timestamps, dictionary-encoded categoricals, nullable integers).  Category values
  are kept as written (lossless); ``load_calls`` / ``load_parquet`` decide what fits.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import FaceIDError
from .parquet import (
    NULL_PARTITION,
    PARTITION,
    STATE_FILE,
    STATE_FORMAT,
    ParquetDatasetError,
    arrow_schema,
    footer_digest,
    read_state,
)
from .schema import COLUMNS

__all__ = ["ExportError", "ExportResult", "export"]

log = logging.getLogger(__name__)

#: Rows read from SQLite at a time: as Python objects they take ~2 KiB each, so this bounds memory.
CHUNK_ROWS = 10_000
#: Rows per Parquet row group (chunks are buffered as compact Arrow tables until then).
ROW_GROUP_ROWS = 50_000
#: Below this many new rows the export runs in-process (starting workers costs ~1 s).
PARALLEL_MIN_ROWS = 1_000_000
LOCK_FILE = "_export.lock"
_PART = re.compile(r"^part-\d+-\d+\.parquet$")
_TMP_SUFFIX = ".parquet.tmp"
#: Low-cardinality text columns worth Parquet dictionary encoding (the rest are mostly unique).
_DICTIONARY_COLUMNS = [
    c.name
    for c in COLUMNS
    if c.kind == "category"
    or c.name
    in {
        "campaign_id",
        "endpoint",
        "error_code",
        "error_message",
        "client_version",
        "device_data_url",
        "device_data_md5",
        "seq_format",
    }
]


#: Columns with min/max statistics per row group (what readers filter on); long unique strings
#: (URLs, hashes, messages) would only cost time to compute statistics for.
_STATISTICS_COLUMNS = [
    "id",
    "call_id",
    "attempt",
    "campaign_id",
    "action",
    "region",
    "endpoint",
    "security_level",
    "started_at",
    "latency_ms",
    "http_status",
    "outcome",
    "error_code",
    "simulated",
    "seq_md5_ok",
    "seq_level",
]


class ExportError(FaceIDError, RuntimeError):
    """The export cannot proceed; the message names the file (and the row, for bad data)."""


@dataclass(frozen=True)
class ExportResult:
    """What one export run added."""

    out_dir: Path
    rows: int  #: rows added by this run
    files: tuple[Path, ...]  #: files added by this run
    watermark: int  #: highest ``id`` in the dataset after this run
    previous_watermark: int
    total_rows: int  #: rows in the dataset after this run
    seconds: float


@dataclass(frozen=True)
class _Task:
    db: str
    out_dir: str
    lo: int  # exclusive
    hi: int  # inclusive
    chunk_rows: int
    tag: str
    columns: tuple[str, ...]  # the schema columns present in the log's table


@dataclass
class _Part:
    day: str
    tmp: str  # path relative to the dataset
    rows: int = 0
    min_id: int = 0
    max_id: int = 0
    digest: dict[str, Any] = field(default_factory=dict)  #: size and footer SHA-256 once closed
    writer: Any = field(default=None, repr=False)
    pending: list[pa.Table] = field(default_factory=list, repr=False)
    pending_rows: int = 0

    def flush(self) -> None:
        """Write the buffered rows as one row group."""
        if self.pending:
            self.writer.write_table(
                pa.concat_tables(self.pending), row_group_size=self.pending_rows
            )
            self.pending, self.pending_rows = [], 0


def export(
    sqlite_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> ExportResult:
    """Add the rows of the call log ``sqlite_path`` not yet in the dataset ``out_dir``.

    ``workers``: processes for large exports (default: the CPU count, at most 4; 1 keeps
    everything in this process).  Raises :class:`ExportError` naming the file (and row id) on a
    corrupt log or a value that does not fit its column; the dataset is then left unchanged.
    """
    t0 = time.perf_counter()
    src = Path(sqlite_path)
    out = Path(out_dir)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if not src.is_file():
        raise ExportError(f"{src}: no call log there")
    columns, hi, fingerprint = _inspect(src)  # rows above ``hi`` wait for the next run
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        try:
            state = read_state(out)
        except ParquetDatasetError as exc:
            raise ExportError(str(exc)) from None
        _recover(out, state)
        if state is None:  # from now on readers go by the state, never by a glob
            state = _new_state(src)
            _write_state(out, state)
        lo = int(state["watermark"])
        if state.get("source_fingerprint") not in (None, fingerprint):
            raise ExportError(
                f"{out}: this dataset was exported from another log ({state.get('source')}); "
                f"export {src} into a new folder"
            )
        if hi < lo:
            raise ExportError(
                f"{src}: its last row id {hi} is below the dataset's watermark {lo}; "
                f"was the log replaced? Export it into a new folder"
            )
        if hi == lo:
            log.info("export: %s has no rows above id %d", src, lo)
            return ExportResult(out, 0, (), lo, lo, int(state["rows"]), time.perf_counter() - t0)
        tag = uuid.uuid4().hex[:12]
        tasks = _plan(src, out, lo, hi, chunk_rows, tag, columns, workers)
        log.info("export: %s ids %d..%d -> %s in %d task(s)", src, lo + 1, hi, out, len(tasks))
        try:
            parts = _run(tasks)
            _check_complete(src, lo, hi, sum(p.rows for p in parts))
            files = _commit(out, state, parts, src, fingerprint, hi)
        except BaseException:
            _remove_tmp(out, tag)
            raise
    added = sum(p.rows for p in parts)
    result = ExportResult(
        out, added, tuple(files), hi, lo, int(state["rows"]), time.perf_counter() - t0
    )
    log.info("export: %d rows in %d files, %.1f s", added, len(files), result.seconds)
    return result


# --- the dataset's bookkeeping ------------------------------------------------------------------


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One export at a time per dataset (an advisory lock; a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(out / LOCK_FILE, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError(f"{out}: another export is writing this dataset") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_state(src: Path) -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "source": str(src.resolve()),
        "source_fingerprint": None,
        "watermark": 0,
        "rows": 0,
        "files": [],
        "runs": [],
    }


def _recover(out: Path, state: dict[str, Any] | None) -> None:
    """Remove what an interrupted export left: temporary files and uncommitted parts."""
    committed = {entry["path"] for entry in state["files"]} if state else set()
    foreign = []
    for p in out.rglob("*"):
        if not p.is_file():
            continue
        rel = p.relative_to(out).as_posix()
        if p.name.endswith(_TMP_SUFFIX) and p.name.startswith("."):
            log.warning("export: removing temporary file %s of an interrupted export", p)
            p.unlink()
        elif _PART.match(p.name) and p.parent.name.startswith(f"{PARTITION}="):
            if rel not in committed:
                log.warning("export: removing uncommitted part %s of an interrupted export", p)
                p.unlink()
        elif p.suffix == ".parquet" and state is None:
            foreign.append(rel)
    if foreign:
        raise ExportError(
            f"{out}: holds Parquet files not written by export (e.g. {foreign[0]}); "
            f"export into an empty folder"
        )


def _remove_tmp(out: Path, tag: str) -> None:
    for p in out.rglob(f".{tag}-*{_TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            p.unlink()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _commit(
    out: Path,
    state: dict[str, Any],
    parts: Sequence[_Part],
    src: Path,
    fingerprint: str | None,
    hi: int,
) -> list[Path]:
    """Rename the new parts into place, then atomically replace the state (the commit point)."""
    files: list[Path] = []
    entries = []
    for part in sorted(parts, key=lambda p: p.min_id):
        tmp = out / part.tmp
        final = tmp.parent / f"part-{part.min_id:012d}-{part.max_id:012d}.parquet"
        if final.exists():
            raise ExportError(f"{final}: already exists; the dataset's state is inconsistent")
        os.replace(tmp, final)
        files.append(final)
        entries.append(
            {
                "path": final.relative_to(out).as_posix(),
                "rows": part.rows,
                "min_id": part.min_id,
                "max_id": part.max_id,
                **part.digest,
            }
        )
    for d in {f.parent for f in files}:
        _fsync_dir(d)
    added = sum(p.rows for p in parts)
    state.update(
        source=str(src.resolve()),
        source_fingerprint=fingerprint,
        watermark=hi,
        rows=int(state["rows"]) + added,
        files=[*state["files"], *entries],
    )
    state["runs"] = [
        *state.get("runs", [])[-99:],
        {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "from_id": int(min((p.min_id for p in parts), default=hi)),
            "to_id": hi,
            "rows": added,
        },
    ]
    _write_state(out, state)
    return files


def _write_state(out: Path, state: dict[str, Any]) -> None:
    """Atomically replace the state file (fsynced before and after the rename)."""
    tmp_state = out / f".{STATE_FILE}.tmp"
    with open(tmp_state, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp_state, out / STATE_FILE)
    _fsync_dir(out)


# --- reading the log ----------------------------------------------------------------------------


def _connect(db: str) -> sqlite3.Connection:
    """A read-only connection (never creates or modifies the log)."""
    uri = Path(db).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=60.0)


def _inspect(src: Path) -> tuple[tuple[str, ...], int, str | None]:
    """The schema columns the log has, its highest id, and the fingerprint of its first row."""
    try:
        con = _connect(str(src))
    except sqlite3.Error as exc:
        raise ExportError(f"{src}: cannot open the call log ({exc})") from None
    try:
        have = {row[1] for row in con.execute("PRAGMA table_info(calls)")}
        if not have:
            raise ExportError(f"{src}: not a call log (no 'calls' table)")
        if "id" not in have or "started_at" not in have:
            raise ExportError(f"{src}: the calls table lacks 'id' or 'started_at'")
        con.execute("BEGIN")  # one snapshot for both maxima, however the log grows meanwhile
        hi = con.execute("SELECT max(id) FROM calls").fetchone()[0] or 0
        # ``+id`` turns the index seek off: a damaged table whose seek misses its last pages
        # would otherwise look shorter than it is (and export "nothing new")
        scanned = con.execute("SELECT max(+id) FROM calls").fetchone()[0] or 0
        con.execute("COMMIT")
        if scanned != hi:
            raise ExportError(
                f"{src}: damaged call log: its highest id is {scanned} by a full scan but {hi} "
                f"by its index; nothing was exported (check it with PRAGMA integrity_check)"
            )
        first = con.execute("SELECT id, call_id, started_at FROM calls ORDER BY id LIMIT 1")
        row = first.fetchone()
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{src}: not a readable SQLite call log ({exc})") from None
    finally:
        con.close()
    fingerprint = (
        hashlib.sha256(json.dumps(list(row), default=str).encode()).hexdigest()[:32]
        if row is not None
        else None
    )
    return tuple(c.name for c in COLUMNS if c.name in have), int(hi), fingerprint


def _check_complete(src: Path, lo: int, hi: int, read: int) -> None:
    """Refuse a damaged log whose reads by id range skipped rows.

    A table page left out of order (overwritten bytes) makes SQLite's rowid seeks miss rows that a
    plain scan still walks over.  ``+id`` turns the seek off, so this count is a full scan.
    """
    try:
        con = _connect(str(src))
        try:
            (scanned,) = con.execute(
                "SELECT count(*) FROM calls WHERE +id > ? AND +id <= ?", (lo, hi)
            ).fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{src}: not a readable SQLite call log ({exc})") from None
    if scanned != read:
        raise ExportError(
            f"{src}: damaged call log: a full scan finds {scanned} rows with ids {lo + 1}..{hi} "
            f"but reading them by id finds {read}; nothing was exported "
            f"(check it with PRAGMA integrity_check)"
        )


def _plan(
    src: Path,
    out: Path,
    lo: int,
    hi: int,
    chunk_rows: int,
    tag: str,
    columns: tuple[str, ...],
    workers: int | None,
) -> list[_Task]:
    """Split ids ``(lo, hi]`` into tasks: one in-process, or two per worker process."""
    n_workers = min(4, os.cpu_count() or 1) if workers is None else max(1, workers)
    n_tasks = 1 if n_workers == 1 or hi - lo < PARALLEL_MIN_ROWS else 2 * n_workers
    bounds = np.linspace(lo, hi, n_tasks + 1).round().astype(np.int64)
    return [
        _Task(str(src), str(out), int(a), int(b), chunk_rows, tag, columns)
        for a, b in itertools.pairwise(bounds.tolist())
        if b > a
    ]


def _run(tasks: Sequence[_Task]) -> list[_Part]:
    """Run the tasks: in this process if there is one, else each in a worker process.

    Workers are fresh interpreters started with ``python -c`` (not multiprocessing): nothing of
    the caller's ``__main__`` is re-imported and no forked state (threads, locks) is inherited.
    """
    if len(tasks) == 1:
        return _export_range(tasks[0])
    workers = max(1, len(tasks) // 2)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export-worker")
    try:
        futures = [pool.submit(_run_in_worker, task) for task in tasks]
        return [part for future in futures for part in future.result()]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_WORKER = "from faceid_tools.calllog.export import _worker_main; _worker_main()"


def _run_in_worker(task: _Task) -> list[_Part]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER],
        input=json.dumps(asdict(task)),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except ValueError:
        answer = {}
    if proc.returncode != 0 or "parts" not in answer:
        why = answer.get("error") or (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(
            why
            if "error" in answer
            else f"{task.db}: export worker for ids {task.lo + 1}.."
            f"{task.hi} failed (exit {proc.returncode}): {why}"
        )
    return [_Part(**part) for part in answer["parts"]]


def _worker_main() -> None:
    """Entry point of a worker process: a task as JSON on stdin, its parts as JSON on stdout."""
    raw = json.loads(sys.stdin.read())
    task = _Task(**{**raw, "columns": tuple(raw["columns"])})
    try:
        parts = _export_range(task)
    except ExportError as exc:
        print(json.dumps({"error": str(exc)}))
        raise SystemExit(1) from None
    fields = ("day", "tmp", "rows", "min_id", "max_id", "digest")
    print(json.dumps({"parts": [{f: getattr(p, f) for f in fields} for p in parts]}))


def _export_range(task: _Task) -> list[_Part]:
    """Export ids ``(task.lo, task.hi]`` into temporary per-day files; return them."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived tuples: the cyclic collector only costs time here
    parts: dict[str, _Part] = {}
    try:
        select = f"SELECT {', '.join(task.columns)} FROM calls WHERE id > ? AND id <= ? ORDER BY id"
        with _ArrowReader(task.db, select, task.chunk_rows) as fast, _RowReader(task.db) as slow:
            start = task.lo
            while start < task.hi:
                stop = min(start + task.chunk_rows, task.hi)
                table = _from_arrow(fast.read(start, stop), task)
                if table is None:  # a value of an unexpected type: the exact path decides
                    rows = slow.read(select, start, stop)
                    table = _to_table(rows, task) if rows else None
                if table is not None and table.num_rows:
                    _write_chunk(table, task, parts)
                    start = stop
                else:  # a gap in the ids (a damaged log can claim ids up to 2**63): skip it
                    start = slow.last_id_before_next(stop, task.hi)
        for part in parts.values():
            part.flush()
            part.writer.close()
            part.writer = None
            _fsync_file(Path(task.out_dir) / part.tmp)
            part.digest = footer_digest(Path(task.out_dir) / part.tmp)
    except BaseException:
        for part in parts.values():
            if part.writer is not None:
                with contextlib.suppress(Exception):
                    part.writer.close()
        raise
    finally:
        if gc_was_enabled:
            gc.enable()
    return list(parts.values())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _RowReader:
    """The exact path: rows as Python tuples through ``sqlite3`` (opened on first use)."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.con: sqlite3.Connection | None = None

    def __enter__(self) -> _RowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()

    def _connection(self) -> sqlite3.Connection:
        if self.con is None:
            self.con = _connect(self.db)
        return self.con

    def read(self, select: str, start: int, stop: int) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(select, (start, stop)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ExportError(
                f"{self.db}: cannot read rows with id {start + 1}..{stop} ({exc})"
            ) from None

    def last_id_before_next(self, after: int, hi: int) -> int:
        """Where to go on after an empty id range: just below the next id up to ``hi``, or ``hi``."""
        try:
            (next_id,) = (
                self._connection()
                .execute("SELECT min(id) FROM calls WHERE id > ? AND id <= ?", (after, hi))
                .fetchone()
            )
        except sqlite3.DatabaseError as exc:
            raise ExportError(f"{self.db}: cannot read ids above {after} ({exc})") from None
        return hi if next_id is None else max(after, int(next_id) - 1)


class _ArrowReader:
    """The fast path: a chunk straight into Arrow through the ADBC SQLite driver (in C).

    It types each column from the values in the chunk (one batch per chunk), so a column with a
    value of another storage class comes back as another type and :func:`_from_arrow` hands the
    chunk to the exact path.  ``read`` returns None when the driver is missing or fails.
    """

    def __init__(self, db: str, select: str, chunk_rows: int) -> None:
        self.select = select
        self.options = {"adbc.sqlite.query.batch_rows": str(max(chunk_rows, 1))}
        self.con: Any = None
        try:
            import adbc_driver_sqlite.dbapi as adbc
        except ImportError:  # pragma: no cover - a dependency; without it every chunk is exact
            log.info("export: adbc-driver-sqlite is not installed; reading rows through sqlite3")
            return
        try:
            self.con = adbc.connect(Path(db).resolve().as_uri() + "?mode=ro")
        except Exception as exc:  # the exact path reports why the log cannot be opened
            log.debug("export: ADBC cannot open %s (%s)", db, exc)

    def __enter__(self) -> _ArrowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            with contextlib.suppress(Exception):
                self.con.close()

    def read(self, start: int, stop: int) -> pa.Table | None:
        if self.con is None:
            return None
        try:
            with self.con.cursor() as cur:
                cur.adbc_statement.set_options(**self.options)
                cur.execute(self.select, (start, stop))
                return cur.fetch_arrow_table()
        except Exception as exc:  # any failure: the exact path reads the chunk (and explains)
            log.debug("export: ADBC read of ids %d..%d failed (%s)", start + 1, stop, exc)
            return None


# --- converting and writing ---------------------------------------------------------------------

_SCHEMA = arrow_schema()
_KIND = {c.name: c.kind for c in COLUMNS}


def _to_table(rows: list[tuple[Any, ...]], task: _Task) -> pa.Table:
    """One chunk of log rows as an Arrow table of the export schema; bad values raise."""
    values = dict(zip(task.columns, zip(*rows, strict=True), strict=True))
    ids = values["id"]
    arrays = []
    for fld in _SCHEMA:
        column = values.get(fld.name)
        if column is None:
            arrays.append(pa.nulls(len(rows), fld.type))
            continue
        try:
            arrays.append(_convert(column, _KIND[fld.name]))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            at = _first_bad(column, _KIND[fld.name])
            where = f"row id={ids[at]}" if at is not None else f"rows id {ids[0]}..{ids[-1]}"
            shown = repr(column[at])[:80] if at is not None else "?"
            raise ExportError(
                f"{task.db}: {where}: column {fld.name} ({_KIND[fld.name]}) cannot hold "
                f"{shown} ({type(exc).__name__})"
            ) from None
    if arrays[0].null_count:
        raise ExportError(f"{task.db}: rows id {ids[0]}..{ids[-1]}: a row has no id")
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)


def _convert(column: tuple[Any, ...], kind: str) -> pa.Array:
    if kind == "int":
        return _integers(column)
    if kind == "float":
        return pa.array(column, pa.float64())
    if kind == "str":
        return _strings(column)
    if kind == "bool":
        return pc.not_equal(_integers(column), 0)
    if kind == "category":
        return _strings(column).dictionary_encode()
    if kind == "time":
        return _timestamps(column)
    raise ValueError(f"unknown column kind {kind!r}")


def _integers(column: tuple[Any, ...]) -> pa.Array:
    # inferred, not forced: pyarrow would truncate a REAL like 1.5 to 1 when told "int64"
    array = pa.array(column)
    if array.type == pa.int64():
        return array
    if array.type == pa.null():
        return pa.nulls(len(array), pa.int64())
    raise TypeError(f"not an integer column ({array.type})")


def _strings(column: tuple[Any, ...]) -> pa.Array:
    return pa.array(column, pa.string())


def _timestamps(column: tuple[Any, ...]) -> pa.Array:
    text = _strings(column)
    try:
        return pc.cast(text, _SCHEMA.field("started_at").type)
    except pa.ArrowInvalid:
        # other ISO-8601 spellings (naive = UTC, a date alone, ...) as load_calls reads them
        import pandas as pd  # only here: workers stay ~40 MiB lighter without it

        parsed = pd.to_datetime(pd.Series(column, dtype=object), utc=True, format="ISO8601")
        return pa.array(parsed.dt.as_unit("us"), _SCHEMA.field("started_at").type)


#: The Arrow type the ADBC driver gives a column whose values all have the expected storage class.
_READ_TYPE = {
    "int": pa.int64(),
    "bool": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "category": pa.string(),
    "time": pa.string(),
}


def _from_arrow(read: pa.Table | None, task: _Task) -> pa.Table | None:
    """A chunk read by ADBC as a table of the export schema, or None to use the exact path.

    Only a column of exactly the expected type (or all NULL) is taken; strings must be valid
    UTF-8.  Anything else (text in an INTEGER column, a REAL where an integer belongs, a BLOB,
    a timestamp ``pc.cast`` cannot parse) goes to the exact path, which converts or names the row.
    """
    if read is None:
        return None
    arrays = []
    try:
        for fld in _SCHEMA:
            kind = _KIND[fld.name]
            if fld.name not in task.columns:
                arrays.append(pa.nulls(read.num_rows, fld.type))
                continue
            column = read.column(fld.name).combine_chunks()
            if column.null_count == len(column):
                arrays.append(pa.nulls(len(column), fld.type))
                continue
            if column.type != _READ_TYPE[kind]:
                return None
            if column.type == pa.string():
                column.validate(full=True)  # the driver copies bytes; invalid UTF-8 is refused
            if kind == "bool":
                column = pc.not_equal(column, 0)
            elif kind == "category":
                column = column.dictionary_encode()
            elif kind == "time":
                column = pc.cast(column, fld.type)
            arrays.append(column)
        if arrays[0].null_count:
            return None
        return pa.Table.from_arrays(arrays, schema=_SCHEMA)
    except (pa.ArrowException, ValueError):
        return None


def _first_bad(column: tuple[Any, ...], kind: str) -> int | None:
    """Index of the first value that does not convert on its own (to name it in the error)."""
    for i, value in enumerate(column):
        if value is None:
            continue
        try:
            _convert((value,), kind)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return i
    return None


def _write_chunk(table: pa.Table, task: _Task, parts: dict[str, _Part]) -> None:
    """Append ``table``'s rows to the temporary file of their UTC day."""
    days = pc.cast(pc.cast(table.column("started_at"), pa.date32()), pa.int32())
    numbers = days.fill_null(-1).to_numpy()
    distinct = np.unique(numbers)
    for number in distinct:
        sub = table if len(distinct) == 1 else table.filter(numbers == number)
        day = NULL_PARTITION if number < 0 else str(np.datetime64(int(number), "D"))
        part = parts.get(day)
        if part is None:
            folder = Path(task.out_dir) / f"{PARTITION}={day}"
            folder.mkdir(exist_ok=True)
            rel = f"{PARTITION}={day}/.{task.tag}-{task.lo}-{len(parts)}{_TMP_SUFFIX}"
            part = parts[day] = _Part(day, rel)
            part.writer = pq.ParquetWriter(
                Path(task.out_dir) / rel,
                _SCHEMA,
                compression="zstd",
                use_dictionary=_DICTIONARY_COLUMNS,
                write_statistics=_STATISTICS_COLUMNS,
                write_page_checksum=True,  # a damaged page is detected, not read as data
            )
        ids = sub.column("id")
        first, last = int(ids[0].as_py()), int(ids[-1].as_py())
        part.min_id = first if part.rows == 0 else min(part.min_id, first)
        part.max_id = max(part.max_id, last)
        part.rows += sub.num_rows
        part.pending.append(sub)
        part.pending_rows += sub.num_rows
        if part.pending_rows >= ROW_GROUP_ROWS:
            part.flush()
