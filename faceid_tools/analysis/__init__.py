"""Analysis of FaceID call logs: latency, errors, comparisons, sequences, time, SLO review.

Every function takes ``data`` — a DataFrame from :func:`faceid_tools.load_calls`, a SQLite log
path, a Parquet dataset folder (aggregated in DuckDB; only aggregates reach pandas), or a
``pyspark.sql.DataFrame`` with the call-log columns (aggregated in Spark; ``faceid-tools[spark]``)
— and returns a tidy DataFrame: group columns, then estimates with ``*_lo``/``*_hi`` interval
columns (95% by default), the same whatever the engine.  Group keys (``by``) are call-log columns
or ``minute``/``hour``/``day`` (UTC).  Each metric is defined once, over the few operations of
:class:`._engine.Engine`; each engine (pandas, DuckDB, Spark) implements them in its own module.

Input (:mod:`._data`)
    source             resolve data once (load a SQLite log / open a Parquet dataset) for reuse
    ParquetDataset     a Parquet dataset folder, explicitly
Latency (:mod:`.latency`)
    latency_summary    count and p50/p90/p95/p99 of service latency with order-statistic CIs
    queueing_summary   the same for ``queued_ms`` (time waiting for the client's rate limiter)
    latency_ecdf       empirical CDF at a grid of order statistics (for plots)
Errors (:mod:`.errors`)
    error_rates        failure rate per attempt or per logical call, Wilson CIs
    error_codes        rate of each error code per group, Wilson CIs
    outcome_breakdown  share of each outcome class (ok, api_error, timeout, ...), Wilson CIs
Comparisons (:mod:`.compare`)
    compare_latency      pairs of regions/levels: Mann–Whitney, median difference + CI, Holm
    compare_error_rates  pairs of regions/levels: Fisher exact, risk difference + CI, Holm
Sequences (:mod:`.sequences`)
    integrity_rate         share of downloaded sequences whose MD5 matched, Wilson CIs
    duplicate_sequences    sequences served to more than one call, with their call ids
    duplicate_rate         downloads repeating bytes an earlier call received (any group), Wilson
    sequence_properties    size, entropy and decoded frames/colours/duration/blinks per level
    property_histogram     binned distribution of one sequence property per group
    level_conformance      per level: do sequences carry light frames / blink cues as documented
Time (:mod:`.timeseries`)
    time_series        per minute/hour/day: p95 latency and error rate with CIs (gaps filled)
    time_bucket        the bucket (minute, hour, day) that suits the span of the data
    hourly_series      time_series per hour
    summary_table      per group: error rate and latency percentiles side by side, with CIs
    daily_summary      region × level × day: counts, error rate, p50/p95/p99 with CIs
Review (:mod:`.review`)
    SLO                the thresholds: p95 latency, error rate, integrity rate
    slo_verdicts       pass / fail / not enough data per region × level, per region, per level
                       and on all calls, each from its own data, with the calls still needed
    verdict_matrix     the verdicts as a region × level table
Decisions (:mod:`.decisions`)
    cell_decisions     per cell and per margin (region, level, all calls): its own verdict
    key_rows           the evidence rows that matter (fails and open objectives, every grain)
    probe_plan         the open cells' regions, levels and expected calls (ProbePlan)
Findings (:mod:`.findings`)
    top_findings       the most important findings as Finding records (the numbers; the
                       sentences: faceid_tools.report.present.top_findings)
Provenance (:mod:`.provenance`)
    provenance         what a page covers: data name, campaigns, dates, counts, service, version
Since the baseline (:mod:`.baseline`)
    compare_to_baseline  per group × metric: change vs a baseline with intervals, Holm, verdicts
    window               a period and/or campaigns of one log, as data for any analysis
    change_matrix        the verdicts as a region × level table (:mod:`.baseline_review`)
    change_findings      regressions first, then improvements, with their intervals (ChangeFindings;
                         the sentences: faceid_tools.report.present.change_findings)
    describe_data        what a log holds: calls, campaigns, days (DataSpan; the line:
                         faceid_tools.report.present.describe_data)
Intervals (:mod:`.intervals`) hold the shared arithmetic (order-statistic ranks, Wilson, Newcombe,
Bonett–Price, Holm).
"""

from __future__ import annotations

from ._data import ParquetDataset, source
from .baseline import compare_to_baseline, window
from .baseline_review import (
    ChangeFindings,
    DataSpan,
    change_findings,
    change_matrix,
    describe_data,
)
from .compare import compare_error_rates, compare_latency
from .decisions import ProbePlan, cell_decisions, key_rows, probe_plan
from .error_rates import error_codes, error_rates, outcome_breakdown
from .findings import Finding, top_findings
from .latency import DEFAULT_QUANTILES, latency_ecdf, latency_summary, queueing_summary
from .provenance import Provenance, provenance
from .review import SLO, slo_verdicts, verdict_matrix
from .sequences import (
    duplicate_rate,
    duplicate_sequences,
    integrity_rate,
    level_conformance,
    property_histogram,
    sequence_properties,
)
from .timeseries import daily_summary, hourly_series, summary_table, time_bucket, time_series

__all__ = [
    "DEFAULT_QUANTILES",
    "SLO",
    "ChangeFindings",
    "DataSpan",
    "Finding",
    "ParquetDataset",
    "ProbePlan",
    "Provenance",
    "cell_decisions",
    "change_findings",
    "change_matrix",
    "compare_error_rates",
    "compare_latency",
    "compare_to_baseline",
    "daily_summary",
    "describe_data",
    "duplicate_rate",
    "duplicate_sequences",
    "error_codes",
    "error_rates",
    "hourly_series",
    "integrity_rate",
    "key_rows",
    "latency_ecdf",
    "latency_summary",
    "level_conformance",
    "outcome_breakdown",
    "probe_plan",
    "property_histogram",
    "provenance",
    "queueing_summary",
    "sequence_properties",
    "slo_verdicts",
    "source",
    "summary_table",
    "time_bucket",
    "time_series",
    "top_findings",
    "verdict_matrix",
    "window",
]
