"""The engine protocol: the few operations every metric is built from.

A metric (in ``latency``, ``errors``, ``compare``, ``sequences``, ``timeseries``) says *what* to
compute in terms of these operations; an engine says *how*, once per engine:

* :mod:`.pandas` — pandas, for call-log DataFrames (and SQLite logs, loaded);
* :mod:`.duckdb` (``source``, ``order``, ``properties``, ``daily``, ``footers``) — DuckDB SQL over
  a Parquet dataset's files;
* :mod:`.spark` — a ``pyspark.sql.DataFrame`` (pyspark imported only when one is given).

Every operation takes a :class:`Selection` (which rows) and group keys (call-log columns or the
time keys ``minute``/``hour``/``day``), and returns a small pandas frame of aggregates with the
raw key values; the topic modules shape those (dtypes, order) with ``finish_keys``.  Order
statistics are picked by rank (``x_(k)`` of each group's sorted values, the ranks chosen per
group from its n), never with an engine's own quantile function: those interpolate (DuckDB
``quantile_cont``, Spark ``percentile``) or approximate (Trino), and would differ by engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .._inputs import UnsupportedDataError
from .._selection import Selection, Window, merge_null_safe

#: Ranks a group needs: name -> 1-based rank, 0 when that statistic does not exist for n.
RankFn = Callable[[int], Mapping[str, int]]

#: Downloads ordered by these columns decide which one was first to receive a sequence.
FIRST_SEEN_ORDER: tuple[str, ...] = ("started_at", "call_id")


class Engine(ABC):
    """Where the rows are, and the operations the metrics need, computed there."""

    #: Short name for messages and benchmarks ("pandas", "duckdb", "spark").
    name: str = "engine"

    def restrict(self, window: Window) -> Engine:
        """The rows ``window`` keeps, as an engine of the same backend (each backend filters
        where its rows are; one without a window says so)."""
        raise UnsupportedDataError(
            f"window: a period or campaign of {type(self).__name__} data is not supported; "
            "filter the DataFrame itself (e.g. df.where(...)) and pass it as data"
        )

    @abstractmethod
    def counts(
        self, sel: Selection, keys: Sequence[str], *, value: str | None = None
    ) -> pd.DataFrame:
        """Rows per group: key columns and ``count`` (groups with no rows are absent).

        With ``value``, also ``n_value``: the rows where that column is not null.
        """

    @abstractmethod
    def sums(self, sel: Selection, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
        """Per group: ``n_<col>`` (non-null count), ``sum_<col>``, ``min_<col>``, ``max_<col>``."""

    def order_statistics(
        self,
        sel: Selection,
        keys: Sequence[str],
        column: str,
        ranks: RankFn,
        *,
        groups: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Per group: key columns, ``n`` (non-null values of ``column``) and one column per rank.

        ``ranks(n)`` names the 1-based ranks wanted for a group of n values; each named column
        holds the order statistic ``x_(rank)`` (NaN for rank 0).  Groups without values are
        absent.  ``groups`` (keys and ``n`` for the same selection, when already counted) may
        save the engine a counting pass.
        """
        sel = replace(sel, not_null=(*sel.not_null, column))
        return self._order_statistics(sel, list(keys), column, ranks, groups)

    @abstractmethod
    def _order_statistics(
        self,
        sel: Selection,
        keys: list[str],
        column: str,
        ranks: RankFn,
        groups: pd.DataFrame | None,
    ) -> pd.DataFrame: ...

    def outcome_summary(
        self, sel: Selection, ok: Selection, keys: Sequence[str], column: str, ranks: RankFn
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Counts per group and outcome (with ``n_value`` of ``column``), and the order
        statistics of ``column`` over the ``ok`` selection (the successes of ``sel``)."""
        keys = list(keys)
        raw = self.counts(sel, [*keys, "outcome"], value=column)
        sizes = raw[raw["outcome"].astype(object) == "ok"][[*keys, "n_value"]]
        sizes = sizes.rename(columns={"n_value": "n"})
        stats = self.order_statistics(ok, keys, column, ranks, groups=sizes)
        return raw, stats

    @abstractmethod
    def rank_sums(
        self, sel: Selection, keys: Sequence[str], column: str, members: pd.DataFrame
    ) -> pd.DataFrame:
        """Mann–Whitney pieces per pair of groups.

        ``members`` lists the groups of each pair: the key columns, ``_pair`` and ``_is_a``.
        Returns, indexed by ``_pair``: ``u_statistic`` (U of side a, ties counting ½), ``n_a``,
        ``n_b`` and ``tie_term`` (Σ t³ − t over the pooled sample's tied values).
        """

    @abstractmethod
    def duplicate_groups(self, sel: Selection) -> pd.DataFrame:
        """Values of ``seq_sha256`` seen in more than one call: ``seq_sha256``, ``copies`` (rows),
        ``calls`` (distinct ``call_id``; a row without one counts as its own call) and
        ``call_ids`` (sorted tuple of the ids)."""

    @abstractmethod
    def first_seen(self, sel: Selection, keys: Sequence[str]) -> pd.DataFrame:
        """Per group: ``n`` (rows) and ``repeats``: rows whose ``seq_sha256`` an earlier row of
        the whole selection already had (rows ordered by :data:`FIRST_SEEN_ORDER`, nulls last),
        each counted in its own group — so the groups' repeats add up to the overall ones.  A
        call's own further rows with bytes it already had are dropped first (counted once)."""

    @abstractmethod
    def binned_counts(
        self,
        sel: Selection,
        keys: Sequence[str],
        column: str,
        start: float,
        width: float,
        nbins: int,
    ) -> pd.DataFrame:
        """Rows per group and bin ``_bin = min(floor((x − start) / width), nbins − 1)``."""

    def property_stats(
        self, sel: Selection, keys: Sequence[str], properties: Sequence[str], ranks: RankFn
    ) -> pd.DataFrame:
        """Per group and ``property``: ``n``, ``sum_value`` and the order statistics ``ranks``
        names, of each numeric column in ``properties`` (nulls left out)."""
        sel = replace(sel, unpivot=tuple(properties))
        gkeys = [*keys, "property"]
        stats = self.order_statistics(sel, gkeys, "value", ranks)
        sums = self.sums(sel, gkeys, ["value"])[[*gkeys, "sum_value"]]
        return merge_null_safe(stats, sums, gkeys)


def order_statistics_from_counts(
    counts: pd.DataFrame, keys: Sequence[str], ranks: RankFn
) -> pd.DataFrame:
    """Order statistics from value counts (``keys``, ``value``, ``count``): exact, like sorting.

    Returns keys, ``n``, ``sum_value`` (Σ value·count) and one column per rank name.
    """
    keys = list(keys)
    if counts.empty:
        return pd.DataFrame(columns=[*keys, "n", "sum_value"])
    frame = (
        counts.sort_values([*keys, "value"], kind="stable")
        if keys
        else counts.sort_values("value", kind="stable")
    )
    groups = frame.groupby(keys, dropna=False, sort=False, observed=True) if keys else [((), frame)]
    rows = []
    for key, block in groups:
        values = block["value"].to_numpy(dtype="float64")
        cum = np.cumsum(block["count"].to_numpy(dtype="int64"))
        n = int(cum[-1])
        key_t = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(keys, key_t, strict=True))
        row["n"] = n
        row["sum_value"] = float(np.dot(values, block["count"].to_numpy(dtype="float64")))
        for name, rank in ranks(n).items():
            row[name] = float(values[np.searchsorted(cum, rank)]) if 1 <= rank <= n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def u_from_rank_sums(frame: pd.DataFrame) -> pd.DataFrame:
    """``u_statistic`` = R_a − n_a(n_a + 1)/2 from the rank sum of side a."""
    n_a = frame["n_a"].astype("float64")
    frame["u_statistic"] = frame["rank_sum_a"].astype("float64") - n_a * (n_a + 1) / 2
    return frame[["u_statistic", "n_a", "n_b", "tie_term"]]


def rank_table(groups: pd.DataFrame, keys: Sequence[str], ranks: RankFn) -> pd.DataFrame:
    """The order statistics each group needs, one row per (group, rank): the key columns and
    ``_rn`` (1-based rank), for an engine to join its ``row_number`` against."""
    sizes = groups["n"].to_numpy(dtype="int64")
    wanted = [
        (i, r)
        for i in range(len(groups))
        for r in sorted({r for r in ranks(int(sizes[i])).values() if 1 <= r <= sizes[i]})
    ]
    table = groups[list(keys)].iloc[[i for i, _ in wanted]].reset_index(drop=True)
    table["_rn"] = [r for _, r in wanted]
    return table


def rows_from_picked(
    groups: pd.DataFrame, keys: Sequence[str], ranks: RankFn, picked: pd.DataFrame, value: str
) -> pd.DataFrame:
    """Per group of ``groups`` (keys and ``n``): ``n`` and each named rank's value from
    ``picked`` (keys, ``_rn`` and ``value``, as selected for :func:`rank_table`); NaN for a rank
    that does not exist for n."""
    keys = list(keys)
    sizes = groups["n"].to_numpy(dtype="int64")
    lookup = merge_null_safe(groups.assign(_row=np.arange(len(groups))), picked, keys, how="inner")
    by_row: dict[int, dict[int, float]] = {}
    for row_i, rn, x in zip(lookup["_row"], lookup["_rn"], lookup[value], strict=True):
        by_row.setdefault(int(row_i), {})[int(rn)] = float(x)
    rows = []
    for i in range(len(groups)):
        n = int(sizes[i])
        row: dict[str, object] = {k: groups[k].iat[i] for k in keys}
        row["n"] = n
        found = by_row.get(i, {})
        for name, rank in ranks(n).items():
            row[name] = found.get(rank, np.nan) if 1 <= rank <= n else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
