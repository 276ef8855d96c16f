"""The dataset's bookkeeping: one export at a time, recovery from an interrupted run, and the commit
(rename the new parts into place, then atomically replace ``_export_state.json``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..parquet import PARTITION, STATE_FILE, STATE_FORMAT
from .parts import ExportError, _Part

log = logging.getLogger("faceid_tools.calllog.export")


LOCK_FILE = "_export.lock"


_PART = re.compile(r"^part-\d+-\d+\.parquet$")


_TMP_SUFFIX = ".parquet.tmp"


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
        "watermark_fingerprint": None,
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


def _fsync_file(path: Path) -> None:
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
    hi_fingerprint: str | None,
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
        watermark_fingerprint=hi_fingerprint,
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
