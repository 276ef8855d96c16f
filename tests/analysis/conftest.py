"""A simulated call log of 100,000+ rows, built once per test session (per xdist worker)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from faceid_tools.calllog.export import export
from faceid_tools.calllog.load import load_calls
from faceid_tools.simulate import simulate


@dataclass(frozen=True)
class SimulatedLog:
    sqlite: Path
    parquet: Path
    frame: pd.DataFrame


@pytest.fixture(scope="session")
def simulated_log(tmp_path_factory: pytest.TempPathFactory) -> SimulatedLog:
    """``simulate`` (retries on, the default profile's faults and sequence defects) → SQLite log
    → ``export`` → Parquet dataset; and the log loaded into pandas."""
    folder = tmp_path_factory.mktemp("simulated")
    db = folder / "calls.sqlite"
    rows = simulate(52_000, db, seed=16, retries=2, rate=0.3)  # about two days
    assert rows >= 100_000
    export(db, folder / "parquet", workers=1)
    return SimulatedLog(db, folder / "parquet", load_calls(db))
