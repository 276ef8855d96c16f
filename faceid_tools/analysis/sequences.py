"""Downloaded light sequences: integrity, duplicates, property distributions, level conformance.

Rows are the ``DownloadSequence`` exchanges with their ``seq_*`` columns.  A download row's level is
its own ``security_level`` or, when empty, that of the GenerateReflectSequence call it belongs to
(same ``call_id``).  Conformance follows ``docs/sequence-format.md`` (``faceid_tools.seqformat``):
light frames at levels 3 and 4 only, blink cues at levels 2 and 4 only, and the level written in
the sequence equal to the level requested.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import seqformat
from . import _engine
from ._data import (
    DOWNLOAD,
    DuckSource,
    PandasSource,
    Selection,
    Source,
    as_float,
    check_keys,
    finish_keys,
    merge_null_safe,
    resolve,
)
from .errors import rate_table
from .intervals import quantile_label
from .latency import QuantileRanks

__all__ = [
    "PROPERTY_UNITS",
    "SEQ_PROPERTIES",
    "duplicate_rate",
    "duplicate_sequences",
    "integrity_rate",
    "level_conformance",
    "property_histogram",
    "sequence_properties",
]

#: The numeric sequence properties and their units.
PROPERTY_UNITS: dict[str, str] = {
    "seq_size": "bytes",
    "seq_entropy": "bits/byte",
    "seq_frames": "frames",
    "seq_colours": "colours",
    "seq_duration_ms": "ms",
    "seq_blinks": "blink cues",
}
SEQ_PROPERTIES: tuple[str, ...] = tuple(PROPERTY_UNITS)
_INTEGER_PROPERTIES = frozenset(
    {"seq_size", "seq_frames", "seq_colours", "seq_duration_ms", "seq_blinks"}
)


def _selection(keys: Sequence[str], **kw: Any) -> Selection:
    return Selection(action=DOWNLOAD, call_level="security_level" in keys, **kw)


def integrity_rate(
    data: Any, by: str | Sequence[str] | None = (), *, confidence: float = 0.95
) -> pd.DataFrame:
    """Share of downloaded sequences whose MD5 matched: ``n``, ``verified``, ``rate`` (+ Wilson)."""
    keys = check_keys(by)
    src = resolve(data)
    raw = _engine.counts(src, _selection(keys, not_null=("seq_md5_ok",)), [*keys, "seq_md5_ok"])
    ok = raw["seq_md5_ok"].astype(object).map(lambda v: bool(v) if v is not None else False)
    raw = raw.assign(_ok=np.where(ok, raw["count"], 0))
    totals = _sum_by(raw, keys, n=("count", "sum"), verified=("_ok", "sum"))
    out = rate_table(totals, keys, confidence, k="verified")
    out.attrs.update(analysis="integrity_rate", by=list(keys), confidence=confidence)
    return out


def _sum_by(raw: pd.DataFrame, keys: Sequence[str], **aggs: tuple[str, str]) -> pd.DataFrame:
    if keys:
        totals = (
            raw.groupby(list(keys), dropna=False, sort=False, observed=True)
            .agg(**aggs)
            .reset_index()
        )
    else:
        totals = pd.DataFrame({name: [raw[col].sum()] for name, (col, _) in aggs.items()})
    totals = finish_keys(totals, keys)
    for name in aggs:
        totals[name] = totals[name].astype("int64")
    return totals


def duplicate_sequences(data: Any) -> pd.DataFrame:
    """Sequences (by ``seq_sha256``) downloaded for more than one call.

    Columns: ``seq_sha256``, ``copies`` (downloads), ``calls`` (distinct calls; a download without
    a ``call_id`` counts as its own call) and ``call_ids`` (sorted tuple); most copies first.
    """
    src = resolve(data)
    sel = Selection(action=DOWNLOAD, not_null=("seq_sha256",))
    if isinstance(src, PandasSource):
        df = src.select(sel, ["seq_sha256"], ["call_id"])
        ids = df["call_id"].astype(object)
        g = ids.groupby(df["seq_sha256"], sort=False)
        calls = g.nunique(dropna=True) + ids.isna().groupby(df["seq_sha256"], sort=False).sum()
        dup = calls[calls > 1].index
        block = df[df["seq_sha256"].isin(dup)]
        rows = [
            {
                "seq_sha256": sha,
                "copies": len(b),
                "calls": int(calls[sha]),
                "call_ids": tuple(sorted({str(v) for v in b["call_id"].dropna()})),
            }
            for sha, b in block.groupby("seq_sha256", sort=False)
        ]
        out = pd.DataFrame(rows, columns=["seq_sha256", "copies", "calls", "call_ids"])
    else:
        base = src.base_sql(sel, ["seq_sha256"], ["call_id"])
        # Group 64-bit hashes first (a cheap key), then check the few candidates exactly.
        sql = (
            f"WITH b AS ({base}), "
            "h AS (SELECT hash(seq_sha256) AS hk FROM b GROUP BY hk HAVING count(*) > 1) "
            "SELECT seq_sha256, count(*) AS copies, "
            "count(DISTINCT call_id) + count(*) FILTER (WHERE call_id IS NULL) AS calls, "
            "list_sort(list(DISTINCT call_id) FILTER (WHERE call_id IS NOT NULL)) AS call_ids "
            "FROM b WHERE hash(seq_sha256) IN (SELECT hk FROM h) GROUP BY seq_sha256 "
            "HAVING count(DISTINCT call_id) + count(*) FILTER (WHERE call_id IS NULL) > 1"
        )
        out = src.query(sql)
        out["call_ids"] = [
            tuple(str(v) for v in (ids if ids is not None else [])) for ids in out["call_ids"]
        ]
    out = out.astype({"copies": "int64", "calls": "int64"})
    out["seq_sha256"] = out["seq_sha256"].astype("str")
    out = out.sort_values(["copies", "seq_sha256"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(analysis="duplicate_sequences")
    return out


def duplicate_rate(
    data: Any, by: str | Sequence[str] | None = (), *, confidence: float = 0.95
) -> pd.DataFrame:
    """Downloads whose bytes an earlier call in the log already received, per group.

    A call's sequence (``seq_sha256``) is a **repeat** when any earlier call in the whole log —
    any region, any level — received the same bytes (earlier: by ``started_at``, then ``id``); it
    counts in the group of the repeating call, so the groups' repeats add up to the log's.  A call
    that downloads the same bytes twice counts once; a download without a ``call_id`` is a call
    of its own.  Columns: ``n`` (calls' downloads with a SHA-256), ``distinct`` (first receipts,
    = n − repeats), ``repeats``, ``rate`` (repeats / n) with Wilson ``rate_lo``/``rate_hi``.
    """
    keys = check_keys(by)
    src = resolve(data)
    sel = _selection(keys, not_null=("seq_sha256",))
    order = ["started_at", "id"]
    if isinstance(src, PandasSource):
        order = [c for c in order if c in src.frame.columns]  # a frame without ids: its row order
        df = src.select(sel, keys, ["seq_sha256", "call_id", *order])
        df = df.sort_values(order, kind="stable")
        ids = df["call_id"].astype(object)
        own = pd.Series([f"#row {i}" for i in df.index], index=df.index, dtype=object)
        caller = ids.where(ids.notna(), own)
        df = df[~pd.DataFrame({"s": df["seq_sha256"], "c": caller}).duplicated()]
        df = df.assign(_repeat=df["seq_sha256"].duplicated().to_numpy(dtype="int64"))
        if keys:
            g = df.groupby(list(keys), dropna=False, sort=False, observed=True)["_repeat"]
            raw = pd.DataFrame({"n": g.size(), "repeats": g.sum()}).reset_index()
        else:
            raw = pd.DataFrame({"n": [len(df)], "repeats": [int(df["_repeat"].sum())]})
    else:
        base = src.base_sql(sel, keys, ["seq_sha256", "call_id", *order])
        group = ", ".join(keys)
        sel_keys = f"{group}, " if keys else ""
        by_keys = f" GROUP BY {group}" if keys else ""
        caller_sql = "coalesce(call_id, '#row ' || CAST(id AS VARCHAR))"
        raw = src.query(
            f"WITH b AS ({base}), "
            "u AS (SELECT *, row_number() OVER (PARTITION BY seq_sha256, "
            f"{caller_sql} ORDER BY started_at, id) AS rc FROM b), "
            "v AS (SELECT *, row_number() OVER (PARTITION BY seq_sha256 "
            "ORDER BY started_at, id) AS rs FROM u WHERE rc = 1) "
            f"SELECT {sel_keys}count(*) AS n, count(*) FILTER (WHERE rs > 1) AS repeats "
            f"FROM v{by_keys}"
        )
    raw = raw.astype({"n": "int64", "repeats": "int64"})
    raw["distinct"] = raw["n"] - raw["repeats"]
    totals = _sum_by(
        raw, keys, n=("n", "sum"), distinct=("distinct", "sum"), repeats=("repeats", "sum")
    )
    out = rate_table(totals, keys, confidence, k="repeats")
    out.attrs.update(analysis="duplicate_rate", by=list(keys), confidence=confidence)
    return out


def sequence_properties(
    data: Any,
    by: str | Sequence[str] | None = ("security_level",),
    *,
    properties: Sequence[str] = SEQ_PROPERTIES,
    quantiles: Sequence[float] = (0.5,),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Distribution summary of sequence properties per group (long form, one row per property).

    Columns: keys, ``property``, ``unit``, ``n``, ``mean``, ``min``, ``p50`` with ``p50_lo`` /
    ``p50_hi`` (order-statistic CI; other ``quantiles`` likewise), ``max``.  Decoded properties
    (frames, colours, duration, blinks) exist only for sequences in the documented format.
    """
    keys = check_keys(by)
    unknown = set(properties) - set(PROPERTY_UNITS)
    if unknown:
        raise ValueError(f"unknown sequence properties {sorted(unknown)}; known: {SEQ_PROPERTIES}")
    src = resolve(data)
    labels = [(quantile_label(q), float(q)) for q in quantiles]
    ranks = QuantileRanks(quantiles, confidence, extra={"min": 1, "max": -1})

    gkeys = [*keys, "property"]
    if isinstance(src, DuckSource):
        merged = _properties_duckdb(src, list(keys), list(properties), ranks)
    else:
        sel = _selection(keys, unpivot=tuple(properties))
        stats = _engine.order_statistics(src, sel, gkeys, "value", ranks)
        sums = _engine.sums(src, sel, gkeys, ["value"])[[*gkeys, "sum_value"]]
        merged = merge_null_safe(stats, sums, gkeys)
    merged["mean"] = merged["sum_value"].astype("float64") / merged["n"].astype("float64")
    qcols = [c for label, _ in labels for c in (label, f"{label}_lo", f"{label}_hi")]
    columns = [*gkeys, "n", "mean", "min", *qcols, "max"]
    out = finish_keys(merged.reindex(columns=columns), keys)
    order = {p: i for i, p in enumerate(properties)}
    out["_o"] = out["property"].map(order)
    out = out.sort_values([*keys, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    out["property"] = out["property"].astype("str")
    out.insert(len(keys) + 1, "unit", out["property"].map(PROPERTY_UNITS).astype("str"))
    out["n"] = out["n"].astype("int64")
    for c in columns[len(gkeys) + 1 :]:
        out[c] = out[c].astype("float64")
    out.attrs.update(analysis="sequence_properties", by=list(keys), confidence=confidence)
    return out


def _properties_duckdb(
    src: DuckSource, keys: list[str], properties: list[str], ranks: _engine.RankFn
) -> pd.DataFrame:
    """Order statistics and sums per (keys, property) in two scans.

    Integer properties take few distinct values: one GROUPING SETS query counts every value (the
    order statistics follow exactly from the cumulative counts) and, in the same scan, counts
    and sums the real-valued ones (entropy), whose order statistics then take one
    ``quantile_disc`` pass.
    """
    ints = [p for p in properties if p in _INTEGER_PROPERTIES]
    reals = [p for p in properties if p not in _INTEGER_PROPERTIES]
    sel_keys = "".join(f"{k}, " for k in keys)
    sets = ["(" + ", ".join([*keys, p]) + ")" for p in ints]
    if reals:
        sets.append("(" + ", ".join(keys) + ")")
    flags = "".join(f"GROUPING({p}) AS _g_{p}, " for p in ints)
    casts = "".join(f"CAST({p} AS DOUBLE) AS {p}, " for p in ints)
    real_aggs = "".join(
        f", count({p}) AS _n_{p}, sum(CAST({p} AS DOUBLE)) AS _s_{p}" for p in reals
    )
    while True:
        base = src.base_sql(_selection(keys), keys, [*ints, *reals])
        counted = src.query(
            f"SELECT {sel_keys}{casts}{flags}count(*) AS count{real_aggs} "
            f"FROM ({base}) GROUP BY GROUPING SETS ({', '.join(sets)})"
        )
        if not src.check_categories(counted, keys):
            break
    keys_only = counted
    for p in ints:
        keys_only = keys_only[keys_only[f"_g_{p}"] == 1]
    parts = []
    for p in ints:
        block = counted[(counted[f"_g_{p}"] == 0) & counted[p].notna()]
        hist = block[[*keys, p, "count"]].rename(columns={p: "value"})
        stats = _engine.order_statistics_from_counts(hist, keys, ranks)
        parts.append(stats.assign(property=p))
    for p in reals:
        groups = keys_only[[*keys, f"_n_{p}"]].rename(columns={f"_n_{p}": "n"})
        stats = _engine.order_statistics(src, _selection(keys), keys, p, ranks, groups=groups)
        sums = keys_only[[*keys, f"_s_{p}"]].rename(columns={f"_s_{p}": "sum_value"})
        stats = merge_null_safe(stats, sums, keys)
        parts.append(stats.assign(property=p))
    if not parts:
        return pd.DataFrame(columns=[*keys, "property", "n", "sum_value"])
    return pd.concat(parts, ignore_index=True)


def property_histogram(
    data: Any,
    prop: str = "seq_entropy",
    *,
    by: str | Sequence[str] | None = ("security_level",),
    bins: int = 30,
) -> pd.DataFrame:
    """Counts of one sequence property in bins shared by all groups.

    Columns: keys, ``bin_lo``, ``bin_hi``, ``count``.  Integer properties spanning at most
    ``bins`` values get one bin per value (edges at ±0.5); otherwise ``bins`` equal-width bins
    from the minimum to the maximum (the last bin closed).
    """
    keys = check_keys(by)
    if prop not in PROPERTY_UNITS:
        raise ValueError(f"unknown sequence property {prop!r}; known: {SEQ_PROPERTIES}")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    src = resolve(data)
    sel = _selection(keys, not_null=(prop,))
    ext = _engine.sums(src, sel, [], [prop])
    columns = [*keys, "bin_lo", "bin_hi", "count"]
    if ext.empty or int(ext[f"n_{prop}"].iloc[0]) == 0:
        out = finish_keys(pd.DataFrame({c: [] for c in columns}), keys)
        out.attrs.update(analysis="property_histogram", property=prop, unit=PROPERTY_UNITS[prop])
        return out
    lo, hi = float(ext[f"min_{prop}"].iloc[0]), float(ext[f"max_{prop}"].iloc[0])
    if prop in _INTEGER_PROPERTIES and hi - lo + 1 <= bins:
        nbins, start, width = int(hi - lo + 1), lo - 0.5, 1.0
    else:
        nbins, start = bins, lo
        width = (hi - lo) / bins if hi > lo else 1.0
    counts = _bin_counts(src, sel, keys, prop, start, width, nbins)
    counts["bin_lo"] = start + counts["_bin"].astype("float64") * width
    counts["bin_hi"] = counts["bin_lo"] + width
    out = finish_keys(counts[columns], [*keys, "bin_lo"])
    out["count"] = out["count"].astype("int64")
    out.attrs.update(
        analysis="property_histogram", property=prop, unit=PROPERTY_UNITS[prop], by=list(keys)
    )
    return out


def _bin_counts(
    src: Source,
    sel: Selection,
    keys: Sequence[str],
    prop: str,
    start: float,
    width: float,
    nbins: int,
) -> pd.DataFrame:
    if isinstance(src, PandasSource):
        df = src.select(sel, keys, [prop])
        x = as_float(df[prop]).to_numpy()
        idx = np.minimum(np.floor((x - start) / width), nbins - 1).astype("int64")
        df = df.assign(_bin=idx)
        return (
            df.groupby([*keys, "_bin"], dropna=False, sort=False, observed=True)
            .size()
            .rename("count")
            .reset_index()
        )
    assert isinstance(src, DuckSource)
    base = src.base_sql(sel, keys, [prop])
    bucket = (
        f"CAST(least(floor((CAST({prop} AS DOUBLE) - {start!r}) / {width!r}), {nbins - 1}) "
        "AS BIGINT)"
    )
    sel_keys = "".join(f"{k}, " for k in keys)
    return src.query(
        f"SELECT {sel_keys}{bucket} AS _bin, count(*) AS count FROM ({base}) "
        f"GROUP BY {sel_keys}_bin"
    )


def level_conformance(data: Any) -> pd.DataFrame:
    """Per requested level: do the decoded sequences look as the format documentation says?

    Columns: ``security_level``, ``n`` (decoded sequences), ``expects_frames``, ``with_frames``,
    ``expects_blinks``, ``with_blinks``, ``level_mismatch`` (level written ≠ level requested),
    ``violations`` (sequences breaking any rule) and ``conforms``.  Downloads whose call level is
    unknown are left out.
    """
    src = resolve(data)
    keys = ["security_level", "seq_level", "seq_frames", "seq_blinks"]
    raw = _engine.counts(src, _selection(keys, not_null=("seq_format",)), keys)
    rows = []
    for level in ("1", "2", "3", "4"):
        block = raw[raw["security_level"].astype(object) == level]
        lv = int(level)
        frames = _as_int(block["seq_frames"])
        blinks = _as_int(block["seq_blinks"])
        written = _as_int(block["seq_level"])
        cnt = block["count"].to_numpy(dtype="int64")
        expects_frames = lv in seqformat.LIGHT_LEVELS
        expects_blinks = lv in seqformat.BLINK_LEVELS
        has_frames = frames > 0
        has_blinks = blinks > 0
        mismatch = written != lv
        bad = (has_frames != expects_frames) | (has_blinks != expects_blinks) | mismatch
        rows.append(
            {
                "security_level": level,
                "n": int(cnt.sum()),
                "expects_frames": expects_frames,
                "with_frames": int(cnt[has_frames].sum()),
                "expects_blinks": expects_blinks,
                "with_blinks": int(cnt[has_blinks].sum()),
                "level_mismatch": int(cnt[mismatch].sum()),
                "violations": int(cnt[bad].sum()),
            }
        )
    out = pd.DataFrame(rows)
    out = out[out["n"] > 0]
    out["conforms"] = out["violations"] == 0
    out = finish_keys(out, ["security_level"])
    out.attrs.update(analysis="level_conformance")
    return out


def _as_int(values: pd.Series) -> np.ndarray:
    return np.array([0 if pd.isna(v) else int(v) for v in values.astype(object)], dtype="int64")
