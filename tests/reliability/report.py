"""Collect the figures the reliability tests record and render ``docs/reliability.md``.

:class:`Collector` is a pytest plugin: it reads each test's outcome and the figures it recorded
(``user_properties`` under :data:`~tests.reliability.conftest.PROPERTY`, forwarded by xdist too).
:func:`render` turns them into a summary table (one row per point of issue 7) and one detail table
per point.  Nothing in the tables is typed by hand: every number comes from the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

PROPERTY = "reliability"  # keep in step with conftest.PROPERTY
#: Beyond this many detail keys an area's table gets one "Details" column instead.
MAX_DETAIL_COLUMNS = 8


@dataclass(frozen=True)
class Area:
    number: str
    title: str
    unit: str  #: what ``times`` counts
    tried: str  #: what was tried, in a phrase


#: Test module -> the point of the issue it proves.
AREAS: dict[str, Area] = {
    "test_faults": Area(
        "1",
        "Fault matrix",
        "exchanges",
        "every wire fault: one call each (typed error, one row per attempt, retry policy), "
        "a recovery after one retryable fault, a campaign through the fault",
    ),
    "test_crashes": Area(
        "2",
        "Crashes",
        "SIGKILLs",
        "SIGKILL of a `faceid-tools probe` subprocess at a random moment, then `--resume` "
        "(itself killed again at random until a run completes)",
    ),
    "test_concurrency": Area(
        "3",
        "Concurrency",
        "rows",
        "4 processes × 8 threads logging through clients into one SQLite file at once",
    ),
    "test_load": Area(
        "4",
        "Load",
        "requests",
        "16-thread flood of an emulator subprocess (quota lifted), then with the quota on",
    ),
    "test_hostile_client": Area(
        "5a",
        "Hostile input: client",
        "examples",
        "random malformed calls and constructor arguments (hypothesis)",
    ),
    "test_hostile_emulator": Area(
        "5b",
        "Hostile input: emulator",
        "examples",
        "raw-socket junk, broken framing, header floods (hypothesis)",
    ),
    "test_hostile_files": Area(
        "5c",
        "Hostile input: files",
        "examples",
        "corrupt rows and corrupt or truncated files given to `load_calls` and `export`",
    ),
    "test_secrets": Area(
        "6",
        "Secrets audit",
        "texts scanned",
        "demo-sized runs with a session token and presigned URLs, DEBUG logging on; every "
        "file, log, stream and exception text searched for every secret",
    ),
}


@dataclass
class Result:
    nodeid: str
    module: str
    outcome: str = "passed"  #: passed, failed, skipped, known bug
    reason: str = ""
    seconds: float = 0.0
    lines: list[dict[str, Any]] = field(default_factory=list)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")


class Collector:
    """pytest plugin gathering outcomes and recorded figures of the reliability tests."""

    def __init__(self) -> None:
        self.results: dict[str, Result] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        res = self.results.setdefault(report.nodeid, Result(report.nodeid, _module(report.nodeid)))
        res.seconds += float(report.duration)
        if hasattr(report, "wasxfail"):
            res.outcome, res.reason = "known bug", str(report.wasxfail)
        elif report.failed:
            res.outcome = "failed"
            res.reason = str(report.longrepr)[-800:] if report.longrepr else ""
        elif report.skipped and res.outcome == "passed":
            res.outcome = "skipped"
        if report.when == "teardown":
            res.lines = [
                v for k, v in report.user_properties if k == PROPERTY and isinstance(v, dict)
            ]


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return out


def _sum(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _merge(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines with the same item merged: counts summed, detail columns joined."""
    merged: dict[str, dict[str, Any]] = {}
    for line in lines:
        m = merged.get(line["item"])
        if m is None:
            merged[line["item"]] = {**line, "detail": dict(line["detail"])}
            continue
        m["times"] += line["times"]
        m["lost"] += line["lost"]
        for key in ("duplicated", "leaked"):
            m[key] = _sum([m[key], line[key]])
        for k, v in line["detail"].items():
            m["detail"].setdefault(k, v)
    lines = list(merged.values())
    if all(ln.get("rank") is not None for ln in lines):
        lines.sort(key=lambda ln: ln["rank"])
    return lines


