"""Error rates per attempt and per call, by code and by outcome class, on hand-made logs."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from faceid_tools.analysis import error_codes, error_rates, outcome_breakdown
from faceid_tools.calllog.schema import OUTCOME_CATEGORIES

from ._logs import schema_frame


def attempts(rows: list[tuple[str, int, str, str | None, str]]) -> pd.DataFrame:
    """Rows of (call_id, attempt, outcome, error_code, region)."""
    return schema_frame(
        pd.DataFrame(
            [
                {
                    "call_id": call,
                    "attempt": attempt,
                    "outcome": outcome,
                    "error_code": code,
                    "region": region,
                    "action": "GenerateReflectSequence",
                    "security_level": "2",
                    "started_at": f"2026-03-01T10:00:{i:02d}Z",
                    "latency_ms": 100.0,
                }
                for i, (call, attempt, outcome, code, region) in enumerate(rows)
            ]
        )
    )


# Call a: fails, retried, succeeds.  Call b: fails twice (its last attempt failed).
# Call c: ok.  Call d: times out once, no retry.  Call e (Bangkok): ok.
LOG = [
    ("a", 1, "api_error", "InternalError", "ap-singapore"),
    ("a", 2, "ok", None, "ap-singapore"),
    ("b", 1, "api_error", "ServiceUnavailable", "ap-singapore"),
    ("b", 2, "api_error", "InternalError", "ap-singapore"),
    ("c", 1, "ok", None, "ap-singapore"),
    ("d", 1, "timeout", None, "ap-singapore"),
    ("e", 1, "ok", None, "ap-bangkok"),
]


def test_per_attempt_and_per_call_rates() -> None:
    frame = attempts(LOG)
    per_attempt = error_rates(frame, by="region")
    sg = per_attempt[per_attempt["region"] == "ap-singapore"].iloc[0]
    assert (sg["n"], sg["errors"]) == (6, 4)
    per_call = error_rates(frame, by="region", per="call")
    sg = per_call[per_call["region"] == "ap-singapore"].iloc[0]
    assert (sg["n"], sg["errors"]) == (4, 2)  # b and d
    ci = stats.binomtest(2, 4).proportion_ci(method="wilson")
    assert sg["rate"] == 0.5
    assert sg["rate_lo"] == pytest.approx(ci.low) and sg["rate_hi"] == pytest.approx(ci.high)
    bkk = per_call[per_call["region"] == "ap-bangkok"].iloc[0]
    assert (bkk["n"], bkk["errors"], bkk["rate"], bkk["rate_lo"]) == (1, 0, 0.0, 0.0)
    with pytest.raises(ValueError, match="per"):
        error_rates(frame, per="session")  # type: ignore[arg-type]


def test_each_code_gets_a_row_in_every_group_even_at_zero() -> None:
    out = error_codes(attempts(LOG), by="region")
    assert set(out["error_code"]) == {"InternalError", "ServiceUnavailable", "timeout"}
    bkk = out[out["region"] == "ap-bangkok"]
    assert len(bkk) == 3 and (bkk["errors"] == 0).all() and (bkk["rate_hi"] > 0).all()
    sg = out[out["region"] == "ap-singapore"].set_index("error_code")
    assert sg.loc["InternalError", "errors"] == 2 and sg.loc["InternalError", "n"] == 6
    assert sg.loc["timeout", "errors"] == 1  # a failure without a code shows as its outcome
    # Per call, only final attempts count: b's ServiceUnavailable was retried away.
    per_call = error_codes(attempts(LOG), per="call").set_index("error_code")
    assert per_call["errors"].to_dict() == {"InternalError": 1, "timeout": 1}
    assert (per_call["n"] == 5).all()


def test_outcome_breakdown_lists_every_class_and_adds_up() -> None:
    out = outcome_breakdown(attempts(LOG))
    assert out["outcome"].astype(str).tolist() == list(OUTCOME_CATEGORIES)
    assert out["count"].sum() == out["n"].iloc[0] == 7
    shares = dict(zip(out["outcome"].astype(str), out["share"], strict=True))
    assert shares["ok"] == pytest.approx(3 / 7)
    assert shares["timeout"] == pytest.approx(1 / 7)
    assert shares["network_error"] == 0


def test_empty_selection_gives_an_empty_table() -> None:
    frame = attempts(LOG)
    out = error_rates(frame, by="region", action="CreateUploadUrl")
    assert out.empty
    assert {"n", "errors", "rate", "rate_lo", "rate_hi"} <= set(out.columns)
