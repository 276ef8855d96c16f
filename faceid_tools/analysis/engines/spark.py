"""The Spark engine: the operations of :class:`._engine.Engine` on a ``pyspark.sql.DataFrame``.

Imported only when an analysis is given a Spark DataFrame (pyspark is the optional extra
``faceid-tools[spark]``).  Every operation is one Spark job (two for order statistics without
known group sizes) whose result — a few hundred aggregate rows — comes back with ``toPandas``.
Order statistics are ``row_number()`` over each group's values, joined with the ranks each group
needs (a small broadcast table), so they are the exact ``x_(k)`` the other engines pick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ...calllog.schema import CATEGORIES, COLUMNS
from .._inputs import REQUIRED, columns_error
from .._selection import EMPTY_IS_NULL, GRS, TIME_KEYS, Selection, columns_read
from .base import (
    FIRST_SEEN_ORDER,
    Engine,
    RankFn,
    rank_table,
    rows_from_picked,
    u_from_rank_sums,
)

_KINDS = {c.name: c.kind for c in COLUMNS}


class SparkSource(Engine):
    """Rows in a Spark DataFrame; the aggregates are computed in Spark."""

    name = "spark"

    def __init__(self, frame: DataFrame):
        check_spark_frame(frame)
        self.frame = frame
        self.spark = frame.sparkSession
        self.columns = frozenset(frame.columns)
        self._levels: DataFrame | None = None

    # -- which rows ------------------------------------------------------------------------------

    def select(self, sel: Selection, keys: Sequence[str], columns: Iterable[str] = ()) -> DataFrame:
        """The selected rows: key columns (time keys as epoch buckets) and ``columns``."""
        columns = [c for c in columns if c not in keys]
        needed = columns_read(sel, keys, columns)
        missing = needed - self.columns
        if missing:
            raise columns_error("Spark DataFrame", missing, {})
        df = self.frame.select(*(_read(c).alias(c) for c in sorted(needed)))
        if sel.action is not None:
            df = df.filter(F.col("action") == sel.action)
        if sel.first_attempt:
            df = df.filter(F.col("attempt") == 1)
        if sel.call_level:
            df = df.join(self._call_levels(), on="call_id", how="left")
            df = df.withColumn("security_level", F.coalesce("security_level", "_lvl")).drop("_lvl")
        if sel.final_attempt:
            retried = (
                df.filter((F.col("attempt") > 1) & F.col("call_id").isNotNull())
                .groupBy("call_id")
                .agg(F.max("attempt").alias("_last"))
            )
            df = df.join(retried, on="call_id", how="left")
            df = df.filter(F.col("_last").isNull() | (F.col("attempt") == F.col("_last")))
            df = df.drop("_last")
        if sel.outcome is not None:
            df = df.filter(F.col("outcome") == sel.outcome)
        for name, value in sel.where:
            df = df.filter(F.col(name) == value)
        if sel.unpivot:
            rest = [c for c in df.columns if c not in sel.unpivot]
            parts = [
                df.select(
                    *rest, F.lit(c).alias("property"), F.col(c).cast("double").alias("value")
                ).filter(F.col("value").isNotNull())
                for c in sel.unpivot
            ]
            df = reduce(DataFrame.unionByName, parts)
        for name in sel.not_null:
            df = df.filter(F.col(name).isNotNull())
        out = [_bucket(k).alias(k) if k in TIME_KEYS else F.col(k) for k in keys]
        return df.select(*out, *columns)

    def _call_levels(self) -> DataFrame:
        """Each call's level: the highest its GenerateReflectSequence rows carry."""
        if self._levels is None:
            self._levels = (
                self.frame.select(
                    F.col("call_id"),
                    _read("action").alias("action"),
                    _read("security_level").alias("security_level"),
                )
                .filter(
                    (F.col("action") == GRS)
                    & F.col("call_id").isNotNull()
                    & F.col("security_level").isNotNull()
                )
                .groupBy("call_id")
                .agg(F.max("security_level").alias("_lvl"))
            )
        return self._levels

    # -- the engine's operations -----------------------------------------------------------------

    def counts(
        self, sel: Selection, keys: Sequence[str], *, value: str | None = None
    ) -> pd.DataFrame:
        df = self.select(sel, keys, [value] if value else [])
        aggs = [F.count(F.lit(1)).alias("count")]
        if value:
            aggs.append(F.count(value).alias("n_value"))
        return _grouped(df, keys, aggs)

    def sums(self, sel: Selection, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
        df = self.select(sel, keys, columns)
        aggs = []
        for c in columns:
            x = F.col(c).cast("double")
            aggs += [F.count(x).alias(f"n_{c}"), F.sum(x).alias(f"sum_{c}")]
            aggs += [F.min(x).alias(f"min_{c}"), F.max(x).alias(f"max_{c}")]
        return _grouped(df, keys, aggs)

    def _order_statistics(
        self,
        sel: Selection,
        keys: list[str],
        column: str,
        ranks: RankFn,
        groups: pd.DataFrame | None,
    ) -> pd.DataFrame:
        df = self.select(sel, keys, [column]).withColumn(column, F.col(column).cast("double"))
        if groups is None:
            groups = _grouped(df, keys, [F.count(F.lit(1)).alias("n")])
        groups = groups.loc[groups["n"] > 0, [*keys, "n"]].reset_index(drop=True)
        if groups.empty:
            return pd.DataFrame(columns=[*keys, "n"])
        prime = getattr(ranks, "prime", None)
        if prime is not None:
            prime(groups["n"].to_numpy(dtype="int64"))
        table = rank_table(groups, keys, ranks)
        order = Window.partitionBy(*keys).orderBy(column) if keys else Window.orderBy(column)
        ranked = df.withColumn("_rn", F.row_number().over(order))
        picked = self._join_small(ranked, table, keys, ["_rn"]).select(*keys, "_rn", column)
        return rows_from_picked(groups, keys, ranks, picked.toPandas(), column)

    def rank_sums(
        self, sel: Selection, keys: Sequence[str], column: str, members: pd.DataFrame
    ) -> pd.DataFrame:
        keys = list(keys)
        df = self.select(sel, keys, [column]).withColumn("_x", F.col(column).cast("double"))
        joined = self._join_small(df, members, keys, [], extra=("_pair", "_is_a"))
        # rank() is the first rank of a value's ties, the running count (RANGE frame, peers
        # included) the last; t = last − first + 1 tied values.
        w = Window.partitionBy("_pair").orderBy("_x")
        r = joined.select(
            "_pair",
            "_is_a",
            F.rank().over(w).alias("rk"),
            (F.count(F.lit(1)).over(w) - F.rank().over(w) + 1).alias("t"),
        )
        mid_rank = F.col("rk") + (F.col("t") - 1) / 2.0
        out = (
            r.groupBy("_pair")
            .agg(
                F.sum(F.when(F.col("_is_a"), mid_rank).otherwise(0.0)).alias("rank_sum_a"),
                F.sum(F.when(F.col("_is_a"), 1).otherwise(0)).alias("n_a"),
                F.sum(F.when(F.col("_is_a"), 0).otherwise(1)).alias("n_b"),
                F.sum(F.col("t").cast("double") * F.col("t") - 1).alias("tie_term"),
            )
            .toPandas()
            .set_index("_pair")
        )
        return u_from_rank_sums(out)

    def duplicate_groups(self, sel: Selection) -> pd.DataFrame:
        df = self.select(sel, ["seq_sha256"], ["call_id"])
        seen_twice = df.groupBy("seq_sha256").count().filter(F.col("count") > 1).drop("count")
        calls = F.countDistinct("call_id") + F.sum(
            F.when(F.col("call_id").isNull(), 1).otherwise(0)
        )
        out = (
            df.join(seen_twice, on="seq_sha256")
            .groupBy("seq_sha256")
            .agg(
                F.count(F.lit(1)).alias("copies"),
                calls.alias("calls"),
                F.array_sort(F.collect_set("call_id")).alias("call_ids"),
            )
            .filter(F.col("calls") > 1)
            .toPandas()
        )
        out["call_ids"] = [tuple(str(v) for v in ids) for ids in out["call_ids"]]
        return out[["seq_sha256", "copies", "calls", "call_ids"]]

    def first_seen(self, sel: Selection, keys: Sequence[str]) -> pd.DataFrame:
        order = [c for c in FIRST_SEEN_ORDER if c not in keys]
        df = self.select(sel, keys, ["seq_sha256", *order])
        own = Window.partitionBy("seq_sha256", "call_id").orderBy(
            *(F.col(c).asc_nulls_last() for c in FIRST_SEEN_ORDER)
        )  # a call's own second download of the same bytes counts once
        df = df.withColumn("_rc", F.row_number().over(own))
        df = df.where(F.col("call_id").isNull() | (F.col("_rc") == 1))
        w = Window.partitionBy("seq_sha256").orderBy(
            *(F.col(c).asc_nulls_last() for c in FIRST_SEEN_ORDER)
        )
        df = df.withColumn("_rn", F.row_number().over(w))
        repeats = F.sum(F.when(F.col("_rn") > 1, 1).otherwise(0))
        return _grouped(df, keys, [F.count(F.lit(1)).alias("n"), repeats.alias("repeats")])

    def binned_counts(
        self,
        sel: Selection,
        keys: Sequence[str],
        column: str,
        start: float,
        width: float,
        nbins: int,
    ) -> pd.DataFrame:
        df = self.select(sel, keys, [column])
        x = F.col(column).cast("double")
        bucket = F.least(F.floor((x - F.lit(start)) / F.lit(width)), F.lit(nbins - 1))
        df = df.withColumn("_bin", bucket.cast("long"))
        return _grouped(df, [*keys, "_bin"], [F.count(F.lit(1)).alias("count")])

    # -- helpers ---------------------------------------------------------------------------------

    def _join_small(
        self,
        big: DataFrame,
        small: pd.DataFrame,
        keys: Sequence[str],
        also: Sequence[str],
        extra: Sequence[str] = (),
    ) -> DataFrame:
        """``big`` joined (null-safe on ``keys``, equal on ``also``) with a small pandas table
        of those columns (and ``extra`` columns carried along), broadcast to every task."""
        types = {f.name: f.dataType for f in big.schema.fields}
        types.update({c: T.LongType() for c in also})
        types.update({"_pair": T.LongType(), "_is_a": T.BooleanType()})
        names = [*keys, *also, *extra]
        alias = {c: f"_t{i}" for i, c in enumerate(names)}
        schema = T.StructType([T.StructField(alias[c], types[c], True) for c in names])
        rows = [
            tuple(_python(v, types[c]) for c, v in zip(names, rec, strict=True))
            for rec in small[names].itertuples(index=False, name=None)
        ]
        table = self.spark.createDataFrame(rows, schema)
        cond = [F.col(k).eqNullSafe(F.col(alias[k])) for k in keys]
        cond += [F.col(c) == F.col(alias[c]) for c in also]
        joined = big.join(F.broadcast(table), reduce(lambda a, b: a & b, cond, F.lit(True)))
        return joined.withColumnsRenamed({alias[c]: c for c in extra}).drop(
            *(alias[c] for c in [*keys, *also])
        )


def _grouped(df: DataFrame, keys: Sequence[str], aggs: list[Column]) -> pd.DataFrame:
    out = df.groupBy(*keys).agg(*aggs) if keys else df.agg(*aggs)
    return out.toPandas()


def _read(name: str) -> Column:
    """A column as the analysis reads it (see ``_frame._col``): coded columns outside their
    categories, and '' where it means none, are missing."""
    c = F.col(name)
    if name in CATEGORIES:
        return F.when(c.cast("string").isin(list(CATEGORIES[name])), c.cast("string"))
    if name in EMPTY_IS_NULL:
        return F.when(c != "", c)
    return c


def _bucket(key: str) -> Column:
    """The UTC epoch bucket number of ``started_at`` (exact integer arithmetic)."""
    us = F.unix_micros(F.col("started_at"))
    width = F.lit(TIME_KEYS[key] * 1_000_000)
    return F.floor((us - F.pmod(us, width)) / width).cast("long")


def _python(value: Any, kind: T.DataType) -> Any:
    """A pandas cell as the plain Python value Spark's ``kind`` takes (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(kind, T.IntegralType):
        return int(value)
    if isinstance(kind, T.FractionalType):
        return float(value)
    if isinstance(kind, T.BooleanType):
        return bool(value)
    return value


def check_spark_frame(frame: DataFrame) -> None:
    """Raise ``CallLogColumnsError`` unless ``frame``'s schema is a call log's."""
    fields = {f.name: f.dataType for f in frame.schema.fields}
    missing = [c for c in REQUIRED if c not in fields]
    wrong = {
        name: kind.simpleString()
        for name, kind in fields.items()
        if name in _KINDS and not _spark_fits(kind, _KINDS[name])
    }
    if missing or wrong:
        raise columns_error("Spark DataFrame", missing, wrong)


def _spark_fits(kind: T.DataType, expected: str) -> bool:
    if isinstance(kind, T.NullType):
        return True
    if expected in ("str", "category"):
        return isinstance(kind, T.StringType)
    if expected == "int":
        return isinstance(kind, T.IntegralType)
    if expected == "float":
        return isinstance(kind, T.NumericType)
    if expected == "bool":
        return isinstance(kind, T.BooleanType | T.IntegralType)
    if expected == "time":
        return isinstance(kind, T.TimestampType)
    return True
