"""``export``: the SQLite call log to a Parquet dataset partitioned by day, incrementally.

* **Incremental**: rows are exported in ``id`` order up to a watermark kept in the dataset's
  ``_export_state.json``; a re-run exports only rows above it, so nothing is duplicated.  The state
  also holds a fingerprint of the log's first row: exporting a different log into the same
  dataset is refused; and one of the row at the watermark: a log whose newest rows were deleted
  by hand and their ids given to new rows (new logs number rows ``max(id) + 1``) is refused
  rather than exported with those rows skipped.
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

The rooms: this module plans and runs the work (in-process or in worker processes);
:mod:`.state` keeps the dataset's bookkeeping and commits; :mod:`.read` reads the log;
:mod:`.convert` turns chunks into the dataset's schema and writes them.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..parquet import ParquetDatasetError, footer_digest, read_state
from .convert import _SCHEMA, _first_bad, _from_arrow, _to_table, _write_chunk
from .parts import ExportError, _Part, _Task
from .read import (
    _ArrowReader,
    _check_complete,
    _connect,
    _inspect,
    _row_fingerprint,
    _RowReader,
)
from .state import (
    LOCK_FILE,
    _commit,
    _fsync_file,
    _locked,
    _new_state,
    _recover,
    _remove_tmp,
    _write_state,
)

__all__ = ["ExportError", "ExportResult", "export"]
#: Names the tests and workers reach for (the rooms are ``state``, ``read`` and ``convert``).
_REEXPORTED = (
    LOCK_FILE,
    _SCHEMA,
    _ArrowReader,
    _RowReader,
    _connect,
    _first_bad,
    _from_arrow,
    _locked,
    _to_table,
)

log = logging.getLogger(__name__)

#: Rows read from SQLite at a time: as Python objects they take ~2 KiB each, so this bounds memory.
CHUNK_ROWS = 10_000
#: Below this many new rows the export runs in-process (starting workers costs ~1 s).
PARALLEL_MIN_ROWS = 1_000_000


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
        raise InputError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if not src.is_file():
        raise ExportError(f"{src}: no call log there")
    # rows above ``hi`` wait for the next run
    columns, hi, fingerprint, hi_fingerprint = _inspect(src)
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
        _check_watermark_row(src, state, lo)
        if hi == lo:
            log.info("export: %s has no rows above id %d", src, lo)
            return ExportResult(out, 0, (), lo, lo, int(state["rows"]), time.perf_counter() - t0)
        tag = uuid.uuid4().hex[:12]
        tasks = _plan(src, out, lo, hi, chunk_rows, tag, columns, workers)
        log.info("export: %s ids %d..%d -> %s in %d task(s)", src, lo + 1, hi, out, len(tasks))
        try:
            parts = _run(tasks)
            _check_complete(src, lo, hi, sum(p.rows for p in parts))
            files = _commit(out, state, parts, src, fingerprint, hi, hi_fingerprint)
        except BaseException:
            _remove_tmp(out, tag)
            raise
    added = sum(p.rows for p in parts)
    result = ExportResult(
        out, added, tuple(files), hi, lo, int(state["rows"]), time.perf_counter() - t0
    )
    log.info("export: %d rows in %d files, %.1f s", added, len(files), result.seconds)
    return result


def _check_watermark_row(src: Path, state: dict[str, object], lo: int) -> None:
    """Refuse a log whose row at the watermark is no longer the one exported.

    New logs number rows ``max(id) + 1`` (``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT``), so
    once the newest rows are deleted by hand their ids are given again to new rows: ids at or
    below the watermark would then hold rows the dataset has never seen, and an export by id
    would skip them.  Every reuse of ids up to the watermark either leaves the log shorter than
    it (``hi < lo``, refused above) or changes the row at the watermark, which the state
    remembers by its id, call id and start instant: one rowid lookup per run.
    """
    expected = state.get("watermark_fingerprint")
    if lo == 0 or expected is None:  # nothing exported yet, or a state from before the check
        return
    if _row_fingerprint(src, lo) != expected:
        raise ExportError(
            f"{src}: the row with id {lo}, the last one exported to this dataset, is no longer "
            f"in the log as exported (rows deleted and their ids reused?); rows could be "
            f"skipped, so nothing was exported: export {src} into a new folder"
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
    package_root = str(Path(__file__).resolve().parents[3])
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
