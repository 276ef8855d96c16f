"""Client-test helpers: a client factory bound to the fault server, a recording fake sleep."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from faceid_tools.calllog.load import load_calls
from faceid_tools.calllog.store import CallLog
from faceid_tools.client import FaceIDClient
from tests.fixtures.servers import FIXTURE_CREDENTIAL, FaultServer

SG_URL = "https://faceid-demo-1250000000.cos.ap-singapore.myqcloud.com/device/data.bin"
MD5 = "0123456789abcdef0123456789abcdef"


class Sleeps(list[float]):
    """A fake ``sleep`` that records what it was asked to sleep and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def call_log(tmp_path: Path) -> Iterator[CallLog]:
    with CallLog(tmp_path / "calls.sqlite") as log:
        yield log


@pytest.fixture
def make_client(
    fault_server: FaultServer, call_log: CallLog, sleeps: Sleeps
) -> Iterator[Callable[..., FaceIDClient]]:
    """``make_client(**overrides)``: a client of the fault server, logging to ``call_log``,
    without rate limit or retries unless asked, sleeping through ``sleeps``."""
    made: list[FaceIDClient] = []

    def make(**overrides: Any) -> FaceIDClient:
        kwargs: dict[str, Any] = {
            "endpoint": fault_server.endpoint,
            "credential": FIXTURE_CREDENTIAL,
            "log": call_log,
            "rate_limit": None,
            "retries": 0,
            "timeout": 5.0,
            "sleep": sleeps,
        }
        kwargs.update(overrides)
        client = FaceIDClient(kwargs.pop("region", "ap-singapore"), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def rows(log: CallLog) -> pd.DataFrame:
    return load_calls(log)