def _result(results: Sequence[Result]) -> str:
    failed = sum(r.outcome == "failed" for r in results)
    bugs = sum(r.outcome == "known bug" for r in results)
    passed = sum(r.outcome == "passed" for r in results)
    if not results:
        return "not run"
    if failed:
        return f"**FAIL** ({failed} of {len(results)} tests)"
    if bugs:
        return f"**bug found** ({bugs} failing test(s) marked xfail; {passed} passed)"
    return f"pass ({passed} tests)"


def render(results: Mapping[str, Result], meta: Mapping[str, str]) -> str:
    """The Markdown of ``docs/reliability.md``."""
    by_area: dict[str, list[Result]] = {}
    for result in results.values():
        by_area.setdefault(result.module, []).append(result)
    out = [
        "# Reliability: nothing lost, nothing leaked",
        "",
        "Generated by `make reliability`: every figure below was measured in this run.",
        "",
    ]
    out += [f"- **{k}**: {v}" for k, v in meta.items()]
    out += [
        "",
        "Lost = rows, plan calls or values that should be there and are not, without an error "
        "(exchanges without a row, rows gone after a crash, data silently dropped or altered); "
        "duplicated = plan calls made again after they were complete; leaked = secret values "
        "found where they must not be. A check marked *bug found* has strict-xfail tests that "
        "pin a defect of another part (listed under its details). Details per check follow the "
        "summary.",
        "",
    ]
    summary = []
    for module, area in AREAS.items():
        res = by_area.get(module, [])
        lines = [ln for r in res for ln in r.lines]
        summary.append(
            (
                area.number,
                area.title,
                area.tried,
                f"{sum(ln['times'] for ln in lines)} {area.unit}",
                sum(ln["lost"] for ln in lines),
                _sum(ln["duplicated"] for ln in lines),
                _sum(ln["leaked"] for ln in lines),
                f"{sum(r.seconds for r in res):.0f}",
                _result(res),
            )
        )
    out += _table(
        (
            "#",
            "Check",
            "What was tried",
            "Times",
            "Lost",
            "Duplicated",
            "Leaked",
            "Test s",
            "Result",
        ),
        summary,
    )
    for module, area in AREAS.items():
        res = by_area.get(module, [])
        lines = _merge(ln for r in res for ln in r.lines)
        out += [
            "",
            f"## {area.number}. {area.title}",
            "",
            area.tried[0].upper() + area.tried[1:] + ".",
        ]
        if not lines:
            out += ["", "_Nothing recorded (not run, or failed before recording)._"]
        else:
            keys: list[str] = []
            for ln in lines:
                keys += [k for k in ln["detail"] if k not in keys]
            extra = [k for k in ("duplicated", "leaked") if any(ln[k] is not None for ln in lines)]
            head = ["What", f"Times ({area.unit})", "Lost", *(k.capitalize() for k in extra)]
            rows = [[ln["item"], ln["times"], ln["lost"], *(ln[k] for k in extra)] for ln in lines]
            if len(keys) <= MAX_DETAIL_COLUMNS:
                header = [*head, *keys]
                rows = [
                    r + [ln["detail"].get(k) for k in keys]
                    for r, ln in zip(rows, lines, strict=True)
                ]
            else:
                header = [*head, "Details"]
                rows = [
                    [*r, "; ".join(f"{k}: {_fmt(v)}" for k, v in ln["detail"].items())]
                    for r, ln in zip(rows, lines, strict=True)
                ]
            out += ["", *_table(header, rows)]
        bad = [r for r in res if r.outcome in ("failed", "known bug")]
        for r in bad:
            label = "Known bug (test marked xfail)" if r.outcome == "known bug" else "FAILED"
            out += ["", f"**{label}**: `{r.nodeid}`", "", "```", r.reason.strip(), "```"]
    out.append("")
    return "\n".join(out)
