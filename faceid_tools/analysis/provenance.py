"""What a page covers: the data by name, campaigns, dates, counts, service and toolkit version.

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
    """The facts a page states about its data (see :func:`provenance`)."""

    data_name: str
    campaigns: list[str]
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    calls: int
    attempts: int
    downloads: int
    regions: list[str]
    levels: list[str]
    service: str
    simulated: str
    toolkit: str
    log_versions: list[str] = field(default_factory=list)
    retries: int | None = None

    @property
    def emulator(self) -> bool:
        return self.service.startswith("emulator")

    def facts(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs, in the order a page shows them."""
        if self.first is None or self.last is None:
            span = "no calls"
        elif self.first.date() == self.last.date():
            span = f"{self.first:%Y-%m-%d %H:%M} – {self.last:%H:%M} UTC"
        else:
            span = f"{self.first:%Y-%m-%d %H:%M} – {self.last:%Y-%m-%d %H:%M} UTC"
        campaigns = ", ".join(self.campaigns[:4]) or "none (no calls)"
        if len(self.campaigns) > 4:
            campaigns += f" and {len(self.campaigns) - 4} more"
        written = ", ".join(self.log_versions) or "unknown"
        return [
            ("Data", self.data_name),
            ("Campaigns", campaigns),
            ("Time span", span),
            (
                "Counted",
                f"{self.calls:,} calls · {self.attempts:,} attempts · "
                f"{self.downloads:,} sequence downloads",
            ),
            (
                "Regions × levels",
                f"{len(self.regions)} × {len(self.levels)}: {', '.join(self.regions) or '—'}"
                f" × levels {', '.join(self.levels) or '—'}",
            ),
            ("Service", self.service),
            ("Simulated", self.simulated),
            ("Toolkit", f"faceid-tools {self.toolkit} (log written by {written})"),
        ]

    def markdown(self) -> str:
        """The block as Markdown (a bulleted list of facts)."""
        return "\n".join(f"- **{label}:** {value}" for label, value in self.facts())

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _data_name(data: Any) -> str:
    """The data's name: a file or folder name, never a machine path."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        version = sample_version(path)
        if version is not None:
            return f"the sample call log packaged with faceid-tools {version}"
        return f"{path.name} (Parquet dataset folder)" if path.is_dir() else path.name
    inner = getattr(getattr(data, "dataset", None), "path", None)
    if inner is not None:
        return f"{Path(inner).name} (Parquet dataset folder)"
    return "a call-log DataFrame"


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
    if sim_rows == 0:
        simulated = "no: every row is a real HTTP exchange"
    elif sim_rows == total:
        simulated = "yes: drawn by faceid-tools simulate (no HTTP)"
    else:
        simulated = f"partly: {sim_rows:,} of {total:,} attempts simulated"
    endpoints = {str(v) for v in groups["endpoint"].astype(object) if not is_missing(v)}
    local = {e for e in endpoints if is_loopback_endpoint(e)}
    if sim_rows == total and total:
        service = "emulator behaviour profile, simulated: no request reached any service"
    elif not endpoints:
        service = "unknown (no endpoint logged)"
    elif local == endpoints:
        service = "emulator on loopback (profile not recorded in the log)"
    elif local:
        service = "mixed: the real service and the emulator"
    else:
        service = "the real service (" + ", ".join(sorted(endpoints)[:3]) + ")"
    path = Path(data) if isinstance(data, str | os.PathLike) else None
    return Provenance(
        data_name=_data_name(data if data is not None else src),
        campaigns=_listed("campaign_id", groups),
        first=first,
        last=last,
        calls=int(calls["n"].iloc[0]) if len(calls) else 0,
        attempts=int(attempts["n"].iloc[0]) if len(attempts) else 0,
        downloads=int(downloads["count"].iloc[0]) if len(downloads) else 0,
        regions=_listed("region", groups),
        levels=_listed("security_level", groups),
        service=service,
        simulated=simulated,
        toolkit=__version__,
        log_versions=_listed("client_version", groups),
        retries=_campaign_retries(path) if path is not None and path.is_file() else None,
    )
