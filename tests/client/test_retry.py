"""The retry policy: what is retried, how often, how long between attempts -- and no test sleeps."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from faceid_tools import errors as e
from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from faceid_tools.client.ratelimit import RateLimiter
from faceid_tools.client.retry import RetryPolicy, is_retryable
from tests.client.conftest import MD5, SG_URL, Sleeps, rows
from tests.fixtures import servers as s
from tests.fixtures.servers import FaultServer

# --- the policy on its own --------------------------------------------------------------------


def test_full_jitter_exponential_with_a_cap() -> None:
    top = RetryPolicy(retries=10, base=0.2, cap=1.0, random=lambda: 0.999999)
    assert [round(top.delay(n), 3) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    half = RetryPolicy(retries=10, base=0.2, cap=1.0, random=lambda: 0.5)
    assert [half.delay(n) for n in range(1, 4)] == [0.1, 0.2, 0.4]
    zero = RetryPolicy(random=lambda: 0.0)
    assert zero.delay(3) == 0.0
    assert RetryPolicy(cap=5.0).delay(10_000) <= 5.0  # no overflow for absurd retry numbers


def test_real_jitter_stays_under_the_ceiling() -> None:
    policy = RetryPolicy(base=0.1, cap=0.5, random=random.Random(7).random)
    for n in range(1, 8):
        ceiling = min(0.5, 0.1 * 2 ** (n - 1))
        draws = [policy.delay(n) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling / 2  # actually jittered across the range


def test_backoff_override_and_attempts() -> None:
    policy = RetryPolicy(retries=2, backoff=lambda n: 10.0 * n)
    assert policy.attempts == 3
    assert [policy.delay(1), policy.delay(2)] == [10.0, 20.0]
    assert RetryPolicy(backoff=lambda n: -1.0).delay(1) == 0.0
    with pytest.raises(ValueError):
        RetryPolicy(retries=-1)


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (e.NetworkError("x"), True),
        (e.RequestTimeoutError("x"), True),
        (e.api_error("RequestLimitExceeded", "x", "r"), True),
        (e.api_error("RequestLimitExceeded.UinLimitExceeded", "x", "r"), True),
        (e.api_error("InternalError", "x", "r"), True),
        (e.api_error("InternalError.UnknownError", "x", "r"), True),
        (e.api_error("ServiceUnavailable", "x", "r"), True),
        (e.HTTPStatusError(502, "x"), True),
        (e.HTTPStatusError(503, "x"), True),
        (e.HTTPStatusError(504, "x"), True),
        (e.HTTPStatusError(500, "x"), False),
        (e.HTTPStatusError(403, "x"), False),
        (e.api_error("AuthFailure.SignatureFailure", "x", "r"), False),
        (e.api_error("InvalidParameterValue", "x", "r"), False),
        (e.api_error("FailedOperation.DownLoadError", "x", "r"), False),
        (e.api_error("FailedOperation.DownLoadTimeoutError", "x", "r"), False),
        (e.NotJSONError("x"), False),
        (e.MissingFieldError("f", "x"), False),
        (e.IntegrityError("x", expected_md5="a", actual_md5="b"), False),
        (ValueError("x"), False),
    ],
)
def test_what_is_retried(exc: BaseException, retried: bool) -> None:
    assert is_retryable(exc) is retried
    assert RetryPolicy(retries=1).should_retry(exc, 1) is retried
    assert RetryPolicy(retries=1).should_retry(exc, 2) is False  # never past the last attempt


# --- the client following it ------------------------------------------------------------------


def test_retries_until_success_and_logs_every_attempt(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    sleeps: Sleeps,
) -> None:
    fault_server.script(
        s.api_error("InternalError"), s.api_error("RequestLimitExceeded"), s.reset_mid_body()
    )
    client = make_client(retries=3, backoff=lambda n: 0.5 * n)
    seq = client.generate_reflect_sequence(SG_URL, MD5, call_id="call-r")
    assert seq.call_id == "call-r"
    df = rows(call_log)
    assert df["call_id"].tolist() == ["call-r"] * 4
    assert df["attempt"].tolist() == [1, 2, 3, 4]
    assert df["outcome"].tolist() == ["api_error", "api_error", "network_error", "ok"]
    assert df["error_code"].tolist()[:3] == [
        "InternalError",
        "RequestLimitExceeded",
        "NetworkError",
    ]
    assert sleeps == [0.5, 1.0, 1.5]
    assert fault_server.count == 4
    # each attempt is signed afresh and sent whole
    assert all(r.signature_ok for r in fault_server.requests)


def test_gives_up_after_the_last_attempt_without_sleeping_after_it(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    sleeps: Sleeps,
) -> None:
    fault_server.script(*[s.api_error("ServiceUnavailable")] * 3)
    with pytest.raises(e.ServerError) as info:
        make_client(retries=2, backoff=lambda n: 1.0).generate_reflect_sequence(SG_URL, MD5)
    assert info.value.attempts == 3
    assert sleeps == [1.0, 1.0]  # between attempts only
    df = rows(call_log)
    assert df["attempt"].tolist() == [1, 2, 3]
    assert df["call_id"].nunique() == 1 and df["call_id"].iloc[0] == info.value.call_id


def test_retries_zero_is_one_attempt(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    sleeps: Sleeps,
) -> None:
    fault_server.script(s.api_error("InternalError"))
    with pytest.raises(e.ServerError):
        make_client(retries=0).generate_reflect_sequence(SG_URL, MD5)
    assert fault_server.count == 1 and call_log.count() == 1 and sleeps == []


@pytest.mark.parametrize(
    "reply",
    [
        s.api_error("AuthFailure.SecretIdNotFound"),
        s.api_error("InvalidParameterValue"),
        s.api_error("FailedOperation.DownLoadError"),
        s.html_error(500),
        s.raw(200, "not json"),
    ],
)
def test_final_errors_are_not_retried(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    sleeps: Sleeps,
    reply: s.Reply,
) -> None:
    fault_server.script(reply)
    with pytest.raises(e.FaceIDError):
        make_client(retries=3).generate_reflect_sequence(SG_URL, MD5)
    assert fault_server.count == 1 and sleeps == []


def test_timeouts_and_gateway_errors_are_retried(
    make_client: Callable[..., FaceIDClient],
    fault_server: FaultServer,
    call_log: CallLog,
    sleeps: Sleeps,
) -> None:
    fault_server.script(s.hang(), s.html_error(503))
    client = make_client(retries=2, timeout=0.3, backoff=lambda n: 0.0)
    assert client.generate_reflect_sequence(SG_URL, MD5).md5
    assert rows(call_log)["outcome"].tolist() == ["timeout", "http_error", "ok"]


def test_a_refused_connection_is_retried_then_raised(
    make_client: Callable[..., FaceIDClient], refused_url: str, sleeps: Sleeps, call_log: CallLog
) -> None:
    with pytest.raises(e.NetworkError) as info:
        make_client(endpoint=refused_url, retries=2).generate_reflect_sequence(SG_URL, MD5)
    assert info.value.attempts == 3 and len(sleeps) == 2
    assert rows(call_log)["outcome"].tolist() == ["network_error"] * 3


def test_default_backoff_is_jittered_and_capped(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, sleeps: Sleeps
) -> None:
    fault_server.script(*[s.api_error("InternalError")] * 4)
    policy = RetryPolicy(retries=4, base=1.0, cap=3.0, random=lambda: 0.5)
    make_client(retries=policy).generate_reflect_sequence(SG_URL, MD5)
    assert sleeps == [0.5, 1.0, 1.5, 1.5]


def test_every_attempt_takes_a_rate_limiter_slot(
    make_client: Callable[..., FaceIDClient], fault_server: FaultServer, call_log: CallLog
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    fault_server.script(s.api_error("InternalError"), s.api_error("InternalError"))
    make_client(retries=2, rate_limiter=limiter).generate_reflect_sequence(SG_URL, MD5)
    # three attempts through a 2-per-second limiter: the third waited a whole second
    assert rows(call_log)["queued_ms"].tolist() == [0.0, 0.0, 1000.0]
    assert clock.now == 1.0


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
