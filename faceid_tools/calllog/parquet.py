"""The call log as a Parquet dataset: its Arrow schema, its committed files, and loading it.

Layout (written by :func:`faceid_tools.calllog.export.export`)::

    <dataset>/_export_state.json                 # the commit record: watermark and committed files
    <dataset>/day=YYYY-MM-DD/part-<first id>-<last id>.parquet

Only the files listed in ``_export_state.json`` belong to the dataset: a file an interrupted export
left behind is ignored here and removed by the next export.  The state also records each file's
size and the SHA-256 of its footer (the Thrift ``FileMetaData`` that says where every column
is, then its length and ``PAR1``), which :func:`dataset_files` checks on every read: Parquet's
page CRCs cover the data pages only, and one flipped bit in a footer can otherwise read as other
data.  A folder of ``*.parquet`` files without a state file (hive layout or flat) is read as it
is.

Column types follow the call-log schema: ``started_at`` ``timestamp[us, UTC]``, the categorical
columns dictionary-encoded strings, integers ``int64`` and flags ``bool`` (both nullable), text
``string``.  :func:`load_parquet` gives exactly the dtypes of
:func:`faceid_tools.calllog.load.load_calls`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import FaceIDError, InputError
from .schema import CATEGORIES, COLUMN_NAMES
from .types import arrow_schema

if TYPE_CHECKING:  # pandas is imported where a frame is made (export's workers do without it)
    import pandas as pd

__all__ = [
    "PARTITION",
    "STATE_FILE",
    "DatasetCheck",
    "ParquetDatasetError",
    "arrow_schema",
    "dataset_files",
    "footer_digest",
    "is_parquet_dataset",
    "load_parquet",
    "read_state",
    "verify_dataset",
]

log = logging.getLogger(__name__)

STATE_FILE = "_export_state.json"
#: The hive partition key (the UTC day of ``started_at``).
PARTITION = "day"
#: Partition value for rows without a ``started_at``.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
STATE_FORMAT = 1


class ParquetDatasetError(FaceIDError, RuntimeError):
    """A Parquet dataset (or one of its files) cannot be read; the message names the file."""


def read_state(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The dataset's commit record, or None if it has none (not written by ``export``)."""
    state_path = Path(path) / STATE_FILE
    try:
        text = state_path.read_text("utf-8")
    except FileNotFoundError:
        return None
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise ParquetDatasetError(f"{state_path}: not valid JSON ({exc})") from None
    if not isinstance(state, dict) or not isinstance(state.get("files"), list):
        raise ParquetDatasetError(f"{state_path}: not an export state (no 'files' list)")
    if state.get("format") != STATE_FORMAT:
        raise ParquetDatasetError(
            f"{state_path}: export state format {state.get('format')!r}, expected {STATE_FORMAT}"
        )
    return state


def footer_digest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What the state records of a Parquet file: its size, footer length and footer SHA-256.

    The footer is the file's last ``footer_bytes`` bytes: the Thrift ``FileMetaData`` and the
    8 bytes after it (its length, ``PAR1``).
    """
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size < 12:
            raise ParquetDatasetError(f"{path}: not a Parquet file ({size} bytes)")
        fh.seek(size - 8)
        tail = fh.read(8)
        footer_bytes = int.from_bytes(tail[:4], "little") + 8
        if tail[4:] != b"PAR1" or footer_bytes + 4 > size:
            raise ParquetDatasetError(f"{path}: not a Parquet file (no footer)")
        digest = _tail_sha256(fh, size, footer_bytes)
    return {"size": size, "footer_bytes": footer_bytes, "footer_sha256": digest}


def _tail_sha256(fh: Any, size: int, nbytes: int) -> str:
    fh.seek(size - nbytes)
    return hashlib.sha256(fh.read(nbytes)).hexdigest()


def _check_footer(path: Path, entry: dict[str, Any]) -> None:
    """Raise if the committed file at ``path`` is no longer what export wrote."""
    if "footer_sha256" not in entry:  # written before export recorded digests
        return
    size, footer_bytes = int(entry["size"]), int(entry["footer_bytes"])
    with open(path, "rb") as fh:
        actual = fh.seek(0, os.SEEK_END)
        if actual != size:
            raise ParquetDatasetError(
                f"{path}: damaged Parquet part: {actual} bytes, export wrote {size}"
            )
        digest = _tail_sha256(fh, size, footer_bytes)
    if digest != entry["footer_sha256"]:
        raise ParquetDatasetError(
            f"{path}: damaged Parquet part: its footer (the column index) is not the one export "
            f"wrote; re-export the dataset from the call log into a new folder"
        )


def _visible(p: Path, root: Path) -> bool:
    return not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)


def dataset_files(path: str | os.PathLike[str]) -> list[Path]:
    """The committed Parquet files of the dataset at ``path``, in id order.

    With a state file: exactly the files it lists, each checked against the size and footer
    digest the state records (:class:`ParquetDatasetError` names a damaged one).  Without: every
    ``*.parquet`` below ``path`` except hidden ones (names starting with ``.`` or ``_``), sorted
    by path.  Pass these to an engine (``duckdb.read_parquet([...])``) instead of a glob, so that
    files an interrupted export left behind are never read.
    """
    root = Path(path)
    if not root.is_dir():
        raise ParquetDatasetError(f"{root}: not a Parquet dataset folder")
    state = read_state(root)
    if state is None:
        return sorted(p for p in root.rglob("*.parquet") if p.is_file() and _visible(p, root))
    files = [root / entry["path"] for entry in state["files"]]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ParquetDatasetError(
            f"{root}: {len(missing)} committed file(s) missing, e.g. {missing[0]}"
        )
    for f, entry in zip(files, state["files"], strict=True):
        _check_footer(f, entry)
    return files


def is_parquet_dataset(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a folder holding an export state or at least one Parquet file."""
    root = Path(path)
    if not root.is_dir():
        return False
    if (root / STATE_FILE).is_file():
        return True
    return any(_visible(p, root) for p in root.rglob("*.parquet"))


