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
from ..errors import InputError
from ._data import (
    DOWNLOAD,
    Selection,
    check_keys,
    finish_keys,
    resolve,
)
from .error_rates import rate_table
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
    raw = src.counts(_selection(keys, not_null=("seq_md5_ok",)), [*keys, "seq_md5_ok"])
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
    out = src.duplicate_groups(sel)
    out = out.astype({"copies": "int64", "calls": "int64"})
    out["seq_sha256"] = out["seq_sha256"].astype("str")
    out = out.sort_values(["copies", "seq_sha256"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(analysis="duplicate_sequences")
    return out


def duplicate_rate(
    data: Any, by: str | Sequence[str] | None = (), *, confidence: float = 0.95
) -> pd.DataFrame:
    """Downloads repeating a sequence an earlier download in the log already received.

    Every download with a SHA-256 is counted in the group of the call that made it; it is a
    **repeat** when an earlier download (by ``started_at``, then ``call_id``) of any region or
    level received the same bytes, so the groups' ``repeats`` add up to the log's; a call that
    downloads the same bytes twice counts once.  Columns:
    ``n`` (downloads with a SHA-256), ``distinct`` (n − repeats: the downloads that were first to
    receive their bytes), ``repeats``, ``rate`` (repeats / n) with Wilson ``rate_lo``/``rate_hi``.
    """
    keys = check_keys(by)
    src = resolve(data)
    sel = _selection(keys, not_null=("seq_sha256",))
    raw = src.first_seen(sel, keys)
    raw["distinct"] = raw["n"] - raw["repeats"]
    raw["repeats"] = raw["n"] - raw["distinct"]
    raw = raw.astype({"n": "int64", "distinct": "int64", "repeats": "int64"})
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
        raise InputError(f"unknown sequence properties {sorted(unknown)}; known: {SEQ_PROPERTIES}")
    src = resolve(data)
    labels = [(quantile_label(q), float(q)) for q in quantiles]
    ranks = QuantileRanks(quantiles, confidence, extra={"min": 1, "max": -1})

    gkeys = [*keys, "property"]
    merged = src.property_stats(_selection(keys), keys, properties, ranks)
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
        raise InputError(f"unknown sequence property {prop!r}; known: {SEQ_PROPERTIES}")
    if bins < 1:
        raise InputError(f"bins must be at least 1, got {bins}")
    src = resolve(data)
    sel = _selection(keys, not_null=(prop,))
    ext = src.sums(sel, [], [prop])
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
    counts = src.binned_counts(sel, keys, prop, start, width, nbins)
    counts["bin_lo"] = start + counts["_bin"].astype("float64") * width
    counts["bin_hi"] = counts["bin_lo"] + width
    out = finish_keys(counts[columns], [*keys, "bin_lo"])
    out["count"] = out["count"].astype("int64")
    out.attrs.update(
        analysis="property_histogram", property=prop, unit=PROPERTY_UNITS[prop], by=list(keys)
    )
    return out


def level_conformance(data: Any) -> pd.DataFrame:
    """Per requested level: do the decoded sequences look as the format documentation says?

    Columns: ``security_level``, ``n`` (decoded sequences), ``expects_frames``, ``with_frames``,
    ``expects_blinks``, ``with_blinks``, ``level_mismatch`` (level written ≠ level requested),
    ``violations`` (sequences breaking any rule) and ``conforms``.  Downloads whose call level is
    unknown are left out.
    """
    src = resolve(data)
    keys = ["security_level", "seq_level", "seq_frames", "seq_blinks"]
    raw = src.counts(_selection(keys, not_null=("seq_format",)), keys)
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
