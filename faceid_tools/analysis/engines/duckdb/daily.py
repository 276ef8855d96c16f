"""DuckDB: counts per group and outcome, and the order statistics of the successes, in one scan.

The Parquet files are read once, and each row's strings decoded only there: DuckDB returns two
numeric columns, one integer ``_g`` packing the group's keys and the outcome (each coded column
as its index in the schema's categories, the last index meaning missing or foreign; the day as
days since the dataset's first day) and the value as DOUBLE.  A batch of files is then either
fetched as two arrays and finished in numpy (counts by ``bincount``, each group's order
statistics by ``partition``: exactly the ``x_(rank)`` of the sorted values), or, when large,
staged in a table that DuckDB counts and picks the order statistics from
(:func:`._duck_order.pick_order_statistics`).

When the groups are per day and the dataset is day-partitioned, the files are read a batch of
days at a time (no group spans two batches), the next batch on a second connection while the
current one is finished, so memory stays flat at any size and both cores work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from ....calllog.schema import CATEGORIES
from ..._selection import Selection
from ..base import RankFn
from . import order as _duck_order


class DailyQueries(_duck_order.DuckQueries, Protocol):
    """What this module needs of the DuckDB engine (:class:`.source.DuckSource`; a protocol,
    so no import cycle)."""

    files: list[Path]
    file_rows: tuple[int, ...]
    day_partitioned: bool

    @property
    def splits_by_day(self) -> bool: ...

    def scanning(self, files: list[Path]) -> contextlib.AbstractContextManager[None]: ...


#: Files read at once hold at most this many rows (whole days; a day is never split): two days
#: of a 10M-row log, read as two arrays of ~12 MB while the batch before is finished.
BATCH_ROWS = 2_000_000

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class _Digit:
    """One key (or the outcome) in the packed group code: values 0 .. size−1."""

    name: str
    size: int
    weight: int = 1
    first_day: int = 0  # for the day key: the day number of code 0

    def decode(self, codes: np.ndarray) -> np.ndarray:
        digit = (codes // self.weight) % self.size
        if self.name in CATEGORIES:
            return np.array([*CATEGORIES[self.name], None], dtype=object)[digit]
        return digit + self.first_day


def _day_numbers(files: Sequence[Path]) -> list[int]:
    return [(date.fromisoformat(f.parent.name.removeprefix("day=")) - _EPOCH).days for f in files]


def _digits(src: DailyQueries, keys: Sequence[str], days: Sequence[int]) -> list[_Digit] | None:
    """The packed code's digits (outcome last, lowest), or None if a key cannot be packed."""
    plain: list[_Digit] = []
    for key in [*keys, "outcome"]:
        if key in CATEGORIES:
            plain.append(_Digit(key, len(CATEGORIES[key]) + 1))
        elif key == "day" and src.day_partitioned and days:
            plain.append(_Digit(key, max(days) - min(days) + 1, first_day=min(days)))
        else:
            return None
    digits, weight = [], 1
    for d in reversed(plain):
        digits.append(replace(d, weight=weight))
        weight *= d.size
    if weight >= 2**62:  # pragma: no cover - would need thousands of years of days
        return None
    return digits[::-1]


def _code_sql(d: _Digit) -> str:
    if d.name in CATEGORIES:
        cases = " ".join(
            f"WHEN '{v.replace(chr(39), chr(39) * 2)}' THEN {i}"
            for i, v in enumerate(CATEGORIES[d.name])
        )
        code = f"(CASE {d.name} {cases} ELSE {d.size - 1} END)"
    else:
        code = f"({d.name} - {d.first_day})"
    return code if d.weight == 1 else f"{code} * {d.weight}"


