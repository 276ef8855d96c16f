"""A quick summary of an SQLite call log, aggregated in SQL (cheap even for millions of rows)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import CallLogError, MissingInputError
from .conventions import missing_name
from .migrations import user_version
from .rules import final_outcome_counts

__all__ = ["LogSummary", "format_summary", "summarize"]


@dataclass
class LogSummary:
    """Counts of a call log: rows, logical calls, and rows per category, error code and time span."""

    path: str
    schema_version: int
    campaign_id: str | None
    rows: int
    calls: int
    campaigns: int
    simulated_rows: int
    first_started_at: str | None
    last_started_at: str | None
    by_action: dict[str, int] = field(default_factory=dict)
    by_region: dict[str, int] = field(default_factory=dict)
    by_security_level: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)
    mean_latency_ms_ok: dict[str, float] = field(default_factory=dict)
    #: GenerateReflectSequence calls, and those whose final outcome is a failure
    #: (:mod:`.rules`): what a campaign's summary calls "calls" and "failed".
    generate_calls: int = 0
    generate_failed: int = 0
    #: p50 and p99 latency of ok rows per action: order statistics of rank
    #: :func:`~faceid_tools.analysis.intervals.quantile_rank`, as the analysis estimates them.
    latency_quantiles_ms_ok: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(path: str | os.PathLike[str], *, campaign_id: str | None = None) -> LogSummary:
    """Summarise the log at ``path`` (read only; nothing is created or migrated)."""
    file = Path(path)
    if file.is_dir():
        raise CallLogError(
            f"{file}: a folder, not a SQLite call log (a Parquet dataset is summarised by the "
            "analysis and the report pages; give the SQLite log it was exported from)"
        )
    if not file.is_file():
        raise MissingInputError(f"no call log at {file}")
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        try:
            return _summarize(conn, str(file), campaign_id)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CallLogError(f"{file}: not a readable call log (SQLite: {exc})") from exc


def _summarize(conn: sqlite3.Connection, path: str, campaign_id: str | None) -> LogSummary:
    version = user_version(conn)
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'"
    ).fetchone()
    if has_table is None:
        return LogSummary(path, version, campaign_id, 0, 0, 0, 0, None, None)
    where, params = ("WHERE campaign_id = ?", (campaign_id,)) if campaign_id else ("", ())

    def one(select: str) -> Any:
        return conn.execute(f"SELECT {select} FROM calls {where}", params).fetchone()

    rows, calls, campaigns, simulated, first, last = one(
        "count(*), count(DISTINCT call_id), count(DISTINCT campaign_id), "
        "coalesce(sum(simulated = 1), 0), min(started_at), max(started_at)"
    )

    def by(column: str, *, extra: str = "") -> dict[str, int]:
        cond = f"{where} {'AND' if where else 'WHERE'} {extra}" if extra else where
        cursor = conn.execute(
            f"SELECT coalesce({column}, ''), count(*) FROM calls {cond} "
            f"GROUP BY 1 ORDER BY 1 = '', 2 DESC, 1",
            params,
        )
        named: dict[str, int] = {}
        for k, n in cursor:  # NULL and '' are one group, by the column's missing name
            name = str(k) if k != "" else missing_name(column)
            named[name] = named.get(name, 0) + int(n)
        return named

    latency = {
        str(action or missing_name("action")): float(mean)
        for action, mean in conn.execute(
            f"SELECT action, avg(latency_ms) FROM calls "
            f"{where} {'AND' if where else 'WHERE'} outcome = 'ok' GROUP BY action ORDER BY action",
            params,
        )
        if mean is not None
    }
    generate_calls, generate_failed = final_outcome_counts(
        conn, "campaign_id = ?" if campaign_id else "", params
    )
    return LogSummary(
        path=path,
        schema_version=version,
        campaign_id=campaign_id,
        rows=int(rows),
        calls=int(calls),
        campaigns=int(campaigns),
        simulated_rows=int(simulated),
        first_started_at=first,
        last_started_at=last,
        by_action=by("action"),
        by_region=by("region"),
        by_security_level=by("security_level"),
        by_outcome=by("outcome"),
        error_codes=by("error_code", extra="error_code IS NOT NULL"),
        mean_latency_ms_ok=latency,
        generate_calls=int(generate_calls),
        generate_failed=int(generate_failed),
        latency_quantiles_ms_ok=_quantiles(conn, where, params),
    )


QUANTILES = {"p50": 0.5, "p99": 0.99}


def _quantiles(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> dict[str, Any]:
    """p50 and p99 of ok rows' latency per action, as order statistics (the analysis's estimate)."""
    from ..analysis.intervals import quantile_rank  # scipy: loaded only when summarising

    cond = f"{where} {'AND' if where else 'WHERE'} outcome = 'ok' AND latency_ms IS NOT NULL"
    out: dict[str, dict[str, float]] = {}
    counts = conn.execute(
        f"SELECT action, count(*) FROM calls {cond} AND action IS NOT NULL "
        "GROUP BY action ORDER BY action",
        params,
    ).fetchall()
    for action, n in counts:
        out[str(action)] = {
            name: float(
                conn.execute(
                    f"SELECT latency_ms FROM calls {cond} AND action = ? "
                    "ORDER BY latency_ms LIMIT 1 OFFSET ?",
                    (*params, action, quantile_rank(int(n), q) - 1),
                ).fetchone()[0]
            )
            for name, q in QUANTILES.items()
        }
    return out


def _span(first: str | None, last: str | None) -> str:
    if not first or not last:
        return "no rows"
    try:
        seconds = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    except ValueError:
        return f"{first} → {last}"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    length = f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"
    return f"{first} → {last} ({length})"


def _table(title: str, counts: dict[str, int], total: int) -> list[str]:
    if not counts:
        return [f"{title}: none"]
    width = max(len(k) for k in counts)
    lines = [f"{title}:"]
    for key, n in counts.items():
        share = 100.0 * n / total if total else 0.0
        lines.append(f"  {key:<{width}}  {n:>10,}  {share:5.1f}%")
    return lines


def format_summary(s: LogSummary) -> str:
    """The summary as the text ``faceid-tools calls`` prints."""
    scope = f", campaign {s.campaign_id}" if s.campaign_id else ""
    lines = [
        f"call log {s.path} (schema v{s.schema_version}{scope})",
        f"rows: {s.rows:,}   calls: {s.calls:,} (distinct call_id, uploads included)   "
        f"campaigns: {s.campaigns:,}   simulated rows: {s.simulated_rows:,}",
        f"GenerateReflectSequence calls: {s.generate_calls:,}, "
        f"{s.generate_calls - s.generate_failed:,} ok, {s.generate_failed:,} failed "
        "(by their last attempt, as a campaign's summary counts them)",
        f"time span: {_span(s.first_started_at, s.last_started_at)}",
    ]
    for title, counts in (
        ("by action", s.by_action),
        ("by region", s.by_region),
        ("by security level", s.by_security_level),
        ("by outcome", s.by_outcome),
        ("error codes", s.error_codes),
    ):
        lines += _table(title, counts, s.rows)
    if s.mean_latency_ms_ok:
        lines.append("latency of ok rows (p50 and p99 are order statistics, as in the analysis):")
        width = max(map(len, s.mean_latency_ms_ok))
        for a, ms in s.mean_latency_ms_ok.items():
            q = s.latency_quantiles_ms_ok.get(a, {})
            quantiles = "".join(f"  {k} {q[k]:,.1f} ms" for k in QUANTILES if k in q)
            lines.append(f"  {a:<{width}}  mean {ms:,.1f} ms{quantiles}")
    return "\n".join(lines)