def _pandas_type(arrow_type: pa.DataType) -> Any:
    import pandas as pd

    if arrow_type == pa.string() or arrow_type == pa.large_string():
        return pd.StringDtype()
    if arrow_type == pa.int64():
        return pd.Int64Dtype()
    if arrow_type == pa.bool_():
        return pd.BooleanDtype()
    return None


def _read_every_page(path: Path) -> int:
    """Decode every page of a Parquet file, checking the CRCs it has; its row count."""
    reader = pq.ParquetFile(path, page_checksum_verification=True)
    return sum(reader.read_row_group(i).num_rows for i in range(reader.num_row_groups))


def _find_corrupt(files: Sequence[Path]) -> tuple[Path, str] | None:
    """The first file whose footer or data cannot be read, with the reason."""
    for f in files:
        try:
            _read_every_page(f)
        except Exception as exc:
            return f, f"{type(exc).__name__}: {exc}"
    return None


@dataclass(frozen=True)
class DatasetCheck:
    """What :func:`verify_dataset` read: every page of every committed file."""

    files: int
    rows: int
    bytes: int


def verify_dataset(path: str | os.PathLike[str]) -> DatasetCheck:
    """Read every page of every committed file of the dataset, checking it against what export wrote.

    Checks each footer's digest (as every read does), each page's CRC and each file's row count.
    DuckDB does not check page CRCs, so the analyses over a dataset trust its pages: run this
    (``faceid-tools export --verify``) after copying a dataset or on a schedule.  Raises
    :class:`ParquetDatasetError` naming the first damaged file.
    """
    files = dataset_files(path)
    state = read_state(path)
    written = {entry["path"]: entry.get("rows") for entry in state["files"]} if state else {}
    rows = size = 0
    for f in files:
        try:
            count = _read_every_page(f)
        except Exception as exc:
            raise ParquetDatasetError(
                f"{f}: corrupt Parquet part ({type(exc).__name__}: {exc})"
            ) from None
        expected = written.get(f.relative_to(path).as_posix())
        if expected is not None and count != expected:
            raise ParquetDatasetError(
                f"{f}: damaged Parquet part: {count} rows, export wrote {expected}"
            )
        rows += count
        size += f.stat().st_size
    return DatasetCheck(len(files), rows, size)


def load_parquet(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    campaign_id: str | None = None,
) -> pd.DataFrame:
    """An exported call log as a DataFrame with the dtypes of ``load_calls``, in ``id`` order.

    ``columns`` keeps some columns (default all); ``campaign_id`` keeps one campaign's rows (the
    filter is pushed down to the Parquet reader).
    """
    import pyarrow.dataset as pads  # imports pandas

    from .frame import apply_types, empty_frame  # pandas: export's workers do without it

    names = list(COLUMN_NAMES if columns is None else columns)
    unknown = [c for c in names if c not in COLUMN_NAMES]
    if unknown:
        raise InputError(f"unknown call-log column(s): {unknown}")
    files = dataset_files(path)
    schema = arrow_schema()
    if not files:
        return empty_frame()[names]
    # pages written with a CRC (export does) are verified: damage is an error, never data
    fmt = pads.ParquetFileFormat(
        default_fragment_scan_options=pads.ParquetFragmentScanOptions(
            page_checksum_verification=True
        )
    )
    dataset = pads.dataset([str(f) for f in files], schema=schema, format=fmt)
    filt = pads.field("campaign_id") == campaign_id if campaign_id is not None else None
    read = names if "id" in names else [*names, "id"]
    try:
        table = dataset.to_table(columns=read, filter=filt)
    except (OSError, pa.ArrowException) as exc:
        found = _find_corrupt(files)
        if found is not None:
            bad, why = found
            raise ParquetDatasetError(f"{bad}: corrupt Parquet part ({why})") from None
        raise ParquetDatasetError(f"{path}: cannot read the dataset ({exc})") from None
    ids = table.column("id").to_numpy()
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        table = table.take(pc.sort_indices(table, [("id", "ascending")]))
    if "id" not in names:
        table = table.drop_columns(["id"])
    df = table.to_pandas(types_mapper=_pandas_type)
    for name, categories in CATEGORIES.items():
        if name in df.columns:
            df[name] = df[name].cat.set_categories(list(categories))
    return apply_types(df)
