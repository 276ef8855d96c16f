"""The table writer: figures summed per check, failures and pinned bugs shown, never hidden."""

from __future__ import annotations

from tests.reliability.report import Result, render


def _line(item: str, times: int, lost: int = 0, **detail: object) -> dict[str, object]:
    return {
        "item": item,
        "times": times,
        "lost": lost,
        "duplicated": None,
        "leaked": None,
        "detail": detail,
    }


def test_render_sums_per_check_and_flags_failures_and_bugs() -> None:
    results = {
        "a": Result(
            "tests/reliability/test_faults.py::a",
            "test_faults",
            "passed",
            lines=[_line("x", 3, k="v"), _line("x", 2, k2="w")],
        ),
        "b": Result(
            "tests/reliability/test_crashes.py::b",
            "test_crashes",
            "failed",
            reason="AssertionError: lost a row",
            lines=[_line("kill", 1, lost=1)],
        ),
        "c": Result(
            "tests/reliability/test_hostile_files.py::c",
            "test_hostile_files",
            "known bug",
            reason="pinned: silent NaN",
        ),
    }
    text = render(results, {"Command": "make reliability"})
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert (
        "| 5 exchanges | 0 |" in rows["Fault matrix"] and "pass (1 tests)" in rows["Fault matrix"]
    )
    assert "| 1 SIGKILLs | 1 |" in rows["Crashes"] and "**FAIL**" in rows["Crashes"]
    assert "**bug found**" in rows["Hostile input: files"]
    assert "not run" in rows["Load"]
    assert "| x | 5 | 0 | v | w |" in text  # same item merged, detail columns joined
    assert "AssertionError: lost a row" in text and "pinned: silent NaN" in text
