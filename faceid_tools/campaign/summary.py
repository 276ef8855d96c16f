"""The end-of-run summary of a campaign, computed from the log (so it also covers resumed runs)."""

from __future__ import annotations

import bisect
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ..calllog.rules import RepeatedSequences, final_outcome_counts
from .records import has_table
from .resume import DOWNLOAD, GRS


def parse_time(text: str) -> float:
    """A log timestamp (ISO-8601, UTC) as POSIX seconds."""
    return datetime.fromisoformat(text).timestamp()


def _time_or_none(text: str | None) -> float | None:
    """:func:`parse_time`, or None for a row without a readable ``started_at``."""
    if not text:
        return None
    try:
        return parse_time(text)
    except (TypeError, ValueError):
        return None


def max_starts_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """Most starts in any closed window ``[t, t + window]``, over every start time ``t``."""
    ts = sorted(times)
    best = 0
    for i, t in enumerate(ts):
        best = max(best, bisect.bisect_right(ts, t + window) - i)
    return best


def achieved_rate(times: Sequence[float]) -> float:
    """Starts per second over the span of the starts: ``(n - 1) / (last - first)``."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else float("inf")


def _quantile(values: list[float], q: float) -> float | None:
    """The analysis's estimate of the q-quantile of sorted ``values``: the order statistic of rank
    :func:`~faceid_tools.analysis.intervals.quantile_rank` (no interpolation)."""
    if not values:
        return None
    from ..analysis.intervals import quantile_rank  # scipy: loaded only when a run is summarised

    return values[quantile_rank(len(values), q) - 1]


@dataclass
class Summary:
    """What one run of a campaign did (and how far the whole campaign is)."""

    campaign_id: str
    planned: int  # calls in the plan
    completed: int  # plan calls complete, over every run
    calls: int  # logical GenerateReflectSequence calls in this run
    attempts: int  # GenerateReflectSequence requests (retries included)
    ok: int  # calls whose GenerateReflectSequence succeeded
    failed: int  # calls that failed for good
    errors_by_code: dict[str, int] = field(default_factory=dict)  # per attempt
    rate_limit_exceeded: int = 0  # attempts answered RequestLimitExceeded*
    downloads: int = 0
    integrity_failures: int = 0  # downloaded bytes failed their MD5
    download_failures: int = 0  # no bytes came back
    duplicates: int = 0  # sequences whose SHA-256 was already seen in the campaign
    elapsed_s: float = 0.0  # wall time of the run
    achieved_rate: float = 0.0  # GenerateReflectSequence starts per second
    max_starts_1s: int = 0  # most starts in any one-second window
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    interrupted: bool = False
    abandoned: int = 0  # in-flight calls left unfinished by a second Ctrl-C
    run: int = 1
    skipped_regions: dict[str, str] = field(default_factory=dict)  # region -> why (no device data)
    verdicts: str | None = None  # an until-decided run's verdict matrix, as plain text

    @property
    def error_rate(self) -> float:
        """Share of this run's calls that failed for good."""
        return self.failed / self.calls if self.calls else 0.0

    @property
    def remaining(self) -> int:
        return self.planned - self.completed

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["error_rate"] = self.error_rate
        d["remaining"] = self.remaining
        return d

    def format(self) -> str:
        """A short human-readable report."""
        lines = [
            f"campaign {self.campaign_id} (run {self.run})"
            + (" — interrupted" if self.interrupted else ""),
            f"  plan:        {self.completed}/{self.planned} calls complete"
            + (f", {self.remaining} to resume" if self.remaining else ""),
            f"  this run:    {self.calls} calls ({self.attempts} requests) in {self.elapsed_s:.1f} s,"
            f" {self.achieved_rate:.2f} calls/s, at most {self.max_starts_1s} starts in any 1 s",
            f"  outcomes:    {self.ok} ok, {self.failed} failed (error rate {self.error_rate:.1%})"
            " — calls, by their last GenerateReflectSequence attempt",
        ]
        if self.errors_by_code:
            codes = ", ".join(
                f"{c} {n} ({n / self.attempts:.1%})" for c, n in sorted(self.errors_by_code.items())
            )
            lines.append(f"  errors:      {codes} of requests")
        lines.append(f"  quota:       {self.rate_limit_exceeded} RequestLimitExceeded")
        lines.append(
            f"  sequences:   {self.downloads} downloaded, {self.integrity_failures} failed MD5,"
            f" {self.download_failures} download failures, {self.duplicates} duplicates"
        )
        if self.latency_p50_ms is not None:
            lines.append(
                f"  latency:     p50 {self.latency_p50_ms:.0f} ms, p99 {self.latency_p99_ms:.0f} ms"
                " (ok requests; order statistics, as the analysis)"
            )
        for region, why in self.skipped_regions.items():
            lines.append(f"  skipped:     {region}: device data upload failed ({why})")
        if self.abandoned:
            lines.append(
                f"  abandoned:   {self.abandoned} in-flight calls (will be redone on resume)"
            )
        return "\n".join(lines)


def summarize(
    conn: sqlite3.Connection,
    campaign_id: str,
    *,
    planned: int,
    completed: int,
    since: str | None = None,
    elapsed_s: float = 0.0,
    interrupted: bool = False,
    abandoned: int = 0,
    run: int = 1,
) -> Summary:
    """Summarise the campaign's rows started at or after ``since`` (ISO time; None: all)."""
    s = Summary(
        campaign_id,
        planned,
        completed,
        calls=0,
        attempts=0,
        ok=0,
        failed=0,
        elapsed_s=elapsed_s,
        interrupted=interrupted,
        abandoned=abandoned,
        run=run,
    )
    if not has_table(conn, "calls"):
        return s
    rows = conn.execute(
        "SELECT call_id, action, started_at, latency_ms, outcome, error_code, seq_sha256"
        " FROM calls WHERE campaign_id = ? AND action IN (?, ?) ORDER BY id",
        (campaign_id, GRS, DOWNLOAD),
    ).fetchall()
    t_since = parse_time(since) if since else None
    starts: list[float] = []
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    repeats = RepeatedSequences()
    for call_id, action, started_at, latency_ms, outcome, code, sha in rows:
        t = _time_or_none(started_at)
        in_run = t_since is None or (t is not None and t >= t_since)
        if action == DOWNLOAD:
            if in_run:
                s.downloads += 1
                if outcome == "integrity_error":
                    s.integrity_failures += 1
                elif outcome != "ok":
                    s.download_failures += 1
            if repeats.see(sha, call_id) and in_run:
                s.duplicates += 1
            continue
        if not in_run:
            continue
        if t is not None:
            starts.append(t)
        s.attempts += 1
        if outcome == "ok":
            if latency_ms is not None:
                latencies.append(float(latency_ms))
        else:
            codes[code or outcome or "unknown"] += 1
    run_rows = "campaign_id = ?" + (" AND started_at >= ?" if since else "")
    s.calls, s.failed = final_outcome_counts(
        conn, run_rows, (campaign_id, since)[: 2 if since else 1]
    )
    s.ok = s.calls - s.failed
    s.errors_by_code = dict(codes)
    s.rate_limit_exceeded = sum(n for c, n in codes.items() if c.startswith("RequestLimitExceeded"))
    s.achieved_rate = achieved_rate(starts)
    s.max_starts_1s = max_starts_in_window(starts)
    latencies.sort()
    s.latency_p50_ms = _quantile(latencies, 0.5)
    s.latency_p99_ms = _quantile(latencies, 0.99)
    return s
