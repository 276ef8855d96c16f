"""What a page covers: the data by name, campaigns, dates, counts, endpoints and toolkit version
(as figures; :mod:`faceid_tools.report.present.provenance` writes the page's block).

Every figure is computed with the analysis engine (both paths), so the counts here are the counts
the tables below them use: *calls* are logical GenerateReflectSequence calls (retries share a
``call_id``), *attempts* are its HTTP exchanges.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..client.regions import is_loopback_endpoint
from ..packaged import sample_version
from ._data import DOWNLOAD, GRS, Selection, is_missing, resolve, sort_values_of
from .timeseries import summary_table

__all__ = ["Provenance", "provenance"]


@dataclass(frozen=True)
class Provenance:
    """The facts a page states about its data (see :func:`provenance`), as figures and names;
    :func:`faceid_tools.report.present.provenance_markdown` writes them as the page's block."""

    data_name: str  # a file or folder name, never a machine path ("" for a DataFrame)
    data_kind: str  # "sample" (the packaged sample log), "dataset" (Parquet), "file", "frame"
    sample_version: str | None
    campaigns: list[str]
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    calls: int
    attempts: int
    downloads: int
    regions: list[str]
    levels: list[str]
    logged_attempts: int  # GenerateReflectSequence rows
    simulated_attempts: int  # of them, drawn by ``faceid-tools simulate``
    endpoints: list[str]
    loopback_endpoints: list[str]
    toolkit: str
    log_versions: list[str] = field(default_factory=list)
    retries: int | None = None

    @property
    def all_simulated(self) -> bool:
        """Every row drawn by ``simulate``: no request reached any service."""
        return bool(self.logged_attempts) and self.simulated_attempts == self.logged_attempts

    @property
    def emulator(self) -> bool:
        """The data comes from the emulator (on loopback) or its profile (simulated)."""
        if self.all_simulated:
            return True
        return bool(self.endpoints) and self.loopback_endpoints == self.endpoints


def _data_name(data: Any) -> tuple[str, str, str | None]:
    """The data's name (a file or folder name, never a machine path), kind and sample version."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        version = sample_version(path)
        if version is not None:
            return path.name, "sample", version
        return (path.name, "dataset", None) if path.is_dir() else (path.name, "file", None)
    inner = getattr(getattr(data, "dataset", None), "path", None)
    if inner is not None:
        return Path(inner).name, "dataset", None
    return "", "frame", None


def _campaign_retries(path: Path) -> int | None:
    """The retries of the log's campaigns (their largest), from a SQLite log's ``campaigns``."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = con.execute("SELECT max(retries) FROM campaigns").fetchone()
        return int(row[0]) if row and row[0] is not None else None
    except sqlite3.Error:
        return None
    finally:
        con.close()


def _listed(key: str, groups: pd.DataFrame) -> list[str]:
    """The values of ``key`` among the attempts, in display order, a missing one named last."""
    values = groups.loc[groups["count"] > 0, key].astype(object)
    return [str(v) for v in sort_values_of(key, values, missing=True)]


def provenance(data: Any, source: Any = None) -> Provenance:
    """The facts about ``data`` (a log path, dataset folder or DataFrame) a page opens with.

    ``source`` is the already-resolved ``analysis.source(data)`` to reuse (saves a second load).
    The emulator is recognised by loopback endpoints; its profile is not recorded in the log.
    """
    from .. import __version__

    src = source if source is not None else resolve(data)
    keys = ["campaign_id", "region", "security_level", "endpoint", "simulated", "client_version"]
    groups = src.counts(Selection(action=GRS), keys)
    minutes = src.counts(Selection(action=GRS), ["minute"])
    stamps = pd.to_numeric(minutes["minute"].astype(object), errors="coerce").dropna()
    first = pd.Timestamp(int(stamps.min()) * 60, unit="s", tz="UTC") if len(stamps) else None
    last = pd.Timestamp(int(stamps.max()) * 60, unit="s", tz="UTC") if len(stamps) else None
    calls = summary_table(src, None, quantiles=(0.5,), per="call")
    attempts = summary_table(src, None, quantiles=(0.5,), per="attempt")
    downloads = src.counts(Selection(action=DOWNLOAD), [])
    sim = groups.groupby("simulated", dropna=False)["count"].sum()
    sim_rows = int(
        sum(c for v, c in sim.items() if not is_missing(v) and str(v) in ("1", "1.0", "True"))
    )
    total = int(groups["count"].sum())
    endpoints = sorted({str(v) for v in groups["endpoint"].astype(object) if not is_missing(v)})
    path = Path(data) if isinstance(data, str | os.PathLike) else None
    name, kind, version = _data_name(data if data is not None else src)
    return Provenance(
        data_name=name,
        data_kind=kind,
        sample_version=version,
        campaigns=_listed("campaign_id", groups),
        first=first,
        last=last,
        calls=int(calls["n"].iloc[0]) if len(calls) else 0,
        attempts=int(attempts["n"].iloc[0]) if len(attempts) else 0,
        downloads=int(downloads["count"].iloc[0]) if len(downloads) else 0,
        regions=_listed("region", groups),
        levels=_listed("security_level", groups),
        logged_attempts=total,
        simulated_attempts=sim_rows,
        endpoints=endpoints,
        loopback_endpoints=[e for e in endpoints if is_loopback_endpoint(e)],
        toolkit=__version__,
        log_versions=_listed("client_version", groups),
        retries=_campaign_retries(path) if path is not None and path.is_file() else None,
    )