def _batches(src: DailyQueries, keys: Sequence[str]) -> list[list[Path]]:
    """The files in batches of whole days (one batch unless the groups are per day)."""
    if "day" not in keys or not src.day_partitioned or not src.splits_by_day:
        return [list(src.files)]
    by_day: dict[str, list[tuple[Path, int]]] = {}
    for f, rows in zip(src.files, src.file_rows, strict=True):
        by_day.setdefault(f.parent.name, []).append((f, rows))
    batches: list[list[Path]] = []
    held = BATCH_ROWS
    for day in sorted(by_day):
        rows = sum(r for _, r in by_day[day])
        if held + rows > BATCH_ROWS:
            batches.append([])
            held = 0
        batches[-1] += [f for f, _ in by_day[day]]
        held += rows
    return batches


def outcome_summary(
    src: DailyQueries, sel: Selection, keys: list[str], column: str, ranks: RankFn
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """See :meth:`._engine.Engine.outcome_summary` (``ok`` is ``sel`` with ``outcome='ok'``);
    None when a key is neither a coded column nor the day of a day-partitioned dataset."""
    days = _day_numbers(src.files) if "day" in keys and src.day_partitioned else []
    digits = _digits(src, keys, days)
    if digits is None:
        return None
    # Rows whose outcome must be present are dropped on its code, not by a string test.
    plan = _Plan(digits, "outcome" in sel.not_null, ranks)
    sel = replace(sel, not_null=tuple(c for c in sel.not_null if c != "outcome"))
    packed = " + ".join(_code_sql(d) for d in digits)
    kind = "INTEGER" if digits[0].weight * digits[0].size < 2**31 else "BIGINT"
    rows = dict(zip(src.files, src.file_rows, strict=True))
    selects = []
    for files in _batches(src, keys):
        with src.scanning(files):
            base = src.base_sql(sel, keys, ["outcome", column])
        select = (
            f"SELECT CAST({packed} AS {kind}) AS _g, CAST({column} AS DOUBLE) AS _x FROM ({base})"
        )
        selects.append((select, sum(rows[f] for f in files) <= NUMPY_ROWS))
    raws, stats = [], []
    staging = _Stager(src)
    try:
        for i, (select, small) in enumerate(selects):
            got = staging.take(i, select, small)
            if i + 1 < len(selects):  # the next batch is read while this one is finished
                staging.start(i + 1, *selects[i + 1])
            if isinstance(got, str):
                raw, picked = plan.in_duckdb(src, got)
            else:
                raw, picked = plan.in_numpy(got)
            raws.append(raw)
            stats.append(picked)
    finally:
        staging.close()
    return _assemble(keys, raws, stats)


#: Batches of at most this many file rows are fetched (two numeric columns) and finished in
#: numpy (no per-query costs of DuckDB); larger ones (groups not per day, or huge days) are
#: staged in a table, counted and their order statistics picked by DuckDB (less memory).
NUMPY_ROWS = 3_000_000


@dataclass(frozen=True)
class _Plan:
    digits: list[_Digit]
    drop_missing: bool  # rows with a missing outcome are left out
    ranks: RankFn

    @property
    def out(self) -> _Digit:
        return self.digits[-1]

    def raw_frame(self, g: np.ndarray, count: np.ndarray, n_value: np.ndarray) -> pd.DataFrame:
        raw = {d.name: d.decode(g) for d in self.digits}
        raw["count"] = count.astype("int64")
        raw["n_value"] = n_value.astype("int64")
        return pd.DataFrame(raw)

    def decode_keys(self, picked: pd.DataFrame) -> pd.DataFrame:
        k = picked["_k"].to_numpy(dtype="int64") * self.out.size
        for d in self.digits[:-1]:
            picked[d.name] = d.decode(k)
        return picked.drop(columns="_k")

    def in_duckdb(self, src: DailyQueries, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """DuckDB counts the staged table ``name`` and picks the order statistics; drops it."""
        out, ok = self.out, _OK
        con = src.connect()
        try:
            where = f" WHERE _g % {out.size} <> {out.size - 1}" if self.drop_missing else ""
            counted = con.execute(
                f"SELECT _g, count(*) AS count, count(_x) AS n_value FROM {name}{where} GROUP BY _g"
            ).fetchnumpy()
            g = np.asarray(counted["_g"], dtype="int64")
            raw = self.raw_frame(g, np.asarray(counted["count"]), np.asarray(counted["n_value"]))
            is_ok = (g % out.size) == ok
            sizes = pd.DataFrame({"_k": g[is_ok] // out.size, "n": raw["n_value"][is_ok]})
            relation = (
                f"SELECT _g // {out.size} AS _k, _x FROM {name} "
                f"WHERE _g % {out.size} = {ok} AND _x IS NOT NULL"
            )
            picked = _duck_order.pick_order_statistics(
                src, relation, ["_k"], "_x", self.ranks, sizes
            )
        finally:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        return raw, self.decode_keys(picked)

    def in_numpy(self, got: dict[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Fetched as two arrays: counted with ``bincount``; the rows put in group order by one
        radix sort of the codes; each successful group's order statistics then picked from its
        slice (exact: the same ``x_(rank)`` as sorting, as ``quantile_disc``)."""
        out = self.out
        g = np.asarray(got["_g"])
        x = got["_x"]
        if not len(g):
            return self.raw_frame(g, g, g), self.decode_keys(pd.DataFrame(columns=["_k", "n"]))
        values = np.asarray(np.ma.getdata(x), dtype="float64")
        mask = np.ma.getmask(x)
        valid = None if mask is np.ma.nomask else ~np.asarray(mask, dtype=bool)
        low = int(g.min())
        offset = g - low
        count = np.bincount(offset)
        n_value = count if valid is None else np.bincount(offset, weights=valid)
        seen = np.flatnonzero(count)
        codes = seen + low
        if self.drop_missing:
            codes = codes[codes % out.size != out.size - 1]
        raw = self.raw_frame(codes, count[codes - low], n_value[codes - low])
        if len(count) <= 2**15:  # numpy sorts 16-bit integers by radix: linear time
            offset = offset.astype("int16")
        order = np.argsort(offset, kind="stable")
        values = values[order]
        valid = None if valid is None else valid[order]
        ends = np.cumsum(count)
        starts = ends - count
        chosen = codes[codes % out.size == _OK]
        blocks = []
        for code in chosen.tolist():
            lo, hi = int(starts[code - low]), int(ends[code - low])
            block = values[lo:hi] if valid is None else values[lo:hi][valid[lo:hi]]
            if len(block):
                blocks.append((code // out.size, block))
        prime = getattr(self.ranks, "prime", None)
        if prime is not None:
            prime([len(b) for _, b in blocks])
        rows = []
        for group, block in blocks:
            n = len(block)
            wanted = self.ranks(n)
            picked = order_statistics_at(block, [r - 1 for r in wanted.values()])
            row: dict[str, object] = {"_k": group, "n": n}
            for name, r in wanted.items():
                row[name] = picked[r - 1] if 1 <= r <= n else np.nan
            rows.append(row)
        return raw, self.decode_keys(pd.DataFrame(rows, columns=None if rows else ["_k", "n"]))


_OK = CATEGORIES["outcome"].index("ok")
#: Groups smaller than this are partitioned directly; larger ones bracketed from a sample.
_DIRECT = 4096
_SAMPLE = 2048


def order_statistics_at(values: np.ndarray, wanted: Sequence[int]) -> dict[int, float]:
    """The order statistics of ``values`` at the 0-based positions ``wanted`` (out of range
    ones are skipped): exactly what sorting would put there, NaN sorting last.

    A large group is not partitioned at every position (slow for many positions): a sorted
    strided sample brackets each band of close positions by two values; the values between
    them are few, and the count of those below gives their positions in the sorted whole.  A
    bracket the sample misjudged falls back to a partition.
    """
    n = len(values)
    ranks = sorted({r for r in wanted if 0 <= r < n})
    if not ranks:
        return {}
    if n < _DIRECT:
        part = np.partition(values, ranks)
        return {r: float(part[r]) for r in ranks}
    sample = np.sort(values[:: max(1, n // _SAMPLE)])
    m = len(sample)
    pad = 2 * int(np.sqrt(m)) + 2  # four standard errors of a sample quantile, at most
    bands = [[ranks[0], ranks[0]]]
    for r in ranks[1:]:
        if r - bands[-1][1] <= n // 32:
            bands[-1][1] = r
        else:
            bands.append([r, r])
    found: dict[int, float] = {}
    for first, last in bands:
        low = sample[max(0, first * m // n - pad)]
        high = sample[min(m - 1, last * m // n + pad)]
        below = int(np.count_nonzero(values < low))
        inside = np.sort(values[(values >= low) & (values <= high)])
        if below <= first and last < below + len(inside):
            found.update((r, float(inside[r - below])) for r in ranks if first <= r <= last)
        else:  # the sample misjudged this band (or it holds NaN): partition for it
            band = [r for r in ranks if first <= r <= last]
            part = np.partition(values, band)
            found.update((r, float(part[r])) for r in band)
    return found


class _Stager:
    """Reads batches on a cursor (a connection of its own) in a thread of its own, the next
    one while the current one is finished: a large batch is staged into a table of the
    source's database, a small one fetched as arrays.  DuckDB picks each group's order
    statistics on one thread and numpy runs on one: the other core reads meanwhile."""

    def __init__(self, src: DailyQueries) -> None:
        self.src = src
        self.pool: ThreadPoolExecutor | None = None
        self.pending: dict[int, Future[str | dict[str, np.ndarray]]] = {}

    def _read(self, i: int, select: str, small: bool) -> str | dict[str, np.ndarray]:
        with self.src.connect().cursor() as con:
            if small:
                return dict(con.execute(select).fetchnumpy())  # type: ignore[arg-type]
            name = f"_summary_batch_{id(self)}_{i}"
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
            return name

    def start(self, i: int, select: str, small: bool) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="faceid-read")
        self.pending[i] = self.pool.submit(self._read, i, select, small)

    def take(self, i: int, select: str, small: bool) -> str | dict[str, np.ndarray]:
        found = self.pending.pop(i, None)
        return found.result() if found is not None else self._read(i, select, small)

    def close(self) -> None:
        for found in self.pending.values():  # an error left a batch read: drop its table
            with contextlib.suppress(Exception):
                got = found.result()
                if isinstance(got, str):
                    self.src.connect().execute(f"DROP TABLE IF EXISTS {got}")
        if self.pool is not None:
            self.pool.shutdown()


def staged_outcome_summary(
    src: DailyQueries, sel: Selection, keys: list[str], column: str, ranks: RankFn
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same for any keys: the selected rows (coded keys, coded outcome, ``column``) are
    staged column by column; the counts and the ``quantile_disc`` pass read that table."""
    with _duck_order.Staged(src, sel, keys, ["outcome", column]) as staged:
        head = "".join(f"{k}, " for k in keys)
        raw = staged.query(
            f"SELECT {head}outcome, count(*) AS count, count({column}) AS n_value "
            f"FROM ({staged.sql()}) GROUP BY {head}outcome"
        )
        code = staged.code("outcome", "ok")
        sizes = raw[raw["outcome"] == code][[*keys, "n_value"]]
        sizes = sizes.rename(columns={"n_value": "n"})
        relation = staged.sql(f"outcome = {code} AND {column} IS NOT NULL")
        stats = _duck_order.pick_order_statistics(src, relation, keys, column, ranks, sizes)
        return staged.decode(raw), staged.decode(stats)


def _assemble(
    keys: list[str], raws: list[pd.DataFrame], stats: list[pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw_frame = raws[0] if len(raws) == 1 else pd.concat(raws, ignore_index=True)
    stat_frame = stats[0] if len(stats) == 1 else pd.concat(stats, ignore_index=True)
    stat_frame = stat_frame.reindex(columns=[*keys, *[c for c in stat_frame if c not in keys]])
    if stat_frame.empty:
        stat_frame = pd.DataFrame(columns=[*keys, "n"])
    return raw_frame[[*keys, "outcome", "count", "n_value"]], stat_frame
