"""Shared helpers for the scale tests: small simulated logs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from faceid_tools.simulate import simulate

START = "2026-03-01T22:00:00Z"


def rows(
    path: Path, sql: str = "SELECT * FROM calls ORDER BY id", *params: object
) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(path)) as con:
        con.row_factory = sqlite3.Row
        return con.execute(sql, params).fetchall()


@pytest.fixture
def small_log(tmp_path: Path) -> Iterator[Path]:
    """3,000 simulated calls at 0.02 calls/s from 22:00 UTC: they span three UTC days."""
    path = tmp_path / "calls.sqlite"
    simulate(3000, path, seed=11, start=START, rate=0.02)
    yield path
